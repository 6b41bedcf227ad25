"""Handlers for what follows a purchase: refunds, after-sales cases, price protection, installation."""

from __future__ import annotations

from datetime import date
from typing import List

from rasa_sdk import Tracker

from actions.common import RunResult, event_intent
from actions.requests import Request, handler
from zhiyin.db import Order
from zhiyin.services import after_sales, installation, orders, price_protection, refunds
from zhiyin.services.refusal import RequestRefused
from zhiyin.text import yuan

MAX_LISTED = 3
PRICE_PROTECTION_ANSWERS = {
    "granted": "utter_price_protection_granted",
    "no_drop": "utter_price_protection_no_drop",
    "expired": "utter_price_protection_expired",
    "excluded": "utter_price_protection_excluded",
    "already_refunded": "utter_price_protection_already",
}


@handler("check_refund")
class CheckRefund:
    def needs(self, order: Order, tracker: Tracker) -> List[str]:
        return []

    def handle(self, request: Request) -> RunResult:
        order = request.order
        found = refunds.refunds_of(request.session, order)
        if not found:
            if order.status == orders.RETURNING:
                request.say(
                    "utter_refund_after_return", destination=order.payment_method or refunds.DEFAULT_DESTINATION
                )
            else:
                request.say("utter_refund_none", status=order.status)
            return []
        for refund in found[:MAX_LISTED]:
            values = {"reason": refund.reason, "amount": yuan(refund.amount_fen), "destination": refund.destination}
            if refund.status == refunds.COMPLETED and refund.completed_at is not None:
                request.say("utter_refund_completed", completed=f"{refund.completed_at:%Y-%m-%d}", **values)
            else:
                arrival = refunds.expected_arrival(refund)
                response = "utter_refund_pending" if arrival >= request.now.date() else "utter_refund_late"
                request.say(response, status=refund.status, arrival=arrival.isoformat(), **values)
        return []


@handler("check_after_sales")
class CheckAfterSales:
    def needs(self, order: Order, tracker: Tracker) -> List[str]:
        return []

    def handle(self, request: Request) -> RunResult:
        cases = after_sales.cases_of(request.session, request.order)
        if not cases:
            request.say("utter_after_sales_none")
            return []
        for case in cases[:MAX_LISTED]:
            request.say(
                "utter_after_sales_status",
                case_no=case.case_no,
                kind=after_sales.KIND_NAMES.get(case.kind, case.kind),
                status=case.status,
                updated=f"{case.updated_at:%Y-%m-%d %H:%M}",
                note=case.note,
            )
            if case.status in after_sales.AWAITING_PICKUP and case.pickup_at is not None:
                request.say("utter_after_sales_pickup", pickup=f"{case.pickup_at:%Y-%m-%d %H:%M}")
        return []


@handler("price_protection")
class PriceProtection:
    def needs(self, order: Order, tracker: Tracker) -> List[str]:
        return []

    def handle(self, request: Request) -> RunResult:
        order = request.order
        claim = price_protection.claim(request.session, order, now=request.now)
        request.say(
            PRICE_PROTECTION_ANSWERS[claim.reason],
            paid=yuan(claim.paid_fen),
            price=yuan(claim.price_fen),
            refund=yuan(claim.refund_fen),
            refunded=yuan(price_protection.refunded_so_far(request.session, order)),
            destination=order.payment_method or refunds.DEFAULT_DESTINATION,
            deadline=f"{price_protection.deadline(order):%Y-%m-%d}",
            status=order.status,
        )
        return []


@handler("book_installation")
class BookInstallation:
    def needs(self, order: Order, tracker: Tracker) -> List[str]:
        bookable = installation.is_installed_at_home(order.product) and order.status not in (
            orders.CANCELLED,
            orders.RETURNING,
        )
        return ["install_time", "install_address"] if bookable else []

    def handle(self, request: Request) -> RunResult:
        order = request.order
        if not installation.is_installed_at_home(order.product):
            request.say("utter_installation_not_needed", product=order.product.name)
            return []
        if not request.slot("install_time"):
            request.say("utter_installation_refused", status=order.status)
            return []
        day_text, window = request.slot("install_time").split()
        kind = installation.kind_of_request(first_request_text(request.tracker))
        try:
            booking = installation.book(
                request.session,
                order,
                kind=kind,
                day=date.fromisoformat(day_text),
                window=window,
                address=request.slot("install_address"),
                today=request.now.date(),
                **request.origin,
            )
        except RequestRefused as refused:
            request.say(
                "utter_day_invalid" if refused.reason.startswith("day_") else "utter_installation_refused",
                status=order.status,
            )
            return []
        request.say(
            "utter_installation_booked",
            kind=installation.KIND_NAMES[kind],
            product=order.product.name,
            day=booking.day.isoformat(),
            window=installation.WINDOW_NAMES[booking.window],
            address=booking.address,
            booking_number=booking.number,
        )
        return []


def first_request_text(tracker: Tracker) -> str:
    """The message that asked for the visit (the latest book_installation one): repair or install."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event_intent(event) == "book_installation":
            return str(event.get("text") or "")
    return ""
