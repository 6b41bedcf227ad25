"""Changes customers ask for before their order ships: cancel, a new address, another delivery day;
and urging an order on. Each change is refused once the order has shipped, with the reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Optional

from sqlalchemy.orm import Session

from zhiyin.db import Order, Refund
from zhiyin.services import orders
from zhiyin.services.refunds import start_refund
from zhiyin.services.refusal import RequestRefused
from zhiyin.text import normalize

# How far ahead a delivery day may be moved.
MAX_DAYS_AHEAD = 14
MIN_ADDRESS_CHARS = 8
# A delivery address names a place: a province, city, district, street, building or number.
_ADDRESS_WORDS = re.compile(r"省|市|区|县|镇|乡|村|路|街|道|巷|弄|号|栋|幢|楼|室|单元|小区|大厦|公寓|花园")


def refusal_reason(order: Order) -> str:
    """Why an order can no longer be changed: cancelled, shipped (on its way), delivered or returning."""
    if order.status == orders.CANCELLED:
        return "cancelled"
    if order.status in orders.IN_TRANSIT:
        return "shipped"
    if order.status == orders.RETURNING:
        return "returning"
    return "delivered"


def _check_changeable(order: Order) -> None:
    if not orders.is_changeable(order):
        raise RequestRefused(refusal_reason(order))


def cancel(session: Session, order: Order, *, channel: Optional[str] = None, sender: Optional[str] = None) -> Refund:
    """Cancel an order that has not shipped; the full amount goes back the way it was paid."""
    _check_changeable(order)
    order.status = orders.CANCELLED
    refund = start_refund(session, order, order.unit_price_fen * order.quantity, "取消订单")
    orders.record_action(session, order, "cancel", f"refund {refund.amount_fen} fen", channel=channel, sender=sender)
    return refund


def address_problem(text: Optional[str]) -> Optional[str]:
    """Why a text is not a usable delivery address (too_short, no_place), or None."""
    compact = normalize(text or "")
    if len(compact) < MIN_ADDRESS_CHARS:
        return "too_short"
    if not _ADDRESS_WORDS.search(compact):
        return "no_place"
    return None


def change_address(
    session: Session, order: Order, address: str, *, channel: Optional[str] = None, sender: Optional[str] = None
) -> str:
    """Deliver the order to a new address; returns the old one (may be empty)."""
    _check_changeable(order)
    if address_problem(address):
        raise RequestRefused("bad_address")
    previous, order.address = order.address or "", address.strip()
    orders.record_action(
        session, order, "change_address", f"{previous} -> {order.address}", channel=channel, sender=sender
    )
    return previous


def day_problem(day: Optional[date], today: date) -> Optional[str]:
    """Why a day cannot be booked (none, past, too_far), or None: tomorrow up to MAX_DAYS_AHEAD."""
    if day is None:
        return "none"
    if day <= today:
        return "past"
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        return "too_far"
    return None


def reschedule(
    session: Session,
    order: Order,
    day: date,
    *,
    today: date,
    channel: Optional[str] = None,
    sender: Optional[str] = None,
) -> None:
    """Deliver the order on another day (from tomorrow up to two weeks ahead)."""
    _check_changeable(order)
    problem = day_problem(day, today)
    if problem:
        raise RequestRefused(f"day_{problem}")
    previous = order.delivery_date
    order.delivery_date = day
    orders.record_action(session, order, "reschedule", f"{previous} -> {day}", channel=channel, sender=sender)


@dataclass(frozen=True)
class Urge:
    stage: str  # not_shipped, in_transit, delivered, cancelled, returning
    overdue: bool  # past the shop's 48-hour shipping promise and still not shipped
    ship_by: datetime
    expected: date
    times: int  # how often the customer has urged this order, this time included


def urge(
    session: Session, order: Order, *, now: datetime, channel: Optional[str] = None, sender: Optional[str] = None
) -> Urge:
    """Record the customer's urge (the warehouse sees it) and say what the order's data promises."""
    if orders.is_changeable(order):
        stage = "not_shipped"
    elif order.status in orders.IN_TRANSIT:
        stage = "in_transit"
    else:
        stage = refusal_reason(order)
    orders.record_action(session, order, "urge", stage, channel=channel, sender=sender)
    return Urge(
        stage=stage,
        overdue=stage == "not_shipped" and now > orders.ship_by(order),
        ship_by=orders.ship_by(order),
        expected=orders.expected_delivery(order),
        times=len(orders.actions_of(session, order, "urge")),
    )
