"""Installation and repair visits for large appliances: which products, which days, the bookings."""

from __future__ import annotations

import re
from datetime import date
from typing import Optional

from sqlalchemy.orm import Session

from zhiyin.db import InstallationBooking, Order, Product
from zhiyin.services import orders
from zhiyin.services.dates import AFTERNOON, MORNING
from zhiyin.services.order_changes import day_problem
from zhiyin.services.refusal import RequestRefused

INSTALL, REPAIR = "install", "repair"
KIND_NAMES = {INSTALL: "安装", REPAIR: "维修"}
WINDOW_NAMES = {MORNING: "上午 9:00–12:00", AFTERNOON: "下午 14:00–18:00"}
# Appliances the makers install at home (free standard installation).
INSTALLED_CATEGORIES = ("空调", "冰箱", "洗衣机", "电视")
INSTALLED_NAME_WORDS = ("热水器",)
_REPAIR_WORDS = re.compile(r"修|坏|故障|不制冷|不制热|不工作|不转|漏水|漏电|异响|报错|没反应|打不开|开不了机")


def is_installed_at_home(product: Product) -> bool:
    return product.category in INSTALLED_CATEGORIES or any(word in product.name for word in INSTALLED_NAME_WORDS)


def kind_of_request(text: Optional[str]) -> str:
    """repair when the customer speaks of a fault (坏了, 不制冷, 维修…), else install."""
    return REPAIR if _REPAIR_WORDS.search(text or "") else INSTALL


def book(
    session: Session,
    order: Order,
    *,
    kind: str,
    day: date,
    window: str,
    address: str,
    today: date,
    channel: Optional[str] = None,
    sender: Optional[str] = None,
) -> InstallationBooking:
    """Book a technician's visit for an appliance of the order; RequestRefused says why not."""
    if not is_installed_at_home(order.product):
        raise RequestRefused("not_installed")
    if order.status in (orders.CANCELLED, orders.RETURNING):
        raise RequestRefused("cancelled")
    problem = day_problem(day, today)
    if problem:
        raise RequestRefused(f"day_{problem}")
    if window not in WINDOW_NAMES:
        raise RequestRefused("window")
    booking = InstallationBooking(
        order_id=order.order_id,
        kind=kind,
        day=day,
        window=window,
        address=address.strip(),
        channel=channel,
        sender=sender,
    )
    session.add(booking)
    session.flush()
    orders.record_action(session, order, kind, f"{day} {window} {booking.address}", channel=channel, sender=sender)
    return booking
