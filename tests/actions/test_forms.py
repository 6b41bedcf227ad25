import pytest

from actions.forms import ValidateComplaintForm, ValidateSuggestionForm
from tests.helpers import texts


@pytest.fixture
def complaint_form():
    return ValidateComplaintForm()


def test_complaint_accepts_no_order(database, dispatcher, make_tracker, domain, complaint_form):
    assert complaint_form.validate_order_id("无", dispatcher, make_tracker("没有"), domain) == {"order_id": "无"}


def test_order_status_form_does_not_accept_no_order(database, dispatcher, make_tracker, domain):
    from actions.orders import ValidateOrderStatusForm

    assert ValidateOrderStatusForm().validate_order_id("无", dispatcher, make_tracker("没有"), domain) == {"order_id": None}


def test_complaint_checks_order_exists(database, dispatcher, make_tracker, domain, complaint_form):
    assert complaint_form.validate_order_id("999999999999", dispatcher, make_tracker("999999999999"), domain) == {"order_id": None}
    assert texts(dispatcher) == ["utter_order_not_found"]


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
    assert complaint_form.validate_phone_number(value, dispatcher, make_tracker(value), domain) == {"phone_number": phone}
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
