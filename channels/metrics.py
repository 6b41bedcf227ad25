"""Prometheus metrics of the Rasa server: the private GET /metrics and the hook that times turns.

Mounted like the desk: `channels.metrics.MetricsInput` in credentials.yml is an input channel
only to put a route on the Rasa server, and its url_prefix "/metrics" replaces the /webhooks/
every other channel gets. It answers only with the Rasa API token (zhiyin.settings.rasa_api_token,
the token of the HTTP API), as `Authorization: Bearer <token>` (Prometheus's
`authorization: credentials`) or `?token=`; else 401 with a JSON reason. nginx's public server
never proxies it (deploy/nginx/zhiyin.conf answers 404 for every path it does not list).

The turn hook: every channel (REST, socket.io, Telegram, Slack, voice) hands its messages to
`Agent.handle_message` (rasa.core.channels.channel.register), which takes the conversation's lock
and runs `MessageProcessor.handle_message`: NLU, then actions until the bot listens. Wrapping
`Agent.handle_message` in the class times the whole turn, lock wait included, for all channels
at once, and for every agent Rasa loads (a new model replaces the agent, not its class). The
fallback counter needs the turn's events, which Rasa does not return; the tracker they are
written to comes from `MessageProcessor.log_message` (called once at the start of the turn with
the customer's message), so that is wrapped too, and hands the tracker to the running turn
through a context variable. After the turn the events from the customer's message on tell the
kind of fallback (see `fallback_kind`), without reading the tracker store again.
`from_credentials` installs both wrappers, once per process; they change nothing Rasa does.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.agent import Agent
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.core.constants import ACTION_DEFAULT_FALLBACK_NAME
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from zhiyin import metrics
from zhiyin.http import json_error
from zhiyin.settings import rasa_api_token

logger = logging.getLogger(__name__)

UNAUTHORIZED = "需要 Rasa API 令牌 / the Rasa API token is required: Authorization: Bearer <token> or ?token="
# config.yml: RulePolicy's core_fallback_action_name; Rasa's own default where none is set.
FALLBACK_ACTIONS = frozenset({"action_fallback", ACTION_DEFAULT_FALLBACK_NAME})
HOOKED = "__zhiyin_metrics__"


# ---- the turn hook --------------------------------------------------------------------------


@dataclass
class Turn:
    """What the hook learns during one turn: the conversation and the customer's message in it."""

    tracker: Optional[DialogueStateTracker] = None
    message: Optional[UserUttered] = None

    def events(self) -> List[Event]:
        """The turn's events, the customer's message first ([] if it was never logged)."""
        if self.tracker is None or self.message is None:
            return []
        later: List[Event] = []
        for event in reversed(self.tracker.events):
            if event is self.message:
                return [event, *reversed(later)]
            later.append(event)
        return []


_turn: ContextVar[Optional[Turn]] = ContextVar("zhiyin_metrics_turn", default=None)


def fallback_kind(events: List[Event]) -> Optional[str]:
    """The kind of fallback (zhiyin.metrics.FALLBACK_KINDS) in a turn's events, else None.

    - `nlu_fallback` as the customer's intent: `knowledge_base` when components/retrieval_gate.py
      decided it, else `nlu` (the FallbackClassifier). The gate runs before the FallbackClassifier
      and ranks `nlu_fallback` first with its own threshold as confidence; being below the
      classifier's threshold, that makes the classifier add a second `nlu_fallback` on top. Two
      in the ranking is the gate's mark; a message only the classifier rejected has one.
    - otherwise `core` when a fallback action ran (RulePolicy's core fallback: the intent was
      clear, the next step was not).
    """
    if not events or not isinstance(events[0], UserUttered):
        return None
    message = events[0]
    if message.intent_name == DEFAULT_NLU_FALLBACK_INTENT_NAME:
        ranking = message.parse_data.get("intent_ranking") or []
        fallbacks = sum(1 for intent in ranking if intent.get("name") == DEFAULT_NLU_FALLBACK_INTENT_NAME)
        return "knowledge_base" if fallbacks > 1 else "nlu"
    if any(isinstance(event, ActionExecuted) and event.action_name in FALLBACK_ACTIONS for event in events[1:]):
        return "core"
    return None


