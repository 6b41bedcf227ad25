"""Handoff to a person: on request, and after the assistant failed to understand twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Optional

from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME as FALLBACK_INTENT
from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.common import (
    RunResult,
    database_guard,
    event_intent,
    recent_user_texts,
    render,
    ticket_origin,
)
from zhiyin.db import session_scope
from zhiyin.services import desk, tickets

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


def staffing_now(session: Session) -> str:
    """Whether a person can answer now: "open", else "after_hours" or "nobody" (desk settings)."""
    return desk.staffing(session, desk.configured_hours(), desk.local_time(), datetime.now())


def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any], response: str) -> None:
    """Queue the conversation for a person and tell the customer their place in the queue.

    Outside service hours, or with nobody signed in to the desk, a call-back ticket is stored
    instead and the customer is told so, not promised a reply soon. A customer who asks again
    while their ticket is open is told the same ticket instead of getting a second one.
    """
    phone = tracker.get_slot("phone_number")
    origin = ticket_origin(tracker)
    masked = tickets.mask_phone(phone)
    callback = (
        render(domain, "utter_callback_by_phone", masked_phone=masked)
        if phone
        else render(domain, "utter_callback_in_chat")
    )
    with session_scope() as session:
        pending = tickets.open_ticket_for(session, "handoff", origin["channel"], origin["sender"])
        if pending is not None:
            position = desk.queue_position(session, pending)
            dispatcher.utter_message(response="utter_handoff_pending", ticket_number=pending.number, position=position)
            return
        staffing = staffing_now(session)
        # An open call-back from last night does not stop a person answering now.
        pending = tickets.open_ticket_for(session, "callback", origin["channel"], origin["sender"])
        if pending is not None and staffing != "open":
            dispatcher.utter_message(response="utter_callback_pending", ticket_number=pending.number, callback=callback)
            return
        ticket = tickets.create_ticket(
            session,
            "handoff" if staffing == "open" else "callback",
            "\n".join(recent_user_texts(tracker)) or "（客户请求人工服务）",
            order_id=tracker.get_slot("order_id"),
            product=tracker.get_slot("product"),
            phone=phone,
            **origin,
        )
        number = ticket.number
        position = desk.queue_position(session, ticket) if staffing == "open" else 0
    if staffing == "open":
        contact = render(domain, "utter_handoff_contact", masked_phone=masked) if phone else ""
        dispatcher.utter_message(response=response, ticket_number=number, position=position, contact=contact)
        return
    if response == "utter_handoff_after_fallback":
        dispatcher.utter_message(response="utter_not_understood_again")
    reply = "utter_callback_after_hours" if staffing == "after_hours" else "utter_callback_nobody_online"
    hours = desk.configured_hours().label
    dispatcher.utter_message(response=reply, ticket_number=number, hours=hours, callback=callback)


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


class ActionStoreRating(Action):
    """The customer's 1-5 satisfaction rating (a button the desk sent when it closed the
    conversation), stored with the ticket the person closed."""

    def name(self) -> str:
        return "action_store_rating"

    @database_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> RunResult:
        value = next(tracker.get_latest_entity_values("csat"), None)
        try:
            rating = int(str(value))
        except ValueError:
            rating = 0
        origin = ticket_origin(tracker)
        rated = None
        if 1 <= rating <= 5:
            with session_scope() as session:
                rated = desk.rate(session, origin["channel"], origin["sender"] or "", rating)
        if rated is None:
            dispatcher.utter_message(response="utter_rating_not_found")
        else:
            dispatcher.utter_message(response="utter_rating_thanks", rating=rating)
        return []
