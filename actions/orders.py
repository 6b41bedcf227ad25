"""Order status: the order form's validation and the answer from the orders table."""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import RunResult, customer_order, database_guard, render
from zhiyin.db import Order, session_scope
from zhiyin.services import orders

logger = logging.getLogger(__name__)

NO_ORDER = "无"  # the complaint form's value for "this is not about an order"


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
    """A valid, known order number from a slot value; tells the customer what is wrong if not.

    If the database cannot be reached, a well-formed number is accepted unchecked: the
    conversation goes on and the next database step reports the outage.
    """
    if allow_none and value == NO_ORDER:
        return NO_ORDER
    text = str(value or "")
    order_id = orders.extract_order_id(text)
    if order_id is None:
        if orders.looks_like_wrong_order_id(text):
            dispatcher.utter_message(response="utter_order_id_invalid")
        return None
    try:
        with session_scope() as session:
            known = orders.get_order(session, order_id) is not None
    except SQLAlchemyError as error:
        logger.warning("order %s accepted unchecked, database unavailable: %s", order_id, error)
        return order_id
    if not known:
        dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
        return None
    return order_id


class ValidateOrderStatusForm(FormValidationAction):
    def name(self) -> str:
        return "validate_order_status_form"

    def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        return {"order_id": check_order_id(value, dispatcher)}


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
                dispatcher.utter_message(response="utter_order_not_found", order_id=order_id or "")
                return []
            dispatcher.utter_message(text=describe_order(domain, order))
        return []
