"""A conversation as the desk shows it, read from Rasa's tracker events (plain dicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Optional

Event = Dict[str, Any]
SLOTS_SHOWN = ("product", "order_id", "phone_number", "company")


def _time(event: Event) -> Optional[str]:
    stamp = event.get("timestamp")
    if not isinstance(stamp, (int, float)):
        return None
    return datetime.fromtimestamp(stamp).astimezone().isoformat(timespec="seconds")


def messages(events: List[Event]) -> List[Dict[str, Any]]:
    """Customer, bot and agent messages in order. A bot event with an agent in its metadata is the
    agent's; one the desk sent on its own (joined, handed back…) is a system notice."""
    shown: List[Dict[str, Any]] = []
    for index, event in enumerate(events):
        kind = event.get("event")
        if kind == "user":
            parse = event.get("parse_data") or {}
            intent = parse.get("intent") or {}
            text = event.get("text") or ""
            if text == "/greet":  # the web chat's hello on opening, not something the customer typed
                continue
            shown.append(
                {
                    "id": index,
                    "who": "customer",
                    "text": text,
                    "time": _time(event),
                    "voice": bool((event.get("metadata") or {}).get("voice")),
                    "agent": None,
                    "buttons": [],
                    "intent": intent.get("name"),
                    "confidence": intent.get("confidence"),
                }
            )
        elif kind == "bot" and (event.get("text") or (event.get("data") or {}).get("buttons")):
            metadata = event.get("metadata") or {}
            desk = metadata.get("desk")
            who = "agent" if desk == "reply" else "system" if desk else "bot"
            shown.append(
                {
                    "id": index,
                    "who": who,
                    "text": event.get("text") or "",
                    "time": _time(event),
                    "voice": False,
                    "agent": metadata.get("agent"),
                    "buttons": list((event.get("data") or {}).get("buttons") or []),
                    "intent": None,
                    "confidence": None,
                }
            )
    return shown


def slots(events: List[Event]) -> Dict[str, Any]:
    """The latest value of each slot the desk shows (after resets, as Rasa would have them)."""
    values: Dict[str, Any] = {}
    for event in events:
        if event.get("event") == "slot" and event.get("name") in SLOTS_SHOWN:
            values[event["name"]] = event.get("value")
    return {name: value for name, value in values.items() if value not in (None, "", [])}


def entities(events: List[Event]) -> Dict[str, Any]:
    """What the NLU extracted from the customer's messages: the latest value of each entity."""
    found: Dict[str, Any] = {}
    for event in events:
        if event.get("event") == "user":
            for entity in (event.get("parse_data") or {}).get("entities") or []:
                if entity.get("entity") and entity.get("value") not in (None, ""):
                    found[entity["entity"]] = entity["value"]
    return found


def last_customer(events: List[Event]) -> Optional[Event]:
    return next((e for e in reversed(events) if e.get("event") == "user" and e.get("text") != "/greet"), None)


def understood(events: List[Event]) -> Dict[str, Any]:
    """What the bot made of the conversation: the last intent, and the product and order it knows."""
    latest = last_customer(events)
    known = {**entities(events), **slots(events)}
    intent = ((latest or {}).get("parse_data") or {}).get("intent") or {}
    return {"intent": intent.get("name"), "product": known.get("product"), "order_id": known.get("order_id")}


def reachable_channel(events: List[Event], channels: tuple, fallback: Optional[str]) -> Optional[str]:
    """The latest of `channels` the customer wrote on: a web chat customer who last sent a
    recording (voice channel) is still reached over socket.io."""
    for event in reversed(events):
        if event.get("event") == "user" and event.get("input_channel") in channels:
            return event["input_channel"]
    return fallback
