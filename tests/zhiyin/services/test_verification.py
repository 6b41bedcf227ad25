import time
from datetime import datetime, timedelta

import jwt
import pytest

from zhiyin.db import Order
from zhiyin.services import verification
from zhiyin.services.verification import Outcome

SECRET = "the-shop-site-secret-0123456789abcdef"


@pytest.mark.parametrize(
    "text, tail",
    [
        ("5678", "5678"),
        ("尾号5678", "5678"),
        ("手机号13812345678", "5678"),
        ("后四位是０９２１", "0921"),
        ("138-1234-5678", "5678"),
        ("12", None),
        ("1234 5678", None),  # two answers: neither is taken
        ("不记得了", None),
    ],
)
def test_the_phone_digits_a_customer_answers(text, tail):
    assert verification.phone_tail(text) == tail


def claims(**changes):
    values = {"sub": "c-1", "phone": "13812345678", "exp": int(time.time()) + 86400, **changes}
    return {k: v for k, v in values.items() if v is not None}


@pytest.mark.parametrize(
    "payload, accepted",
    [
        (claims(), True),
        (claims(phone="+86 138 1234 5678"), True),
        (claims(exp=None), False),  # a token must expire
        (claims(sub=None), False),
        (claims(phone="12345"), False),
        (claims(exp=int(time.time()) - 3600), False),
    ],
)
def test_customer_tokens(monkeypatch, payload, accepted):
    monkeypatch.setenv("CUSTOMER_TOKEN_SECRET", SECRET)
    customer = verification.customer_from_token(jwt.encode(payload, SECRET, algorithm="HS256"))
    assert (customer == verification.Customer("c-1", "13812345678")) is accepted


def test_a_token_signed_with_none_or_another_algorithm_is_refused(monkeypatch):
    monkeypatch.setenv("CUSTOMER_TOKEN_SECRET", SECRET)
    unsigned = jwt.encode(claims(), None, algorithm="none")
    assert verification.customer_from_token(unsigned) is None
    assert verification.customer_from_token(12345) is None


def test_verification_lasts_a_while_then_must_be_given_again(session):
    order = session.get(Order, "202611016468")
    then = datetime(2026, 11, 28, 10, 0)
    assert verification.check(session, "s", order.order_id, order.phone[-4:], now=then) is Outcome.VERIFIED
    assert verification.is_verified(session, "s", order, now=then + timedelta(hours=1))
    assert not verification.is_verified(
        session, "s", order, now=then + verification.VERIFIED_FOR + timedelta(minutes=1)
    )


def test_failures_stop_counting_after_the_window(session, monkeypatch):
    monkeypatch.setenv("VERIFY_MAX_FAILURES", "2")
    then = datetime(2026, 11, 28, 10, 0)
    for _ in range(2):
        assert verification.check(session, "s", "202611016468", "0000", now=then) is Outcome.MISMATCH
    assert verification.check(session, "s", "202611016468", "0482", now=then) is Outcome.LOCKED
    later = then + verification.WINDOW + timedelta(minutes=1)
    assert verification.check(session, "s", "202611016468", "0482", now=later) is Outcome.VERIFIED
