"""Helpers shared by the actions: reading the tracker and surviving an unreachable database."""

from __future__ import annotations

import functools
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from zhiyin.db import Order
from zhiyin.services import verification

logger = logging.getLogger(__name__)

RunResult = List[Dict[str, Any]]


def latest_entity_values(tracker: Tracker, entity: str) -> List[str]:
    """Values of an entity in the latest user message, in order, without repeats."""
    values: List[str] = []
    for item in tracker.latest_message.get("entities", []):
        value = item.get("value")
        if item.get("entity") == entity and value and str(value) not in values:
            values.append(str(value))
    return values


def latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def event_intent(event: Dict[str, Any]) -> Optional[str]:
    """The intent NLU gave a user event (None for other events)."""
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def recent_user_texts(tracker: Tracker, limit: int = 5) -> List[str]:
    """The customer's last messages, oldest first: context for the person who takes over."""
    texts = [e.get("text") for e in tracker.events if e.get("event") == "user" and e.get("text")]
    return texts[-limit:]


def ticket_origin(tracker: Tracker) -> Dict[str, Optional[str]]:
    """Where to reach the customer again: their channel and sender id."""
    return {"channel": tracker.get_latest_input_channel(), "sender": tracker.sender_id}


def render(domain: Dict[str, Any], response: str, **values: Any) -> str:
    """The text of a domain.yml response (its first variation) with its `{name}` slots filled in.

    For answers an action assembles into one message from several parts, so that their wording
    stays in domain.yml with every other reply.
    """
    variations = (domain.get("responses") or {}).get(response)
    if not variations:
        raise KeyError(f"response {response!r} is not in the domain")
    return str(variations[0]["text"]).format(**values)


def customer_of(tracker: Tracker) -> Optional[verification.Customer]:
    """The customer the shop's site vouches for in this message (a signed customer token in the
    message metadata: the web chat's `data-customer-token`, or REST `metadata.customer_token`)."""
    metadata = tracker.latest_message.get("metadata") or {}
    return verification.customer_from_token(metadata.get("customer_token"))


def client_address(tracker: Tracker) -> Optional[str]:
    """The client address the channel recorded with the latest message, if any."""
    return verification.client_address(tracker.latest_message.get("metadata"))


def customer_order(session: Session, tracker: Tracker, order_id: Optional[str]) -> Optional[Order]:
    """The order a customer asks about, if this conversation may see it, else None.

    Every order an action discloses or changes is looked up here: only a conversation that
    gave the last digits of the order's phone number, or a customer token with that number,
    gets it (zhiyin.services.verification). An unknown order gives None just the same.
    """
    return verification.verified_order(
        session, tracker.sender_id, order_id, customer_of(tracker), tracker.get_latest_input_channel() or ""
    )


def database_guard(run: Callable[..., Awaitable[RunResult]]) -> Callable[..., Awaitable[RunResult]]:
    """Turn a database failure into a polite apology instead of a crashed action.

    The action's own events are dropped (nothing half-done is recorded) and the error is
    logged with its cause, so the conversation goes on and an operator can see why.
    """

    @functools.wraps(run)
    async def wrapper(self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> RunResult:
        try:
            return await run(self, dispatcher, tracker, domain)
        except SQLAlchemyError as error:
            logger.error("action %s: database unavailable: %s", self.name(), error)
            dispatcher.utter_message(response="utter_service_unavailable")
            return []

    return wrapper
