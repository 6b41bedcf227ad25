from datetime import datetime

import pytest
from sqlalchemy import select

from actions.handoff import ActionFallback, ActionHandoff, ActionStoreRating, consecutive_fallbacks
from tests.helpers import entity, run_action, texts, user_event
from zhiyin import staff as accounts
from zhiyin.db import Staff, Ticket, session_scope
from zhiyin.services import desk, tickets


@pytest.fixture(autouse=True)
def desk_open(monkeypatch, request):
    """Service hours around the clock and an agent with the desk open, unless a test says
    otherwise (tests marked closed_desk)."""
    monkeypatch.setenv("DESK_HOURS", "00:00-24:00")
    if "database" in request.fixturenames and not request.node.get_closest_marker("closed_desk"):
        database = request.getfixturevalue("database")
        with session_scope(database) as session:
            wang = accounts.add_staff(session, "wang", "小王", "correct horse 42")
            accounts.start_session(session, wang, datetime.now())


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


def test_the_customer_hears_their_place_in_the_queue(database, session, dispatcher, make_tracker, domain):
    run_action(ActionHandoff(), dispatcher, make_tracker("转人工", "request_human", sender_id="first"), domain)
    second = type(dispatcher)()
    run_action(ActionHandoff(), second, make_tracker("人工", "request_human", sender_id="second"), domain)
    assert (dispatcher.messages[0]["position"], second.messages[0]["position"]) == (1, 2)


@pytest.mark.closed_desk
def test_outside_service_hours_a_call_back_is_offered(database, session, dispatcher, make_tracker, domain, monkeypatch):
    monkeypatch.setenv("DESK_HOURS", "00:00-00:01")  # closed (nearly) all day
    if desk.ServiceHours.parse("00:00-00:01").covers(datetime.now().time()):
        pytest.skip("the one open minute")
    tracker = make_tracker("转人工", "request_human", slots={"phone_number": "13812345678"})
    run_action(ActionHandoff(), dispatcher, tracker, domain)
    [ticket] = session.scalars(select(Ticket)).all()
    assert ticket.kind == "callback" and ticket.phone == "13812345678"
    [message] = dispatcher.messages
    assert message["response"] == "utter_callback_after_hours" and message["hours"] == "00:00–00:01"
    assert "138****5678" in message["callback"] and message["ticket_number"] == ticket.number
    again = type(dispatcher)()
    run_action(ActionHandoff(), again, make_tracker("人工呢", "request_human"), domain)
    assert again.messages[0]["response"] == "utter_callback_pending"
    assert len(session.scalars(select(Ticket)).all()) == 1


def test_an_open_call_back_does_not_stop_a_person_answering_now(database, session, dispatcher, make_tracker, domain):
    tickets.create_ticket(session, "callback", "昨晚转人工", channel="rest", sender="customer-1")
    session.commit()
    run_action(ActionHandoff(), dispatcher, make_tracker("转人工", "request_human"), domain)
    assert dispatcher.messages[0]["response"] == "utter_handoff"
    assert {t.kind for t in session.scalars(select(Ticket))} == {"callback", "handoff"}


@pytest.mark.closed_desk
def test_with_nobody_at_the_desk_a_call_back_is_offered_honestly(database, session, dispatcher, make_tracker, domain):
    tracker = make_tracker("呜啦啦", "nlu_fallback", history=[user_event("阿巴阿巴", "nlu_fallback")])
    run_action(ActionFallback(), dispatcher, tracker, domain)
    assert texts(dispatcher) == ["utter_not_understood_again", "utter_callback_nobody_online"]
    assert "留下手机号" in dispatcher.messages[1]["callback"]
    assert session.scalars(select(Ticket)).one().kind == "callback"


def closed_handoff(session, sender="customer-1"):
    wang = session.scalars(select(Staff)).first()
    ticket = tickets.create_ticket(session, "handoff", "转人工", channel="rest", sender=sender)
    desk.claim(session, ticket, wang, datetime.now())
    desk.close(session, ticket, wang, datetime.now())
    session.commit()
    return ticket


def test_a_rating_button_is_stored_with_the_closed_ticket(database, session, dispatcher, make_tracker, domain):
    ticket = closed_handoff(session)
    tracker = make_tracker('/rate_service{"csat":"5"}', "rate_service", entities=[entity("csat", "5")])
    run_action(ActionStoreRating(), dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_rating_thanks" and dispatcher.messages[0]["rating"] == 5
    session.expire_all()
    assert session.get(Ticket, ticket.id).rating == 5


@pytest.mark.parametrize("value", ["9", "abc", None])
def test_a_rating_out_of_range_or_without_a_closed_ticket_stores_nothing(
    database, session, dispatcher, make_tracker, domain, value
):
    ticket = closed_handoff(session)
    entities = [entity("csat", value)] if value else []
    run_action(
        ActionStoreRating(), dispatcher, make_tracker("/rate_service", "rate_service", entities=entities), domain
    )
    assert texts(dispatcher) == ["utter_rating_not_found"]
    session.expire_all()
    assert session.get(Ticket, ticket.id).rating is None
