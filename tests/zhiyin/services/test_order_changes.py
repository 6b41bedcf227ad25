from datetime import date, datetime

import pytest
from sqlalchemy import select

from zhiyin.db import Order, OrderAction, Refund
from zhiyin.services import order_changes, orders
from zhiyin.services.refusal import RequestRefused

NOT_SHIPPED = "202611016468"  # 待发货, 美的对开门冰箱 x1, paid 3599 by 支付宝
IN_TRANSIT = "202611088387"
DELIVERED = "202611227506"
CANCELLED = "202611044237"
TODAY = date(2026, 11, 27)


def logged(session, order_id):
    return [
        (a.kind, a.channel, a.sender)
        for a in session.scalars(select(OrderAction).where(OrderAction.order_id == order_id))
    ]


def test_cancel_before_shipping_refunds_the_full_amount_the_way_it_was_paid(session):
    order = session.get(Order, NOT_SHIPPED)
    refund = order_changes.cancel(session, order, channel="rest", sender="c-1")
    session.commit()
    session.expire_all()
    assert session.get(Order, NOT_SHIPPED).status == orders.CANCELLED
    stored = session.get(Refund, refund.id)
    assert (stored.amount_fen, stored.destination, stored.reason, stored.status) == (
        359900,
        "支付宝",
        "取消订单",
        "退款中",
    )
    assert logged(session, NOT_SHIPPED) == [("cancel", "rest", "c-1")]


@pytest.mark.parametrize(
    "order_id, reason",
    [(IN_TRANSIT, "shipped"), (DELIVERED, "delivered"), (CANCELLED, "cancelled"), ("202611064268", "returning")],
)
def test_no_change_once_shipped_and_nothing_is_written(session, order_id, reason):
    order = session.get(Order, order_id)
    status = order.status
    for change in (
        lambda: order_changes.cancel(session, order),
        lambda: order_changes.change_address(session, order, "上海市浦东新区张江路88号"),
        lambda: order_changes.reschedule(session, order, date(2026, 11, 30), today=TODAY),
    ):
        with pytest.raises(RequestRefused) as refused:
            change()
        assert refused.value.reason == reason
    assert order.status == status and logged(session, order_id) == []


def test_change_address_keeps_the_old_one_in_the_log(session):
    order = session.get(Order, NOT_SHIPPED)
    previous = order_changes.change_address(session, order, " 北京市海淀区中关村大街27号 ")
    assert previous.startswith("广东省深圳市") and order.address == "北京市海淀区中关村大街27号"
    [action] = session.scalars(select(OrderAction).where(OrderAction.order_id == NOT_SHIPPED)).all()
    assert action.kind == "change_address" and action.detail.endswith("-> 北京市海淀区中关村大街27号")


@pytest.mark.parametrize(
    "text, problem", [("家里", "too_short"), ("送到我公司那边就行啊", "no_place"), ("上海市浦东新区张江路88号", None)]
)
def test_address_problem(text, problem):
    assert order_changes.address_problem(text) == problem


def test_reschedule_within_two_weeks(session):
    order = session.get(Order, NOT_SHIPPED)
    order_changes.reschedule(session, order, date(2026, 12, 5), today=TODAY)
    assert order.delivery_date == date(2026, 12, 5)
    for day, reason in ((TODAY, "day_past"), (date(2026, 12, 30), "day_too_far")):
        with pytest.raises(RequestRefused, match=reason):
            order_changes.reschedule(session, order, day, today=TODAY)
    assert order.delivery_date == date(2026, 12, 5)


def test_urge_is_recorded_and_tells_what_the_order_promises(session):
    waiting = session.get(Order, NOT_SHIPPED)
    first = order_changes.urge(session, waiting, now=datetime(2026, 11, 2, 9, 0))
    assert (first.stage, first.overdue, first.times) == ("not_shipped", False, 1)
    assert first.ship_by == datetime(2026, 11, 3, 14, 9)
    late = order_changes.urge(session, waiting, now=datetime(2026, 11, 27, 9, 0))
    assert (late.overdue, late.times) == (True, 2)
    moving = order_changes.urge(session, session.get(Order, IN_TRANSIT), now=datetime(2026, 11, 27))
    assert moving.stage == "in_transit" and not moving.overdue
    assert moving.expected == session.get(Order, IN_TRANSIT).delivery_date
    assert [kind for kind, _, _ in logged(session, NOT_SHIPPED)] == ["urge", "urge"]
