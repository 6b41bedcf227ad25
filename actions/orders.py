"""Order status: the order form's validation and the answer from the orders table."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import RunResult, client_address, customer_order, database_guard, render
from zhiyin.db import Order, session_scope
from zhiyin.services import orders, verification

logger = logging.getLogger(__name__)

NO_ORDER = "无"  # the complaint form's value for "this is not about an order"
# The slot the order forms ask the phone digits in; it holds VERIFIED once they matched.
PHONE_TAIL = "order_phone_tail"
VERIFIED = "verified"


def describe_order(domain: Dict[str, Any], order: Order) -> str:
    """Status, carrier and latest tracking event in one message (texts: domain.yml, utter_order_*)."""
    lines = [
        render(
            domain,
            "utter_order_summary",
            order_id=order.order_id,
            product=order.product.name,
            quantity=order.quantity,
            status=order.status,
        )
    ]
    if order.carrier:
        lines.append(render(domain, "utter_order_carrier", carrier=order.carrier, tracking_no=order.tracking_no))
    latest = latest_event_text(domain, order)
    if latest:
        lines.append(latest)
    return "\n".join(lines)


def latest_event_text(domain: Dict[str, Any], order: Order) -> str:
    """The order's latest tracking event as one line (utter_order_latest_event), or "" without one."""
    event = orders.latest_event(order)
    if event is None:
        return ""
    place = f"{event.location} " if event.location else ""
    time = f"{event.time:%Y-%m-%d %H:%M}"
    return render(domain, "utter_order_latest_event", time=time, place=place, description=event.description)


def check_order_id(value: Any, dispatcher: CollectingDispatcher, *, allow_none: bool = False) -> Optional[str]:
    """A well-formed order number from a slot value; tells the customer what is wrong if not.

    Whether the order exists is not said here: that would let anyone try order numbers. The
    customer proves the order is theirs next (`check_phone_tail`), and an unknown order fails
    that step exactly like a wrong phone number.
    """
    if allow_none and value == NO_ORDER:
        return NO_ORDER
    text = str(value or "")
    order_id = orders.extract_order_id(text)
    if order_id is None and orders.looks_like_wrong_order_id(text):
        dispatcher.utter_message(response="utter_order_id_invalid")
    return order_id


def needs_phone_tail(tracker: Tracker) -> bool:
    """Whether the form must still ask for the order's phone digits: the conversation has an
    order number it has not proved to be its own (and no customer token proves it)."""
    order_id = tracker.get_slot("order_id")
    if not order_id or tracker.get_slot(PHONE_TAIL) == VERIFIED:
        return False
    try:
        with session_scope() as session:
            return customer_order(session, tracker, order_id) is None
    except SQLAlchemyError as error:  # the next step reports the outage
        logger.warning("order verification: database unavailable: %s", error)
        return False


def check_phone_tail(value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[str, Any]:
    """The customer's answer to 「手机号后四位」: verified, or the order number asked again with
    one answer for an unknown order and a wrong number; refused after too many tries."""
    with session_scope() as session:
        outcome = verification.check(
            session,
            tracker.sender_id,
            tracker.get_slot("order_id"),
            str(value or ""),
            client_address(tracker),
            channel=tracker.get_latest_input_channel() or "",
        )
    if outcome is verification.Outcome.VERIFIED:
        return {PHONE_TAIL: VERIFIED}
    if outcome is verification.Outcome.LOCKED:
        dispatcher.utter_message(response="utter_verification_locked")
    else:
        dispatcher.utter_message(response="utter_order_mismatch")
    return {"order_id": None, PHONE_TAIL: None}


class ValidateOrderStatusForm(FormValidationAction):
    def name(self) -> str:
        return "validate_order_status_form"

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[str]:
        base = [slot for slot in domain_slots if slot != PHONE_TAIL]
        return [*base, PHONE_TAIL] if needs_phone_tail(tracker) or not tracker.get_slot("order_id") else base

    def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        # A new order number is proved anew (or found verified already in required_slots).
        return {"order_id": check_order_id(value, dispatcher), PHONE_TAIL: None}

    def validate_order_phone_tail(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        return check_phone_tail(value, dispatcher, tracker)


class ActionAnswerOrderStatus(Action):
    """Status, carrier and latest tracking event of the order in the `order_id` slot."""

    def name(self) -> str:
        return "action_answer_order_status"

    @database_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> RunResult:
        order_id = tracker.get_slot("order_id")
        with session_scope() as session:
            order = customer_order(session, tracker, order_id)
            if order is None:
                dispatcher.utter_message(response="utter_order_mismatch")
                return [SlotSet(PHONE_TAIL, None)]
            dispatcher.utter_message(text=describe_order(domain, order))
        return [SlotSet(PHONE_TAIL, None)]
