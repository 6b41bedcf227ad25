from datetime import datetime

import pytest
from sqlalchemy import select

from zhiyin.db import Order, PriceProtectionClaim, Refund
from zhiyin.services import price_protection

MATE60 = "202611227506"  # 华为Mate60 bought 2026-11-22 at 6499; 5999 since 2026-11-25


def test_price_at_follows_the_history(session):
    product = session.get(Order, MATE60).product
    assert price_protection.price_at(session, product, datetime(2026, 11, 22)) == 649900
    assert price_protection.price_at(session, product, datetime(2026, 11, 26)) == 599900
    assert price_protection.price_at(session, product, datetime(2020, 1, 1)) == product.price_fen


def test_a_drop_within_30_days_is_refunded_once(session):
    order = session.get(Order, MATE60)
    granted = price_protection.claim(session, order, now=datetime(2026, 11, 27, 10))
    assert (granted.approved, granted.reason, granted.refund_fen) == (True, "granted", 50000)
    again = price_protection.claim(session, order, now=datetime(2026, 11, 28, 10))
    assert (again.approved, again.reason, again.refund_fen) == (False, "already_refunded", 0)
    session.commit()
    [refund] = session.scalars(select(Refund).where(Refund.order_id == MATE60)).all()
    assert (refund.amount_fen, refund.reason, refund.destination) == (50000, "价保差价", order.payment_method)
    assert session.scalars(
        select(PriceProtectionClaim.reason).where(PriceProtectionClaim.order_id == MATE60)
    ).all() == [
        "granted",
        "already_refunded",
    ]


@pytest.mark.parametrize(
    "order_id, now, reason",
    [
        (MATE60, datetime(2026, 12, 23), "expired"),
        ("202611231971", datetime(2026, 11, 27), "no_drop"),  # 小米平板6, same price
        ("202611044237", datetime(2026, 11, 10), "excluded"),  # cancelled
        ("202611064268", datetime(2026, 11, 10), "excluded"),  # being returned
    ],
)
def test_claims_that_do_not_apply_are_recorded_with_the_reason(session, order_id, now, reason):
    claim = price_protection.claim(session, session.get(Order, order_id), now=now)
    assert (claim.approved, claim.reason, claim.refund_fen) == (False, reason, 0)
    assert session.scalars(select(Refund).where(Refund.order_id == order_id, Refund.reason == "价保差价")).all() == []


def test_refund_is_per_item(session):
    order = session.get(Order, "202611240456")  # 海尔十字门冰箱 at 5299, 4999 since 11-26
    order.quantity = 2
    assert price_protection.claim(session, order, now=datetime(2026, 11, 27)).refund_fen == 2 * 30000
