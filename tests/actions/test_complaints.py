"""Complaint and suggestion forms, and the tickets they file."""

import pytest
from sqlalchemy import select

from actions.complaints import (
    COMPLAINT_SLOTS,
    ActionSubmitComplaint,
    ActionSubmitSuggestion,
    ValidateComplaintForm,
    ValidateSuggestionForm,
)
from tests.helpers import run_action, slot_events, texts
from zhiyin.db import Ticket


@pytest.fixture
def complaint_form():
    return ValidateComplaintForm()


def test_complaint_accepts_no_order(database, dispatcher, make_tracker, domain, complaint_form):
    assert complaint_form.validate_order_id("无", dispatcher, make_tracker("没有"), domain) == {"order_id": "无"}


def test_order_status_form_does_not_accept_no_order(database, dispatcher, make_tracker, domain):
    from actions.orders import ValidateOrderStatusForm

    assert (
        ValidateOrderStatusForm().validate_order_id("无", dispatcher, make_tracker("没有"), domain)["order_id"] is None
    )


def test_complaint_does_not_tell_whether_an_order_exists(database, dispatcher, make_tracker, domain, complaint_form):
    """A complaint records the number the customer gives; saying "no such order" here would let
    anyone find out which order numbers exist."""
    assert complaint_form.validate_order_id("999999999999", dispatcher, make_tracker("999999999999"), domain) == {
        "order_id": "999999999999"
    }
    assert texts(dispatcher) == []


@pytest.mark.parametrize(
    "text, requested, kept, said",
    [
        ("订单202611016468发错货了，我要投诉", None, True, []),
        ("我要投诉", None, False, []),  # pre-fill rejected silently: the form asks next
        ("投诉", "complaint_text", False, ["utter_description_too_short"]),
        ("耳机左边没声音", "complaint_text", True, []),
    ],
)
def test_complaint_text(database, dispatcher, make_tracker, domain, complaint_form, text, requested, kept, said):
    tracker = make_tracker(text, "file_complaint", slots={"requested_slot": requested})
    result = complaint_form.validate_complaint_text(text, dispatcher, tracker, domain)
    assert result == {"complaint_text": text if kept else None}
    assert texts(dispatcher) == said


@pytest.mark.parametrize(
    "value, phone, said",
    [
        ("13812345678", "13812345678", []),
        ("电话 139-1234-5678", "13912345678", []),
        ("12345", None, ["utter_phone_invalid"]),
        ("不想给", None, ["utter_phone_invalid"]),
    ],
)
def test_complaint_phone(dispatcher, make_tracker, domain, complaint_form, value, phone, said):
    assert complaint_form.validate_phone_number(value, dispatcher, make_tracker(value), domain) == {
        "phone_number": phone
    }
    assert texts(dispatcher) == said


@pytest.mark.parametrize("value, kept", [(True, True), (False, False), ("确认", None), (None, None)])
def test_complaint_confirmation_is_yes_or_no(dispatcher, make_tracker, domain, complaint_form, value, kept):
    result = complaint_form.validate_complaint_confirmed(value, dispatcher, make_tracker("确认"), domain)
    assert result == {"complaint_confirmed": kept}


@pytest.mark.parametrize("text, kept", [("建议增加夜间客服", True), ("我有个建议", False)])
def test_suggestion_text(dispatcher, make_tracker, domain, text, kept):
    tracker = make_tracker(text, "give_suggestion", slots={"requested_slot": None})
    result = ValidateSuggestionForm().validate_suggestion_text(text, dispatcher, tracker, domain)
    assert result == {"suggestion_text": text if kept else None}


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
        "complaint",
        "冰箱门有凹痕",
        "202611016468",
        "13812345678",
        "美的对开门冰箱",
    )
    assert (ticket.channel, ticket.sender) == ("rest", "customer-1")
    [message] = dispatcher.messages
    assert message["response"] == "utter_complaint_submitted"
    assert message["ticket_number"] == ticket.number and message["masked_phone"] == "138****5678"
    assert slot_events(events) == dict.fromkeys(COMPLAINT_SLOTS)


def test_complaint_without_order(database, session, dispatcher, make_tracker, domain):
    slots = {**COMPLAINT, "order_id": "无", "product": "小米14"}
    run_action(ActionSubmitComplaint(), dispatcher, make_tracker("确认", "affirm", slots=slots), domain)
    ticket = only_ticket(session)
    assert ticket.order_id is None and ticket.product == "小米14"


@pytest.mark.parametrize("confirmed", [False, None])
def test_declined_complaint_creates_nothing(database, session, dispatcher, make_tracker, domain, confirmed):
    events = run_action(
        ActionSubmitComplaint(),
        dispatcher,
        make_tracker("取消", "deny", slots={**COMPLAINT, "complaint_confirmed": confirmed}),
        domain,
    )
    assert session.scalars(select(Ticket)).all() == []
    assert dispatcher.messages[0]["response"] == "utter_complaint_cancelled"
    assert slot_events(events) == dict.fromkeys(COMPLAINT_SLOTS)


def test_complaint_with_database_down_keeps_slots(unreachable_database, dispatcher, make_tracker, domain):
    events = run_action(ActionSubmitComplaint(), dispatcher, make_tracker("确认", "affirm", slots=COMPLAINT), domain)
    assert dispatcher.messages[0]["response"] == "utter_service_unavailable"
    assert events == []  # nothing reset: the customer can retry


def test_suggestion_creates_ticket(database, session, dispatcher, make_tracker, domain):
    events = run_action(
        ActionSubmitSuggestion(), dispatcher, make_tracker("", slots={"suggestion_text": "希望支持分期"}), domain
    )
    ticket = only_ticket(session)
    assert (ticket.kind, ticket.text) == ("suggestion", "希望支持分期")
    assert dispatcher.messages[0]["ticket_number"] == ticket.number
    assert slot_events(events) == {"suggestion_text": None}
