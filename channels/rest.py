"""Rasa's REST channel with request validation: bad requests get a 4xx and a JSON reason.

Rasa's own channel answers malformed JSON with an HTML error page and passes a missing
sender or a non-text message on to the dialogue. This subclass counts every request against
its client address's rate limit, checks the body, then the sender's limit (429 with
Retry-After beyond either, zhiyin.ratelimit); the URL (/webhooks/rest/webhook) and the reply
format are unchanged.
The body's `metadata` object reaches the dialogue as the message's metadata (a shop's site
sends `{"customer_token": "..."}` there), with `client_address` set by the server.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import replies
from zhiyin.http import client_address, json_error, metadata_problem, sender_problem, too_many_requests
from zhiyin.ratelimit import ClientLimits, shared_limits
from zhiyin.services import desk

logger = logging.getLogger(__name__)

# Far above any real chat message (the robustness tests send 5,000 characters).
MAX_MESSAGE_CHARS = 20_000


def request_problem(request: Request) -> Optional[tuple]:
    """(status, reason) if the webhook body is unusable, else None."""
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return 400, replies.NOT_JSON
    if not isinstance(body, dict):
        return 400, replies.NOT_AN_OBJECT
    sender, message = body.get("sender"), body.get("message")
    reason = sender_problem(sender)
    if reason:
        return 400, reason
    if not isinstance(message, str):
        return 400, replies.MESSAGE_NOT_TEXT
    if len(message) > MAX_MESSAGE_CHARS:
        return 413, replies.MESSAGE_TOO_LONG.format(max_chars=MAX_MESSAGE_CHARS)
    if body.get("metadata") is not None and metadata_problem(body["metadata"]):
        return 400, metadata_problem(body["metadata"])
    return None


class ValidatingRestInput(RestInput):
    """The `rest` channel, validating each webhook request before the dialogue sees it."""

    def __init__(self, limits: Optional[ClientLimits] = None) -> None:
        self.limits = limits or shared_limits()

    def get_metadata(self, request: Request) -> Optional[Dict[str, Any]]:
        """The body's metadata, with the client's address as the server sees it (overriding any
        `client_address` the client sent): the actions limit order-number guessing by it."""
        metadata = dict(super().get_metadata(request) or {})
        metadata["client_address"] = client_address(request)
        return metadata

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def validate(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            # Every request counts against its address, a bad one too; the sender's limit once
            # the body is known to be good.
            refusal = self.limits.check(self.name(), client_address(request))
            if refusal:
                return too_many_requests(refusal.retry_after_s)
            problem = request_problem(request)
            if problem is not None:
                status, reason = problem
                logger.warning("rest webhook rejected (%s): %s", status, reason)
                return json_error(status, reason)
            refusal = self.limits.check(self.name(), None, str(request.json["sender"]))
            return too_many_requests(refusal.retry_after_s) if refusal else None

        @blueprint.listener("before_server_start")
        async def apply_server_settings(app: Any, _loop: Any) -> None:
            """Rasa sets RESPONSE_TIMEOUT (--response-timeout, default an hour) and
            KEEP_ALIVE_TIMEOUT (120 s) on its app after Sanic read the SANIC_ environment;
            read it again so the limits zhiyin.serve sets there win."""
            app.config.load_environment_vars()

        @blueprint.middleware("response")
        async def add_desk_messages(request: Request, answer: HTTPResponse) -> Optional[HTTPResponse]:
            """Messages a person on the desk wrote since the customer's last call come first:
            REST clients cannot be pushed to."""
            if request.method != "POST" or not request.path.endswith("/webhook") or answer.status != 200:
                return None
            if answer.body is None or "json" not in (answer.content_type or ""):  # ?stream=true
                return None
            sender = str(json.loads(request.body)["sender"])
            pending = desk.take_undelivered(self.name(), sender)
            if not pending:
                return None
            return response.json([*pending, *json.loads(answer.body or b"[]")])

        return blueprint

    @classmethod
    def name(cls) -> str:
        return "rest"

    def _extract_input_channel(self, request: Request) -> str:
        """Always "rest": Rasa would take the body's `input_channel`, letting a REST client pose
        as Telegram or Slack in the conversation (and its order verifications) of that id."""
        return self.name()
