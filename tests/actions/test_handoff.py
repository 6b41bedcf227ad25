import pytest
from sqlalchemy import select

from actions.handoff import ActionFallback, ActionHandoff, consecutive_fallbacks
from tests.helpers import run_action, texts, user_event
from zhiyin.db import Ticket


def test_handoff_creates_ticket_with_recent_messages(database, session, dispatcher, make_tracker, domain):
    history = [user_event("订单202611016468到哪了", "check_order_status")]
    tracker = make_tracker("转人工", "request_human", history=history, slots={"phone_number": "13812345678"})
    run_action(ActionHandoff(), dispatcher, tracker, domain)
    [ticket] = session.scalars(select(Ticket)).all()
    assert ticket.kind == "handoff" and ticket.text == "订单202611016468到哪了\n转人工"
    [message] = dispatcher.messages
    assert message["response"] == "utter_handoff" and message["ticket_number"] == ticket.number
    assert "138****5678" in message["contact"]


def test_handoff_without_phone_promises_reply_in_chat(database, dispatcher, make_tracker, domain):
    run_action(ActionHandoff(), dispatcher, make_tracker("人工", "request_human"), domain)
    assert dispatcher.messages[0]["contact"] == ""


@pytest.mark.parametrize(
    "intents, count",
    [(["greet", "nlu_fallback"], 1), (["nlu_fallback", "nlu_fallback"], 2), (["nlu_fallback", "greet"], 0)],
)
def test_consecutive_fallbacks(make_tracker, intents, count):
    *earlier, last = intents
    tracker = make_tracker("x", last, history=[user_event("x", i) for i in earlier])
    assert consecutive_fallbacks(tracker) == count


def test_first_fallback_asks_to_rephrase(database, session, dispatcher, make_tracker, domain):
    events = run_action(ActionFallback(), dispatcher, make_tracker("阿巴阿巴", "nlu_fallback"), domain)
    assert texts(dispatcher) == ["utter_default"]
    assert events == [{"event": "rewind", "timestamp": None}]
    assert session.scalars(select(Ticket)).all() == []


def test_second_fallback_in_a_row_hands_off(database, session, dispatcher, make_tracker, domain):
    tracker = make_tracker("呜啦啦", "nlu_fallback", history=[user_event("阿巴阿巴", "nlu_fallback")])
    run_action(ActionFallback(), dispatcher, tracker, domain)
    assert texts(dispatcher) == ["utter_handoff_after_fallback"]
    [ticket] = session.scalars(select(Ticket)).all()
    assert ticket.kind == "handoff" and "呜啦啦" in ticket.text


def test_empty_message_is_answered_and_not_counted(database, session, dispatcher, make_tracker, domain):
    history = [user_event("阿巴阿巴", "nlu_fallback"), user_event("  ", "nlu_fallback")]
    tracker = make_tracker("", "nlu_fallback", history=history)
    run_action(ActionFallback(), dispatcher, tracker, domain)
    assert texts(dispatcher) == ["utter_empty_message"]
    assert consecutive_fallbacks(tracker) == 1
    assert session.scalars(select(Ticket)).all() == []


def test_asking_again_reuses_the_open_handoff(database, session, dispatcher, make_tracker, domain):
    run_action(ActionHandoff(), dispatcher, make_tracker("转人工", "request_human"), domain)
    again = type(dispatcher)()
    run_action(ActionHandoff(), again, make_tracker("人工呢？", "request_human"), domain)
    [ticket] = session.scalars(select(Ticket)).all()
    assert again.messages[0]["response"] == "utter_handoff_pending"
    assert again.messages[0]["ticket_number"] == ticket.number


def test_closed_handoff_allows_a_new_one(database, session, dispatcher, make_tracker, domain):
    run_action(ActionHandoff(), dispatcher, make_tracker("转人工", "request_human"), domain)
    session.scalars(select(Ticket)).one().status = "closed"
    session.commit()
    run_action(ActionHandoff(), dispatcher, make_tracker("再转一次人工", "request_human"), domain)
    assert len(session.scalars(select(Ticket)).all()) == 2
