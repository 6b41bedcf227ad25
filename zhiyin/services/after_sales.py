"""After-sales cases (return, exchange, repair) a customer has applied for, and their progress."""

from __future__ import annotations

from typing import List

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhiyin.db import AfterSalesCase, Order

KIND_NAMES = {"return": "退货", "exchange": "换货", "repair": "维修"}
# Statuses in which a courier still has to collect the goods from the customer.
AWAITING_PICKUP = ("待审核", "待取件")


def cases_of(session: Session, order: Order) -> List[AfterSalesCase]:
    """The order's after-sales cases, newest first."""
    query = (
        select(AfterSalesCase)
        .where(AfterSalesCase.order_id == order.order_id)
        .order_by(AfterSalesCase.created_at.desc(), AfterSalesCase.id.desc())
    )
    return list(session.scalars(query))
