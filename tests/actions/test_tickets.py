import pytest
from sqlalchemy import select

from actions.db import Ticket
from actions.tickets import COMPLAINT_SLOTS, ActionSubmitComplaint, ActionSubmitSuggestion
from tests.helpers import run_action, slot_events

COMPLAINT = {
    "order_id": "202611016468",
    "complaint_text": "冰箱门有凹痕",
    "phone_number": "13812345678",
    "complaint_confirmed": True,
}


def only_ticket(session):
    [ticket] = session.scalars(select(Ticket)).all()
    return ticket


def test_confirmed_complaint_creates_ticket_and_resets_slots(database, session, dispatcher, make_tracker, domain):
    events = run_action(ActionSubmitComplaint(), dispatcher, make_tracker("确认", "affirm", slots=COMPLAINT), domain)
    ticket = only_ticket(session)
    assert (ticket.kind, ticket.text, ticket.order_id, ticket.phone, ticket.product) == (
        "complaint", "冰箱门有凹痕", "202611016468", "13812345678", "美的对开门冰箱"
    )
    assert (ticket.channel, ticket.sender) == ("rest", "customer-1")
    [message] = dispatcher.messages
    assert message["response"] == "utter_complaint_submitted"
    assert message["ticket_number"] == ticket.number and message["masked_phone"] == "138****5678"
    assert slot_events(events) == {slot: None for slot in COMPLAINT_SLOTS}


def test_complaint_without_order(database, session, dispatcher, make_tracker, domain):
    slots = {**COMPLAINT, "order_id": "无", "product": "小米14"}
    run_action(ActionSubmitComplaint(), dispatcher, make_tracker("确认", "affirm", slots=slots), domain)
    ticket = only_ticket(session)
    assert ticket.order_id is None and ticket.product == "小米14"


@pytest.mark.parametrize("confirmed", [False, None])
def test_declined_complaint_creates_nothing(database, session, dispatcher, make_tracker, domain, confirmed):
    events = run_action(ActionSubmitComplaint(), dispatcher, make_tracker("取消", "deny", slots={**COMPLAINT, "complaint_confirmed": confirmed}), domain)
    assert session.scalars(select(Ticket)).all() == []
    assert dispatcher.messages[0]["response"] == "utter_complaint_cancelled"
    assert slot_events(events) == {slot: None for slot in COMPLAINT_SLOTS}


def test_complaint_with_database_down_keeps_slots(unreachable_database, dispatcher, make_tracker, domain):
    events = run_action(ActionSubmitComplaint(), dispatcher, make_tracker("确认", "affirm", slots=COMPLAINT), domain)
    assert dispatcher.messages[0]["response"] == "utter_service_unavailable"
    assert events == []  # nothing reset: the customer can retry


def test_suggestion_creates_ticket(database, session, dispatcher, make_tracker, domain):
    events = run_action(ActionSubmitSuggestion(), dispatcher, make_tracker("", slots={"suggestion_text": "希望支持分期"}), domain)
    ticket = only_ticket(session)
    assert (ticket.kind, ticket.text) == ("suggestion", "希望支持分期")
    assert dispatcher.messages[0]["ticket_number"] == ticket.number
    assert slot_events(events) == {"suggestion_text": None}
