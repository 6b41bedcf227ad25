"""Sending the desk's messages to the customer, live, on the channel they used.

Web chat (socket.io), Telegram and Slack are pushed to at once through the Rasa server's own
input channels (the desk runs in the same server). REST and voice clients wait for an HTTP
answer and cannot be pushed to: their messages are handed over with the answer to their next
call (channels/rest.py).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterable, List, Optional

logger = logging.getLogger(__name__)

PUSHED_CHANNELS = ("socketio", "telegram", "slack")


class DeliveryError(RuntimeError):
    """The customer's channel did not take the message (e.g. the Telegram API is down)."""

    def __init__(self, message: str, channel: Optional[str] = None) -> None:
        super().__init__(message)
        self.channel = channel


def is_pushed(channel: Optional[str]) -> bool:
    return channel in PUSHED_CHANNELS


def _input_channel(input_channels: Iterable[Any], name: str) -> Any:
    return next((channel for channel in input_channels if channel.name() == name), None)


async def deliver(
    input_channels: Iterable[Any],
    channel: Optional[str],
    sender: str,
    text: str,
    agent: Optional[str] = None,
    buttons: Optional[List[Dict[str, str]]] = None,
    metadata: Optional[Dict[str, Any]] = None,
) -> bool:
    """Push a message to the customer; False when the channel cannot be pushed to (collected
    later). `metadata` is the customer's latest message metadata (Slack: where they wrote)."""
    if not is_pushed(channel):
        return False
    source = _input_channel(input_channels, channel or "")
    try:
        if channel == "socketio":
            sio = getattr(source, "sio", None)
            if sio is None:
                raise DeliveryError("socket.io is not running in this server", channel)
            payload: Dict[str, Any] = {"text": text, "agent": agent}
            if buttons:
                payload["quick_replies"] = [{"content_type": "text", **button} for button in buttons]
            # With session persistence every socket of the conversation is in the room of its id.
            await sio.emit(source.bot_message_evt, payload, room=sender)
            return True
        output = None
        if channel == "telegram":
            output = source.get_output_channel() if source is not None else None
        elif channel == "slack" and source is not None and hasattr(source, "slack_token"):
            metadata = metadata or {}
            output = source.get_output_channel(metadata.get("out_channel"), metadata.get("thread_id"))
        if output is None:
            raise DeliveryError(f"the {channel} channel is off in this server", channel)
        if buttons:
            await output.send_text_with_buttons(sender, text, buttons)
        else:
            await output.send_text_message(sender, text)
        return True
    except DeliveryError:
        raise
    except Exception as error:  # a platform's client raises its own errors
        raise DeliveryError(f"{channel} did not take the message for {sender}: {error!r}", channel) from error
