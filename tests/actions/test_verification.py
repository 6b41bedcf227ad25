"""Order details only for the order's customer: the phone digits or a customer token decide, an
unknown order and a wrong number look the same, and guessing is cut off."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from actions.orders import ActionAnswerOrderStatus, ValidateOrderStatusForm
from actions.requests import ValidateOrderRequestForm
from tests.helpers import run_action, texts

pytestmark = pytest.mark.unverified

ORDER, PHONE = "202611016468", "15878220482"  # seed/orders.yml
SECRET = "shop-site-secret-of-at-least-32-bytes"


def tail_answer(make_tracker, order_id, answer, sender="guesser", address=None):
    metadata = {"client_address": address} if address else None
    tracker = make_tracker(answer, slots={"order_id": order_id}, sender_id=sender, metadata=metadata)
    return tracker


def check(form, dispatcher, tracker, domain, answer):
    return form.validate_order_phone_tail(answer, dispatcher, tracker, domain)


def required(form, dispatcher, tracker, domain, form_name="order_status_form"):
    return asyncio.run(form.required_slots(domain["forms"][form_name]["required_slots"], dispatcher, tracker, domain))


@pytest.mark.parametrize(
    "form, form_name",
    [(ValidateOrderStatusForm(), "order_status_form"), (ValidateOrderRequestForm(), "order_request_form")],
)
def test_an_unproved_order_asks_for_the_phone_digits(database, dispatcher, make_tracker, domain, form, form_name):
    tracker = make_tracker("", slots={"order_id": ORDER, "order_request": "urge_delivery"})
    assert required(form, dispatcher, tracker, domain, form_name) == ["order_id", "order_phone_tail"]


@pytest.mark.parametrize("answer", ["0482", "尾号0482", "手机号15878220482", "后四位是０４８２"])
def test_the_right_digits_open_the_order_to_this_conversation(database, dispatcher, make_tracker, domain, answer):
    form = ValidateOrderStatusForm()
    assert check(form, dispatcher, tail_answer(make_tracker, ORDER, answer), domain, answer) == {
        "order_phone_tail": "verified"
    }
    assert texts(dispatcher) == []
    later = make_tracker("", slots={"order_id": ORDER}, sender_id="guesser")
    assert required(form, dispatcher, later, domain) == ["order_id"]
    run_action(ActionAnswerOrderStatus(), dispatcher, later, domain)
    assert f"订单 {ORDER}" in texts(dispatcher)[-1]
    # Another conversation has proved nothing.
    other = make_tracker("", slots={"order_id": ORDER}, sender_id="someone-else")
    run_action(ActionAnswerOrderStatus(), dispatcher, other, domain)
    assert texts(dispatcher)[-1] == "utter_order_mismatch"


@pytest.mark.parametrize("order_id, answer", [(ORDER, "1234"), ("202611019999", "0482"), ("209901010001", "1234")])
def test_a_wrong_number_and_an_unknown_order_get_the_same_answer(
    database, dispatcher, make_tracker, domain, order_id, answer
):
    result = check(ValidateOrderStatusForm(), dispatcher, tail_answer(make_tracker, order_id, answer), domain, answer)
    assert result == {"order_id": None, "order_phone_tail": None}
    assert texts(dispatcher) == ["utter_order_mismatch"]


def test_after_too_many_wrong_answers_even_the_right_one_is_refused(
    database, dispatcher, make_tracker, domain, monkeypatch
):
    monkeypatch.setenv("VERIFY_MAX_FAILURES", "3")
    form = ValidateOrderStatusForm()
    for guess in ("202611010001", "202611010002", "202611010003"):
        check(form, dispatcher, tail_answer(make_tracker, guess, "1111"), domain, "1111")
    assert texts(dispatcher) == ["utter_order_mismatch"] * 3
    result = check(form, dispatcher, tail_answer(make_tracker, ORDER, "0482"), domain, "0482")
    assert result == {"order_id": None, "order_phone_tail": None}
    assert texts(dispatcher)[-1] == "utter_verification_locked"
    # A different conversation from elsewhere is not affected.
    fresh = tail_answer(make_tracker, ORDER, "0482", sender="real-customer")
    assert check(form, dispatcher, fresh, domain, "0482") == {"order_phone_tail": "verified"}


def test_new_conversations_from_one_address_share_its_limit(database, dispatcher, make_tracker, domain, monkeypatch):
    monkeypatch.setenv("VERIFY_MAX_FAILURES_PER_ADDRESS", "4")
    form = ValidateOrderStatusForm()
    for attempt in range(4):
        tracker = tail_answer(
            make_tracker, f"20261101000{attempt}", "1111", sender=f"bot-{attempt}", address="203.0.113.9"
        )
        check(form, dispatcher, tracker, domain, "1111")
    tracker = tail_answer(make_tracker, ORDER, "0482", sender="bot-new", address="203.0.113.9")
    assert check(form, dispatcher, tracker, domain, "0482")["order_id"] is None
    assert texts(dispatcher)[-1] == "utter_verification_locked"


def token(phone, secret=SECRET, expires_in=600):
    return jwt.encode({"sub": "c-42", "phone": phone, "exp": int(time.time()) + expires_in}, secret, algorithm="HS256")


@pytest.mark.parametrize(
    "customer_token, opens",
    [
        (lambda: token(PHONE), True),
        (lambda: token("13900000000"), False),  # another customer's token
        (lambda: token(PHONE, secret="forged-secret-of-at-least-32-bytes"), False),
        (lambda: token(PHONE, expires_in=-600), False),
        (lambda: "not-a-jwt", False),
    ],
)
def test_a_customer_token_from_the_shop_site_proves_the_customers_own_orders(
    database, dispatcher, make_tracker, domain, monkeypatch, customer_token, opens
):
    monkeypatch.setenv("CUSTOMER_TOKEN_SECRET", SECRET)
    tracker = make_tracker("", slots={"order_id": ORDER}, metadata={"customer_token": customer_token()})
    assert required(ValidateOrderStatusForm(), dispatcher, tracker, domain) == (
        ["order_id"] if opens else ["order_id", "order_phone_tail"]
    )
    run_action(ActionAnswerOrderStatus(), dispatcher, tracker, domain)
    assert (f"订单 {ORDER}" in texts(dispatcher)[-1]) is opens


def test_without_a_configured_secret_no_token_is_accepted(database, dispatcher, make_tracker, domain, monkeypatch):
    monkeypatch.delenv("CUSTOMER_TOKEN_SECRET", raising=False)
    tracker = make_tracker("", slots={"order_id": ORDER}, metadata={"customer_token": token(PHONE)})
    run_action(ActionAnswerOrderStatus(), dispatcher, tracker, domain)
    assert texts(dispatcher) == ["utter_order_mismatch"]


def test_a_proof_holds_only_on_the_channel_it_came_through(database, session, dispatcher, make_tracker, domain):
    """Sender ids are shared between channels: a REST client writing under a Telegram chat's id
    must not inherit what that chat proved."""
    from zhiyin.services import verification

    outcome = verification.check(session, "123456789", ORDER, "0482", channel="telegram")
    assert outcome is verification.Outcome.VERIFIED
    session.commit()
    over_rest = make_tracker("", slots={"order_id": ORDER}, sender_id="123456789")  # input channel: rest
    run_action(ActionAnswerOrderStatus(), dispatcher, over_rest, domain)
    assert texts(dispatcher) == ["utter_order_mismatch"]
