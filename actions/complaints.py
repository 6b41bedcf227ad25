"""Complaints and suggestions: their forms' validation, then the ticket once the form is complete."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import RunResult, database_guard, ticket_origin
from actions.orders import NO_ORDER, check_order_id
from zhiyin.db import session_scope
from zhiyin.services import orders, tickets


def check_description(value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> Dict[str, Any]:
    """Keep a description that says something; a bare "我要投诉" is asked again.

    The message that opened the form pre-fills the slot. If it only asked to complain, the
    form's own question follows, so the rejection stays silent then.
    """
    text = str(value or "").strip()
    if tickets.is_substantive(text):
        return {slot: text}
    if tracker.get_slot("requested_slot") == slot:
        dispatcher.utter_message(response="utter_description_too_short")
    return {slot: None}


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        return {"order_id": check_order_id(value, dispatcher, allow_none=True)}

    def validate_complaint_text(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        return check_description(value, dispatcher, tracker, "complaint_text")

    def validate_phone_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        phone = tickets.extract_phone(str(value or ""))
        if phone is None:
            dispatcher.utter_message(response="utter_phone_invalid")
        return {"phone_number": phone}

    def validate_complaint_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Only a yes or a no (set from affirm / deny) answers the confirmation."""
        return {"complaint_confirmed": value if isinstance(value, bool) else None}


class ValidateSuggestionForm(FormValidationAction):
    def name(self) -> str:
        return "validate_suggestion_form"

    def validate_suggestion_text(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        return check_description(value, dispatcher, tracker, "suggestion_text")


COMPLAINT_SLOTS = ("order_id", "complaint_text", "phone_number", "complaint_confirmed")
SUGGESTION_SLOTS = ("suggestion_text",)


def reset(slots: Tuple[str, ...]) -> List[Dict[str, Any]]:
    """Clear a form's slots so the next complaint or suggestion starts clean."""
    return [SlotSet(slot, None) for slot in slots]


class ActionSubmitComplaint(Action):
    """Creates the complaint ticket once the customer confirmed it; reports its number."""

    def name(self) -> str:
        return "action_submit_complaint"

    @database_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> RunResult:
        if not tracker.get_slot("complaint_confirmed"):
            dispatcher.utter_message(response="utter_complaint_cancelled")
            return reset(COMPLAINT_SLOTS)
        order_id: Optional[str] = tracker.get_slot("order_id")
        order_id = None if order_id in (None, NO_ORDER) else order_id
        phone = tracker.get_slot("phone_number")
        with session_scope() as session:
            order = orders.get_order(session, order_id) if order_id else None
            ticket = tickets.create_ticket(
                session,
                "complaint",
                tracker.get_slot("complaint_text"),
                order_id=order_id,
                product=order.product.name if order else tracker.get_slot("product"),
                phone=phone,
                **ticket_origin(tracker),
            )
            number = ticket.number
        dispatcher.utter_message(
            response="utter_complaint_submitted",
            ticket_number=number,
            masked_phone=tickets.mask_phone(phone),
        )
        return reset(COMPLAINT_SLOTS)


class ActionSubmitSuggestion(Action):
    def name(self) -> str:
        return "action_submit_suggestion"

    @database_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> RunResult:
        with session_scope() as session:
            ticket = tickets.create_ticket(
                session,
                "suggestion",
                tracker.get_slot("suggestion_text"),
                product=tracker.get_slot("product"),
                phone=tracker.get_slot("phone_number"),
                **ticket_origin(tracker),
            )
            number = ticket.number
        dispatcher.utter_message(response="utter_suggestion_submitted", ticket_number=number)
        return reset(SUGGESTION_SLOTS)
