"""A gateway in the Rasa server between Rasa and the action server.

Rasa 3.6 treats a custom action that cannot run (action server down, crashed or too slow)
as a silent no-op: it logs a traceback and the customer gets no answer at all. Pointing
Rasa's action endpoint at this gateway (endpoints.yml, ACTION_ENDPOINT_URL) makes such a
failure an ordinary action result instead: the customer gets `utter_action_failed`, an
apology, every channel alike, and the conversation goes on; so does a refused secret (401).
Everything else, including the action server's own 4xx (a form rejecting its execution),
passes through unchanged.

Only loopback clients may use it: it is Rasa calling itself, not a public API. A request
that came through a reverse proxy (a forwarding header) is refused too: to the server it
looks local, but Rasa never sends one. The gateway adds the action server's secret
(``X-Action-Secret``, zhiyin.settings.action_server_secret) to what it forwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from typing import Any, Awaitable, Callable, Dict, List, Optional

import aiohttp
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import replies
from zhiyin.http import json_error
from zhiyin.settings import action_server_secret

logger = logging.getLogger(__name__)

DEFAULT_ACTION_SERVER_URL = "http://127.0.0.1:5055/webhook"
DEFAULT_TIMEOUT_SECONDS = 30.0
APOLOGY = {"events": [], "responses": [{"response": "utter_action_failed"}]}
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
SECRET_HEADER = "X-Action-Secret"  # actions/server.py checks it
PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


def compile_action_result_check() -> None:
    """Check the action server's answers with a JSON schema validator built once.

    Rasa's RemoteAction checks every answer with `jsonschema.validate`, which builds a new
    validator and resolves the schema's references again on each call: about 14 ms of a 68 ms
    turn on 2 cores (tools/profile_turn.py). The schema never changes, so the same check is done
    by one validator made on first use; invalid answers still raise jsonschema's ValidationError
    with Rasa's hint. Installed when the gateway is mounted (every Rasa server zhiyin starts)."""
    if getattr(RemoteAction._validate_action_result, "compiled", False):
        return
    checker: List[Any] = []
    rasa_check = RemoteAction._validate_action_result

    def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
        if not checker:
            schema = self.action_response_format_spec()
            checker.append(validator_for(schema)(schema))
        try:
            checker[0].validate(result)
        except ValidationError:
            return rasa_check(self, result)  # raises, with Rasa's message
        return True

    validate_action_result.compiled = True  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = validate_action_result


class ActionGatewayInput(InputChannel):
    """Registered as an input channel only to mount its route on the Rasa server."""

    def __init__(self, action_server_url: str, timeout: float, secret: str) -> None:
        compile_action_result_check()
        self.action_server_url = action_server_url
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", SECRET_HEADER: secret}

    @classmethod
    def name(cls) -> str:
        return "actions"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> ActionGatewayInput:
        credentials = credentials or {}
        url = credentials.get("url") or os.environ.get("ACTION_SERVER_URL") or DEFAULT_ACTION_SERVER_URL
        return cls(url, float(credentials.get("timeout", DEFAULT_TIMEOUT_SECONDS)), action_server_secret())

    async def forward(self, body: bytes) -> HTTPResponse:
        """POST the action request to the action server; apologise if it cannot answer."""
        action = "unknown"
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(self.action_server_url, data=body, headers=self.headers) as reply,
            ):
                payload = await reply.read()
                if reply.status == 401:  # a configuration error, not an answer for Rasa
                    reason = (
                        "action server refused the secret (401): is ACTION_SERVER_SECRET the same for both servers?"
                    )
                elif reply.status < 500:
                    return response.raw(payload, status=reply.status, content_type="application/json")
                else:
                    reason = f"action server answered {reply.status}: {payload[:300]!r}"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            reason = f"action server unreachable at {self.action_server_url}: {error!r}"
        with contextlib.suppress(ValueError, AttributeError):
            action = json.loads(body).get("next_action", action)
        logger.error("custom action '%s' failed, the customer gets an apology: %s", action, reason)
        return response.json(APOLOGY)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        gateway = Blueprint("action_gateway", __name__)

        @gateway.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "action_server": self.action_server_url})

        @gateway.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if request.ip not in LOOPBACK or any(header in request.headers for header in PROXY_HEADERS):
                return json_error(403, replies.LOOPBACK_ONLY)
            return await self.forward(request.body)

        return gateway
