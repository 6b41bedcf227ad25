"""Rasa's socket.io channel (the web chat's), with rate limits, checked payloads and the
client's address in every message's metadata.

Rasa's `socketio` channel takes any payload: a message that is not text, a session id that
is not a string or metadata that is not JSON fail inside the dialogue, and nothing limits how
fast a client sends. This subclass keeps Rasa's handlers and wraps two of them:

- `connect`: refused (the client gets `connect_error` with the reason) beyond the rate
  limit per client address;
- the user message event: beyond the rate limit per address (every event counts) or per
  session the customer is told to slow down and the message is dropped; dropped (and logged)
  when the payload is unusable; a message over 20,000 characters gets a polite refusal. Otherwise its metadata (the
  `metadata_key` object, `customData` as the widget sends it, with the shop's
  `customer_token`) reaches the dialogue with `client_address` set by the server.

The channel is still called `socketio` (the desk delivers to it by that name). Settings as
Rasa's in credentials.yml; `metadata_key` defaults to `customData`.

With several replicas (``REDIS_URL`` set) the server's client manager publishes every emit
through Redis, so a message for a room reaches the customer's socket on whichever replica
holds it: an agent's reply from the desk on replica A, a customer connected to replica B
(python-socketio's AsyncRedisManager). If Redis cannot take a message, the sockets on this
replica still get it (SharedRoomsManager).
"""

from __future__ import annotations

import json
import logging
import pickle
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from redis.exceptions import RedisError
from sanic import Blueprint
from socketio import AsyncRedisManager, AsyncServer
from socketio import exceptions as socketio_errors

from channels import replies
from channels.rest import MAX_MESSAGE_CHARS
from zhiyin.http import client_address, metadata_problem, sender_problem
from zhiyin.ratelimit import ClientLimits, shared_limits
from zhiyin.services.tickets import mask_phones_in
from zhiyin.settings import redis_url

logger = logging.getLogger(__name__)

METADATA_KEY = "customData"


def environ_address(environ: Optional[Dict[str, Any]]) -> str:
    """The client address of a socket.io connection, from the Sanic request that opened it
    (engine.io's own REMOTE_ADDR is always 127.0.0.1 under Sanic)."""
    request = (environ or {}).get("sanic.request")
    return client_address(request) if request is not None else "unknown"


def metadata_object(value: Any) -> Optional[Dict[str, Any]]:
    """The message's metadata as a dict (Rasa also accepts it as a JSON string); None if unusable
    (not an object, or too large or deep to store with the message)."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None
    return dict(value) if metadata_problem(value) is None else None


class SharedRoomsManager(AsyncRedisManager):
    """python-socketio's Redis client manager, except that a message Redis cannot take is still
    delivered to this replica's own sockets (the library logs and drops it)."""

    async def _publish(self, data: Any) -> Any:
        try:
            return await self.redis.publish(self.channel, pickle.dumps(data))
        except RedisError:
            self._redis_connect()  # a fresh connection for the next message
            raise

    async def emit(self, event: str, data: Any, namespace: Optional[str] = None, **kwargs: Any) -> None:
        try:
            await super().emit(event, data, namespace, **kwargs)
        except RedisError as error:
            logger.error(
                "socket.io: Redis did not take a %s message (%s); delivered on this replica only", event, error
            )
            if kwargs.get("callback") is None:
                await super().emit(event, data, namespace, **{**kwargs, "ignore_queue": True})


def share_rooms(sio: AsyncServer, url: str) -> None:
    """Make `sio` deliver through Redis; before it has served anyone (the manager starts its
    Redis listener on the first connection)."""
    manager = SharedRoomsManager(url, channel="zhiyin:socketio")
    manager.set_server(sio)
    sio.manager = manager
    sio.manager_initialized = False


class SocketIOInput(RasaSocketIOInput):
    def __init__(self, *args: Any, limits: Optional[ClientLimits] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits or shared_limits()

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        return super().from_credentials({"metadata_key": METADATA_KEY, **(credentials or {})})

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by Rasa's blueprint()
        shared = redis_url()
        if shared:
            share_rooms(sio, shared)
        handlers = sio.handlers[self.namespace or "/"]
        rasa_connect, rasa_session_request = handlers["connect"], handlers["session_request"]
        rasa_message = handlers[self.user_message_evt]

        async def connect(sid: str, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if self.limits.check(self.name(), environ_address(environ)):
                raise socketio_errors.ConnectionRefusedError(replies.TOO_FAST)
            return bool(await rasa_connect(sid, environ, auth))

        # python-socketio calls a handler without `data` when the client sent none.
        async def session_request(sid: str, data: Any = None) -> None:
            # Rasa makes up a session id when there is none; it fails on one that is no string.
            data = dict(data) if isinstance(data, dict) else {}
            if data.get("session_id") is not None and sender_problem(data["session_id"]):
                data.pop("session_id")
            await rasa_session_request(sid, data)

        async def handle_message(sid: str, data: Any = None) -> None:
            message = await self.checked_message(sio, sid, data)
            if message is not None:
                await rasa_message(sid, message)

        sio.on("connect", connect, namespace=self.namespace)
        sio.on("session_request", session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, handle_message, namespace=self.namespace)
        return blueprint

    async def checked_message(self, sio: AsyncServer, sid: str, data: Any) -> Optional[Dict[str, Any]]:
        """The payload to hand to Rasa's handler, with `client_address` in its metadata; None
        when it is dropped (unusable, too long or over a rate limit; the customer is told why
        where that helps)."""
        # Every event counts against its address, an unusable one too; the session's limit once
        # the payload is known to be good.
        address = environ_address(sio.get_environ(sid, self.namespace))
        if self.limits.check(self.name(), address):
            await self.tell(sio, sid, replies.TOO_FAST)
            return None
        if not isinstance(data, dict):
            logger.warning("socket.io message from %s dropped: payload is %s, not an object", sid, type(data).__name__)
            return None
        text = data.get("message", "")
        sender = data.get("session_id") if self.session_persistence else sid
        metadata = metadata_object(data.get(self.metadata_key))
        if not isinstance(text, str) or metadata is None or (self.session_persistence and sender_problem(sender)):
            logger.warning("socket.io message from %s dropped: message, session_id or metadata unusable", sid)
            return None
        if self.limits.check(self.name(), None, str(sender)):
            await self.tell(sio, sid, replies.TOO_FAST)
            return None
        if len(text) > MAX_MESSAGE_CHARS:
            logger.warning("socket.io message of %s characters from %s dropped", len(text), mask_phones_in(str(sender)))
            await self.tell(sio, sid, replies.CHAT_MESSAGE_TOO_LONG.format(max_chars=MAX_MESSAGE_CHARS))
            return None
        metadata["client_address"] = address
        return {**data, self.metadata_key: metadata}

    async def tell(self, sio: AsyncServer, sid: str, text: str) -> None:
        """A notice as a bot message to this connection only (not the session's other tabs)."""
        await sio.emit(self.bot_message_evt, {"text": text}, room=sid, namespace=self.namespace)
