from datetime import date, datetime

import pytest

from zhiyin.db import Order, Refund
from zhiyin.services import after_sales, refunds


def test_refunds_of_an_order_newest_first(session):
    [refund] = refunds.refunds_of(session, session.get(Order, "202611050942"))
    assert (refund.amount_fen, refund.status, refund.destination) == (249900, "退款中", "支付宝")
    assert refunds.refunds_of(session, session.get(Order, "202611016468")) == []


@pytest.mark.parametrize(
    "destination, requested, arrival",
    [
        ("支付宝", datetime(2026, 11, 27, 10), date(2026, 11, 30)),  # Friday + 1 working day = Monday
        ("微信支付", datetime(2026, 11, 24, 10), date(2026, 11, 25)),
        ("银行卡", datetime(2026, 11, 24, 10), date(2026, 12, 3)),
        (None, datetime(2026, 11, 24, 10), date(2026, 12, 3)),
    ],
)
def test_expected_arrival_counts_working_days(destination, requested, arrival):
    refund = Refund(destination=destination, requested_at=requested)
    assert refunds.expected_arrival(refund) == arrival


def test_after_sales_cases_of_an_order(session):
    [case] = after_sales.cases_of(session, session.get(Order, "202611064268"))
    assert (case.kind, case.status, case.pickup_at) == ("return", "待取件", datetime(2026, 11, 28, 14, 0))
    assert after_sales.cases_of(session, session.get(Order, "202611016468")) == []
