import pytest

from actions.orders import ActionAnswerOrderStatus, ValidateOrderStatusForm
from tests.helpers import run_action, texts
from zhiyin.db import Order


def validate(value, dispatcher, make_tracker, domain):
    return ValidateOrderStatusForm().validate_order_id(value, dispatcher, make_tracker(str(value)), domain)


@pytest.mark.parametrize(
    "value, order_id",
    [
        ("202611016468", "202611016468"),
        ("订单号是202611016468", "202611016468"),
        ("２０２６１１０１６４６８", "202611016468"),
        # Unknown orders are accepted like known ones: the phone digits decide, with one answer.
        ("999999999999", "999999999999"),
    ],
)
def test_a_well_formed_order_id_is_kept_and_proved_anew(database, dispatcher, make_tracker, domain, value, order_id):
    assert validate(value, dispatcher, make_tracker, domain) == {"order_id": order_id, "order_phone_tail": None}
    assert dispatcher.messages == []


@pytest.mark.parametrize("value", ["12345", "2026110164681"])
def test_bad_order_id_is_rejected_with_reason(database, dispatcher, make_tracker, domain, value):
    assert validate(value, dispatcher, make_tracker, domain)["order_id"] is None
    assert texts(dispatcher) == ["utter_order_id_invalid"]


def test_text_without_digits_is_rejected_silently(database, dispatcher, make_tracker, domain):
    assert validate("我不记得了", dispatcher, make_tracker, domain)["order_id"] is None
    assert dispatcher.messages == []


def test_database_down_accepts_well_formed_number(unreachable_database, dispatcher, make_tracker, domain):
    assert validate("202611016468", dispatcher, make_tracker, domain)["order_id"] == "202611016468"


def test_answer_reports_status_carrier_and_latest_event(database, session, dispatcher, make_tracker, domain):
    from zhiyin.services.orders import get_order

    shipped = session.query(Order).filter_by(status="运输中").first()
    tracker = make_tracker(shipped.order_id, slots={"order_id": shipped.order_id})
    run_action(ActionAnswerOrderStatus(), dispatcher, tracker, domain)
    [answer] = texts(dispatcher)
    latest = get_order(session, shipped.order_id).events[-1]
    assert f"订单 {shipped.order_id}" in answer and "运输中" in answer
    assert shipped.carrier in answer and shipped.tracking_no in answer
    assert latest.description in answer


def test_answer_for_pending_order_has_no_carrier(database, dispatcher, make_tracker, domain):
    run_action(ActionAnswerOrderStatus(), dispatcher, make_tracker("", slots={"order_id": "202611016468"}), domain)
    [answer] = texts(dispatcher)
    assert "待发货" in answer and "承运快递" not in answer and "仓库正在备货" in answer


def test_answer_without_order_says_it_does_not_match(database, dispatcher, make_tracker, domain):
    run_action(ActionAnswerOrderStatus(), dispatcher, make_tracker("", slots={"order_id": None}), domain)
    assert texts(dispatcher) == ["utter_order_mismatch"]
