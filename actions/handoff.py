"""Handoff to a person: on request, and after the assistant failed to understand twice."""

from __future__ import annotations

from typing import Any, Dict, Optional

from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME as FALLBACK_INTENT
from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    RunResult,
    database_guard,
    event_intent,
    recent_user_texts,
    render,
    ticket_origin,
)
from zhiyin.db import session_scope
from zhiyin.services import tickets

# After this many misunderstood messages in a row, a person takes over.
FALLBACKS_BEFORE_HANDOFF = 2


def is_blank(text: Optional[str]) -> bool:
    return not (text or "").strip()


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many of the customer's latest messages in a row the NLU could not classify.

    Empty messages (an accidental send) are not held against the customer.
    """
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user" or is_blank(event.get("text")):
            continue
        if event_intent(event) != FALLBACK_INTENT:
            break
        count += 1
    return count


def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any], response: str) -> None:
    """Store a handoff ticket with the recent conversation and tell the customer what happens next.

    A customer who asks again while their handoff is still open is told the same ticket
    number instead of getting a second ticket.
    """
    phone = tracker.get_slot("phone_number")
    origin = ticket_origin(tracker)
    with session_scope() as session:
        pending = tickets.open_ticket_for(session, "handoff", origin["channel"], origin["sender"])
        if pending is not None:
            dispatcher.utter_message(response="utter_handoff_pending", ticket_number=pending.number)
            return
        ticket = tickets.create_ticket(
            session,
            "handoff",
            "\n".join(recent_user_texts(tracker)) or "（客户请求人工服务）",
            order_id=tracker.get_slot("order_id"),
            product=tracker.get_slot("product"),
            phone=phone,
            **origin,
        )
        number = ticket.number
    contact = render(domain, "utter_handoff_contact", masked_phone=tickets.mask_phone(phone)) if phone else ""
    dispatcher.utter_message(response=response, ticket_number=number, contact=contact)


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    @database_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> RunResult:
        hand_off(dispatcher, tracker, domain, "utter_handoff")
        return []


class ActionFallback(Action):
    """Asks to rephrase; on the second miss in a row, hands the conversation to a person.

    The misunderstood message is reverted so it does not steer later dialogue predictions.
    """

    def name(self) -> str:
        return "action_fallback"

    @database_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> RunResult:
        if is_blank(tracker.latest_message.get("text")):
            dispatcher.utter_message(response="utter_empty_message")
        elif consecutive_fallbacks(tracker) >= FALLBACKS_BEFORE_HANDOFF:
            hand_off(dispatcher, tracker, domain, "utter_handoff_after_fallback")
        else:
            dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]
