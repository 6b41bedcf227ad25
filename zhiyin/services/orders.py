"""Order look-ups and order-number parsing."""

from __future__ import annotations

import re
from typing import List, Optional

from sqlalchemy.orm import Session

from zhiyin.db import Order, TrackingEvent
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