def record(message: UserMessage, seconds: float, turn: Turn, failed: bool) -> None:
    """The turn into zhiyin.metrics; a fault here is logged, never passed on to the customer's turn.

    The channel label is the channel's own name (`input_channel`): the channels set it, never
    the client (channels/rest.py pins Rasa's REST channel to "rest")."""
    try:
        metrics.record_turn(message.input_channel or "unknown", seconds, failed)
        kind = None if failed else fallback_kind(turn.events())
        if kind:
            metrics.record_fallback(kind)
    except Exception:
        logger.exception("turn metrics not recorded")


def timed_turns(handle_message: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """`Agent.handle_message` that times the turn and counts it, its failure and its fallback."""

    @functools.wraps(handle_message)
    async def handle(agent: Agent, message: UserMessage) -> Any:
        turn = Turn()
        token = _turn.set(turn)
        started = time.perf_counter()
        try:
            answers = await handle_message(agent, message)
        except Exception:
            record(message, time.perf_counter() - started, turn, failed=True)
            raise
        finally:
            _turn.reset(token)
        record(message, time.perf_counter() - started, turn, failed=False)
        return answers

    setattr(handle, HOOKED, True)
    return handle


def tracker_to_turn(log_message: Callable[..., Awaitable[DialogueStateTracker]]) -> Callable[..., Awaitable[Any]]:
    """`MessageProcessor.log_message` that hands the tracker and the customer's message to the
    running turn (outside a turn, e.g. the HTTP API's /conversations/<id>/messages, nothing)."""

    @functools.wraps(log_message)
    async def log(processor: MessageProcessor, message: UserMessage, *args: Any, **kwargs: Any) -> DialogueStateTracker:
        tracker = await log_message(processor, message, *args, **kwargs)
        turn = _turn.get()
        if turn is not None and turn.tracker is None and tracker.events and isinstance(tracker.events[-1], UserUttered):
            turn.tracker, turn.message = tracker, tracker.events[-1]
        return tracker

    setattr(log, HOOKED, True)
    return log


def install_turn_hook() -> None:
    """Wrap Rasa's Agent.handle_message and MessageProcessor.log_message (once per process)."""
    if getattr(Agent.handle_message, HOOKED, False):
        return
    Agent.handle_message = timed_turns(Agent.handle_message)
    MessageProcessor.log_message = tracker_to_turn(MessageProcessor.log_message)
    logger.debug("turn metrics on")


# ---- GET /metrics ---------------------------------------------------------------------------


def presented_token(request: Request) -> Optional[str]:
    """The token of a request: `Authorization: Bearer <token>`, else `?token=`."""
    scheme, _, credentials = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.args.get("token")


def authorized(request: Request, token: str) -> bool:
    presented = presented_token(request)
    return bool(token) and presented is not None and hmac.compare_digest(presented.encode(), token.encode())


class MetricsInput(InputChannel):
    """Registered as an input channel only to mount GET /metrics on the Rasa server."""

    def __init__(self, token: Optional[str] = None) -> None:
        self.token = token or rasa_api_token()

    @classmethod
    def name(cls) -> str:
        return "metrics"

    def url_prefix(self) -> str:
        return "/metrics"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> MetricsInput:
        """What Rasa calls for credentials.yml's entry: the route, and turns timed from now on."""
        install_turn_hook()
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("zhiyin_metrics", __name__)

        @bp.route("/", methods=["GET"], strict_slashes=False)
        async def scrape(request: Request) -> HTTPResponse:
            if not authorized(request, self.token):
                return json_error(401, UNAUTHORIZED, **{"WWW-Authenticate": 'Bearer realm="zhiyin metrics"'})
            # Off the event loop: the handoff gauge queries the database.
            body, content_type = await asyncio.get_running_loop().run_in_executor(
                None, metrics.exposition, request.headers.get("Accept")
            )
            return response.raw(body, content_type=content_type, headers={"Cache-Control": "no-store"})

        return bp
