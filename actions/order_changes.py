"""Handlers for changes before shipping (cancel, address, delivery day) and for urging an order."""

from __future__ import annotations

from datetime import date
from typing import List

from rasa_sdk import Tracker

from actions.common import RunResult
from actions.orders import latest_event_text
from actions.requests import Request, handler
from zhiyin.db import Order
from zhiyin.services import order_changes, orders, refunds
from zhiyin.services.refusal import RequestRefused
from zhiyin.text import yuan

# Why an order can no longer be changed -> what the customer is told.
CANCEL_REFUSALS = {
    "shipped": "utter_cancel_refused_shipped",
    "delivered": "utter_cancel_refused_delivered",
    "cancelled": "utter_order_already_cancelled",
    "returning": "utter_order_returning",
}
CHANGE_REFUSALS = {
    "shipped": "utter_change_refused_shipped",
    "delivered": "utter_change_refused_closed",
    "cancelled": "utter_change_refused_closed",
    "returning": "utter_change_refused_closed",
}


def refuse_change(request: Request, refusals: dict) -> None:
    order = request.order
    request.say(
        refusals[order_changes.refusal_reason(order)],
        status=order.status,
        carrier=order.carrier or "",
        tracking_no=order.tracking_no or "",
    )


@handler("cancel_order")
class CancelOrder:
    def needs(self, order: Order, tracker: Tracker) -> List[str]:
        return ["cancel_confirmed"] if orders.is_changeable(order) else []

    def handle(self, request: Request) -> RunResult:
        if not orders.is_changeable(request.order):
            refuse_change(request, CANCEL_REFUSALS)
        elif not request.slot("cancel_confirmed"):
            request.say("utter_cancel_kept")
        else:
            refund = order_changes.cancel(request.session, request.order, **request.origin)
            request.say(
                "utter_order_cancelled",
                amount=yuan(refund.amount_fen),
                destination=refund.destination,
                arrival=refunds.expected_arrival(refund).isoformat(),
            )
        return []


@handler("change_address")
class ChangeAddress:
    def needs(self, order: Order, tracker: Tracker) -> List[str]:
        return ["new_address"] if orders.is_changeable(order) else []

    def handle(self, request: Request) -> RunResult:
        if not orders.is_changeable(request.order):
            refuse_change(request, CHANGE_REFUSALS)
            return []
        try:
            order_changes.change_address(request.session, request.order, request.slot("new_address"), **request.origin)
        except RequestRefused:
            request.say("utter_address_invalid")
            return []
        request.say("utter_address_changed", address=request.order.address)
        return []


@handler("reschedule_delivery")
class RescheduleDelivery:
    def needs(self, order: Order, tracker: Tracker) -> List[str]:
        return ["delivery_day"] if orders.is_changeable(order) else []

    def handle(self, request: Request) -> RunResult:
        if not orders.is_changeable(request.order):
            refuse_change(request, CHANGE_REFUSALS)
            return []
        day = date.fromisoformat(request.slot("delivery_day"))
        try:
            order_changes.reschedule(request.session, request.order, day, today=request.now.date(), **request.origin)
        except RequestRefused:
            request.say("utter_day_invalid")
            return []
        request.say("utter_delivery_rescheduled", day=day.isoformat())
        return []


@handler("urge_delivery")
class UrgeDelivery:
    def needs(self, order: Order, tracker: Tracker) -> List[str]:
        return []

    def handle(self, request: Request) -> RunResult:
        order = request.order
        urge = order_changes.urge(request.session, order, now=request.now, **request.origin)
        if urge.stage == "not_shipped":
            if urge.overdue:
                request.say("utter_urge_overdue")
            else:
                request.say("utter_urge_not_shipped", ship_by=f"{urge.ship_by:%Y-%m-%d %H:%M}")
        elif urge.stage == "in_transit":
            latest = latest_event_text(request.domain, order)
            request.say("utter_urge_in_transit", status=order.status, expected=urge.expected.isoformat(), latest=latest)
        elif urge.stage == "delivered":
            request.say("utter_urge_delivered")
        else:
            request.say("utter_urge_closed", status=order.status)
        return []
