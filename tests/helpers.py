"""Builders for tracker events and readers of dispatcher output, shared by the tests."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk.executor import CollectingDispatcher


def user_event(
    text: str,
    intent: str,
    entities: Optional[List[Dict[str, Any]]] = None,
    metadata: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    parse_data = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [],
        "metadata": metadata or {},
    }
    return {
        "event": "user",
        "text": text,
        "parse_data": parse_data,
        "input_channel": "rest",
        "metadata": metadata or {},
    }


def entity(name: str, value: str) -> Dict[str, Any]:
    return {"entity": name, "value": value}


def texts(dispatcher: CollectingDispatcher) -> List[str]:
    """Everything the dispatcher was asked to say: literal texts and response names."""
    return [m.get("text") or m.get("response") for m in dispatcher.messages]


def run_action(
    action: Any, dispatcher: CollectingDispatcher, tracker: Any, domain: Dict[str, Any]
) -> List[Dict[str, Any]]:
    """Run an action's async `run` to completion and return its events."""
    import asyncio

    return asyncio.run(action.run(dispatcher, tracker, domain))


def slot_events(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
