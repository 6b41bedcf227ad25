"""Ticket submission for complaints and suggestions, after their forms are complete."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import RunResult, database_guard, ticket_origin
from actions.db import session_scope
from actions.orders import NO_ORDER
from actions.services import orders, tickets

COMPLAINT_SLOTS = ("order_id", "complaint_text", "phone_number", "complaint_confirmed")
SUGGESTION_SLOTS = ("suggestion_text",)


def reset(slots: tuple) -> List[Dict[Text, Any]]:
    """Clear a form's slots so the next complaint or suggestion starts clean."""
    return [SlotSet(slot, None) for slot in slots]


class ActionSubmitComplaint(Action):
    """Creates the complaint ticket once the customer confirmed it; reports its number."""

    def name(self) -> Text:
        return "action_submit_complaint"

    @database_guard
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> RunResult:
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
    def name(self) -> Text:
        return "action_submit_suggestion"

    @database_guard
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> RunResult:
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
