"""Rasa's REST channel with request validation: bad requests get a 4xx and a JSON reason.

Rasa's own channel answers malformed JSON with an HTML error page and passes a missing
sender or a non-text message on to the dialogue. This subclass checks the body first; the
URL (/webhooks/rest/webhook) and the reply format are unchanged.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import replies
from zhiyin.http import json_error, sender_problem
from zhiyin.services import desk

logger = logging.getLogger(__name__)

# Far above any real chat message (the robustness tests send 5,000 characters).
MAX_MESSAGE_CHARS = 20_000


def request_problem(request: Request) -> Optional[tuple]:
    """(status, reason) if the webhook body is unusable, else None."""
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
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
    return None


class ValidatingRestInput(RestInput):
    """The `rest` channel, validating each webhook request before the dialogue sees it."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def validate(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            problem = request_problem(request)
            if problem is None:
                return None
            status, reason = problem
            logger.warning("rest webhook rejected (%s): %s", status, reason)
            return json_error(status, reason)

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
