"""Service requests on an order (refund, after-sales, invoice, cancel, address, delivery day, price
protection, installation, urge): one form collects the order number and what the request needs,
then the request's handler answers from the database.

A request starts with `action_start_order_request`, which remembers the intent that asked, then
`order_request_form` (order_id plus the slots its handler lists in `required_slots`), then
`action_handle_order_request`. A new request type is a handler registered in HANDLERS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Dict, List, Optional, Protocol

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions.common import RunResult, customer_order, database_guard, latest_intent, ticket_origin
from actions.orders import PHONE_TAIL, check_order_id, check_phone_tail, needs_phone_tail
from zhiyin.db import Order, session_scope
from zhiyin.services import invoices, order_changes
from zhiyin.services.dates import parse_day, parse_window

logger = logging.getLogger(__name__)

# Slots a request may ask for; all cleared when a request starts and when it is done.
REQUEST_SLOTS = (
    "cancel_confirmed",
    "new_address",
    "delivery_day",
    "install_time",
    "install_address",
    "invoice_kind",
    "invoice_title",
    "tax_id",
    "invoice_email",
)


@dataclass
class Request:
    """What a handler works with: the order, the conversation and where to answer."""

    session: Session
    order: Order
    tracker: Tracker
    dispatcher: CollectingDispatcher
    domain: Dict[str, Any]
    now: datetime = field(default_factory=lambda: clock())

    @property
    def origin(self) -> Dict[str, Optional[str]]:
        return ticket_origin(self.tracker)

    def slot(self, name: str) -> Any:
        return self.tracker.get_slot(name)

    def say(self, response: str, **values: Any) -> None:
        self.dispatcher.utter_message(response=response, order_id=self.order.order_id, **values)


class Handler(Protocol):
    def needs(self, order: Order, tracker: Tracker) -> List[str]:
        """The slots, beyond the order number, this request still needs for this order."""

    def handle(self, request: Request) -> RunResult:
        """Answer (and act on) the request; returns extra events."""


HANDLERS: Dict[str, Handler] = {}


def clock() -> datetime:
    """Now, for every date rule of the requests (tests set it to a fixed moment)."""
    return datetime.now()


def handler(intent: str) -> Callable[[type], type]:
    """Register a handler class for the intent that asks for it."""

    def register(cls: type) -> type:
        HANDLERS[intent] = cls()
        return cls

    return register


def reset_request_slots() -> List[Dict[str, Any]]:
    return [SlotSet(slot, None) for slot in REQUEST_SLOTS]


class ActionStartOrderRequest(Action):
    """Remembers which request the customer made, with a clean set of request slots."""

    def name(self) -> str:
        return "action_start_order_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> RunResult:
        intent = latest_intent(tracker)
        request = intent if intent in HANDLERS else tracker.get_slot("order_request")
        return [SlotSet("order_request", request), *reset_request_slots()]


class ValidateOrderRequestForm(FormValidationAction):
    def name(self) -> str:
        return "validate_order_request_form"

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[str]:
        base = [slot for slot in domain_slots if slot not in REQUEST_SLOTS and slot != PHONE_TAIL]
        handler = HANDLERS.get(tracker.get_slot("order_request") or "")
        order_id = tracker.get_slot("order_id")
        if not order_id:
            return [*base, PHONE_TAIL]
        if needs_phone_tail(tracker):  # proved first: the request's questions depend on the order
            return [*base, PHONE_TAIL]
        if handler is None:
            return base
        try:
            with session_scope() as session:
                order = customer_order(session, tracker, order_id)
                needs = handler.needs(order, tracker) if order is not None else []
        except SQLAlchemyError as error:  # the handler reports the outage
            logger.warning("order request form: database unavailable: %s", error)
            needs = []
        return [*base, *needs]

    def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if latest_intent(tracker) == "deny":  # "没有订单号": where to find it, then the question again
            dispatcher.utter_message(response="utter_no_order_id")
            return {"order_id": None}
        return {"order_id": check_order_id(value, dispatcher), PHONE_TAIL: None}

    def validate_order_phone_tail(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        return check_phone_tail(value, dispatcher, tracker)

    def validate_cancel_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Only a yes or a no (set from affirm / deny) answers the confirmation."""
        return {"cancel_confirmed": value if isinstance(value, bool) else None}

    def validate_new_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if order_changes.address_problem(str(value or "")):
            dispatcher.utter_message(response="utter_address_invalid")
            return {"new_address": None}
        return {"new_address": str(value).strip()}

    def validate_delivery_day(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        day = bookable_day(str(value or ""), dispatcher)
        return {"delivery_day": day.isoformat() if day else None}

    def validate_install_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        day = bookable_day(str(value or ""), dispatcher)
        if day is None:
            return {"install_time": None}
        window = parse_window(str(value))
        if window is None:
            dispatcher.utter_message(response="utter_window_missing")
            return {"install_time": None}
        return {"install_time": f"{day.isoformat()} {window}"}

    def validate_install_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if SAME_ADDRESS in str(value or ""):  # the button (affirm) or typed
            with session_scope() as session:
                order = customer_order(session, tracker, tracker.get_slot("order_id"))
                address = order.address if order is not None else None
            if address:
                return {"install_address": address}
        if order_changes.address_problem(str(value or "")):
            dispatcher.utter_message(response="utter_address_invalid")
            return {"install_address": None}
        return {"install_address": str(value).strip()}

    def validate_invoice_kind(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        kind = invoices.parse_kind(str(value or ""))
        if kind is None:
            dispatcher.utter_message(response="utter_invoice_kind_invalid")
        return {"invoice_kind": kind}

    def validate_invoice_title(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        title = invoices.clean_title(str(value or ""))
        if title is None:
            dispatcher.utter_message(response="utter_invoice_title_invalid")
        elif title == invoices.PERSONAL_TITLE and tracker.get_slot("invoice_kind") == invoices.SPECIAL:
            dispatcher.utter_message(response="utter_special_needs_company")
            title = None
        return {"invoice_title": title}

    def validate_tax_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        code = invoices.extract_credit_code(str(value or ""))
        if code is None:
            dispatcher.utter_message(response="utter_tax_id_invalid")
        return {"tax_id": code}

    def validate_invoice_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        email = invoices.extract_email(str(value or ""))
        if email is None:
            dispatcher.utter_message(response="utter_email_invalid")
        return {"invoice_email": email}


# What the customer answers (or the button sends) to use the order's own delivery address.
SAME_ADDRESS = "同收货地址"
DAY_PROBLEMS = {"none": "utter_day_invalid", "past": "utter_day_past", "too_far": "utter_day_too_far"}


def bookable_day(text: str, dispatcher: CollectingDispatcher) -> Optional[date]:
    """The day a message names if it can be booked (tomorrow to two weeks ahead); else says why."""
    today = clock().date()
    day = parse_day(text, today)
    problem = order_changes.day_problem(day, today)
    if problem:
        dispatcher.utter_message(response=DAY_PROBLEMS[problem])
        return None
    return day


class ActionHandleOrderRequest(Action):
    def name(self) -> str:
        return "action_handle_order_request"

    @database_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> RunResult:
        handler = HANDLERS.get(tracker.get_slot("order_request") or "")
        order_id = tracker.get_slot("order_id")
        events: RunResult = [SlotSet("order_request", None), SlotSet(PHONE_TAIL, None), *reset_request_slots()]
        if handler is None:
            dispatcher.utter_message(response="utter_offer_help")
            return events
        with session_scope() as session:
            order = customer_order(session, tracker, order_id)
            if order is None:
                dispatcher.utter_message(response="utter_order_mismatch")
                return events
            extra = handler.handle(Request(session, order, tracker, dispatcher, domain))
        return [*extra, *events]


# The handlers register themselves on import (rasa-sdk imports every module of the package too).
from actions import after_sales  # noqa: E402,F401
from actions import invoices as invoice_handlers  # noqa: E402,F401
from actions import order_changes as order_change_handlers  # noqa: E402,F401
