"""Refunds: money going back to the customer, the way they paid, and when it arrives."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhiyin.db import Order, Refund

PENDING, COMPLETED = "退款中", "已到账"
DEFAULT_DESTINATION = "原支付账户"
# Working days until a refund reaches the customer, by where it goes back to.
ARRIVAL_WORKING_DAYS = {"支付宝": 1, "微信支付": 1, "花呗": 1, "白条": 1, "银行卡": 7}
DEFAULT_ARRIVAL_WORKING_DAYS = 7


def start_refund(
    session: Session, order: Order, amount_fen: int, reason: str, now: Optional[datetime] = None
) -> Refund:
    """A refund of `amount_fen` on the order, back to the way the order was paid."""
    refund = Refund(
        order_id=order.order_id,
        amount_fen=amount_fen,
        reason=reason,
        destination=order.payment_method or DEFAULT_DESTINATION,
        status=PENDING,
        requested_at=now or datetime.now(),
    )
    session.add(refund)
    session.flush()
    return refund


def refunds_of(session: Session, order: Order) -> List[Refund]:
    """The order's refunds, newest first."""
    query = (
        select(Refund).where(Refund.order_id == order.order_id).order_by(Refund.requested_at.desc(), Refund.id.desc())
    )
    return list(session.scalars(query))


def working_days_for(destination: Optional[str]) -> int:
    for name, days in ARRIVAL_WORKING_DAYS.items():
        if name in (destination or ""):
            return days
    return DEFAULT_ARRIVAL_WORKING_DAYS


def expected_arrival(refund: Refund) -> date:
    """The last working day the refund should arrive on (Saturdays and Sundays do not count)."""
    day = refund.requested_at.date()
    remaining = working_days_for(refund.destination)
    while remaining:
        day += timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return day
