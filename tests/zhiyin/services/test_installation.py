from datetime import date

import pytest
from sqlalchemy import select

from zhiyin.db import InstallationBooking, Order
from zhiyin.services import installation
from zhiyin.services.refusal import RequestRefused

TODAY = date(2026, 11, 27)
FRIDGE = "202611240456"


@pytest.mark.parametrize(
    "text, kind", [("空调什么时候来装", "install"), ("洗衣机坏了约师傅", "repair"), ("空调不制冷", "repair")]
)
def test_kind_of_request(text, kind):
    assert installation.kind_of_request(text) == kind


def test_booking_a_visit(session):
    booking = installation.book(
        session,
        session.get(Order, FRIDGE),
        kind="install",
        day=date(2026, 11, 29),
        window="morning",
        address="上海市徐汇区漕溪北路1号",
        today=TODAY,
    )
    session.commit()
    stored = session.scalars(select(InstallationBooking)).one()
    assert (stored.order_id, stored.day, stored.window, stored.status) == (
        FRIDGE,
        date(2026, 11, 29),
        "morning",
        "已预约",
    )
    assert booking.number.startswith("AZ")


@pytest.mark.parametrize(
    "order_id, day, window, reason",
    [
        ("202611227506", date(2026, 11, 29), "morning", "not_installed"),  # a phone
        ("202611044237", date(2026, 11, 29), "morning", "cancelled"),
        (FRIDGE, TODAY, "morning", "day_past"),
        (FRIDGE, date(2026, 12, 31), "morning", "day_too_far"),
        (FRIDGE, date(2026, 11, 29), "evening", "window"),
    ],
)
def test_visits_that_cannot_be_booked(session, order_id, day, window, reason):
    with pytest.raises(RequestRefused) as refused:
        installation.book(
            session,
            session.get(Order, order_id),
            kind="install",
            day=day,
            window=window,
            address="上海市徐汇区漕溪北路1号",
            today=TODAY,
        )
    assert refused.value.reason == reason
    assert session.scalars(select(InstallationBooking)).all() == []
