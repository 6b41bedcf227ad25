"""Price protection (价保): within 30 days of payment, a price drop on the same product is refunded.

The rule the shop publishes: for 30 days after an order is paid, if the shop sells the same product
for less, the difference per item goes back the way the order was paid. Cancelled or returned
orders are excluded; each drop is refunded once. Every claim is recorded, granted or not, with the
reason, so the team can answer follow-ups.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhiyin.db import Order, PricePoint, PriceProtectionClaim, Product
from zhiyin.services import orders
from zhiyin.services.refunds import start_refund

WINDOW = timedelta(days=30)
REFUND_REASON = "价保差价"
EXCLUDED_STATUSES = (orders.CANCELLED, orders.RETURNING)


def price_at(session: Session, product: Product, when: datetime) -> int:
    """The product's price in fen at a moment: the latest price point before it, else the catalog price."""
    query = (
        select(PricePoint.price_fen)
        .where(PricePoint.product_sku == product.sku, PricePoint.valid_from <= when)
        .order_by(PricePoint.valid_from.desc())
        .limit(1)
    )
    price: Optional[int] = session.scalar(query)
    return product.price_fen if price is None else price


def refunded_so_far(session: Session, order: Order) -> int:
    query = select(func.coalesce(func.sum(PriceProtectionClaim.refund_fen), 0)).where(
        PriceProtectionClaim.order_id == order.order_id, PriceProtectionClaim.approved.is_(True)
    )
    return int(session.scalar(query) or 0)


def deadline(order: Order) -> datetime:
    return order.created_at + WINDOW


def claim(session: Session, order: Order, *, now: datetime) -> PriceProtectionClaim:
    """Apply the rule to an order now; the recorded claim says what was granted, or why not.

    reason: granted, excluded (cancelled or returned), expired (over 30 days), no_drop (not cheaper
    than paid), already_refunded (this drop was refunded before).
    """
    current = price_at(session, order.product, now)
    due = (order.unit_price_fen - current) * order.quantity - refunded_so_far(session, order)
    if order.status in EXCLUDED_STATUSES:
        reason = "excluded"
    elif now > deadline(order):
        reason = "expired"
    elif current >= order.unit_price_fen:
        reason = "no_drop"
    elif due <= 0:
        reason = "already_refunded"
    else:
        reason = "granted"
    granted = reason == "granted"
    record = PriceProtectionClaim(
        order_id=order.order_id,
        paid_fen=order.unit_price_fen,
        price_fen=current,
        refund_fen=due if granted else 0,
        approved=granted,
        reason=reason,
        created_at=now,
    )
    session.add(record)
    if granted:
        start_refund(session, order, due, REFUND_REASON, now=now)
    orders.record_action(session, order, "price_protection", f"{reason} {record.refund_fen} fen")
    session.flush()
    return record
