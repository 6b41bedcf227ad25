"""Orders: look-ups, order-number parsing, what state allows which change, the action log."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhiyin.db import Order, OrderAction, TrackingEvent
from zhiyin.text import normalize

# A run of exactly 12 digits, not part of a longer number.
_ORDER_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")
_DIGITS = re.compile(r"\d+")


def extract_order_id(text: Optional[str]) -> Optional[str]:
    """The 12-digit order number in a message (full-width digits allowed), or None."""
    match = _ORDER_ID.search(normalize(text or ""))
    return match.group(0) if match else None


def order_ids_in(text: Optional[str]) -> List[str]:
    """Every 12-digit order number in a text, in order."""
    return _ORDER_ID.findall(normalize(text or ""))


def looks_like_wrong_order_id(text: Optional[str]) -> bool:
    """True when the customer typed digits, but not a 12-digit order number."""
    normalized = normalize(text or "")
    return bool(_DIGITS.search(normalized)) and extract_order_id(normalized) is None


def get_order(session: Session, order_id: str) -> Optional[Order]:
    return session.get(Order, order_id)


def latest_event(order: Order) -> Optional[TrackingEvent]:
    return order.events[-1] if order.events else None


# Order statuses (as stored and shown): an order can still be changed until it ships.
NOT_SHIPPED = ("待付款", "待发货")
IN_TRANSIT = ("已发货", "运输中", "派送中")
DELIVERED = "已签收"
CANCELLED = "已取消"
RETURNING = "退货中"
SHIP_WITHIN = timedelta(hours=48)  # the shop's promise: shipped within 48 hours of payment
DELIVERY_DAYS = 3  # a typical carrier's 1–3 days, the latest of them


def is_changeable(order: Order) -> bool:
    """Whether the order has not shipped yet (and is not cancelled): cancel, address, day all possible."""
    return order.status in NOT_SHIPPED


def ship_by(order: Order) -> datetime:
    return order.created_at + SHIP_WITHIN


def expected_delivery(order: Order) -> date:
    """The agreed delivery day, else the latest day the shop's promise gives."""
    if order.delivery_date is not None:
        return order.delivery_date
    return (ship_by(order) + timedelta(days=DELIVERY_DAYS)).date()


def record_action(
    session: Session,
    order: Order,
    kind: str,
    detail: str = "",
    *,
    channel: Optional[str] = None,
    sender: Optional[str] = None,
) -> OrderAction:
    """Log what was done to an order on the customer's request, for the support team."""
    action = OrderAction(order_id=order.order_id, kind=kind, detail=detail, channel=channel, sender=sender)
    session.add(action)
    session.flush()
    return action


def actions_of(session: Session, order: Order, kind: Optional[str] = None) -> List[OrderAction]:
    query = select(OrderAction).where(OrderAction.order_id == order.order_id)
    if kind is not None:
        query = query.where(OrderAction.kind == kind)
    return list(session.scalars(query.order_by(OrderAction.id)))
