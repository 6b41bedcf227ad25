"""Slack: text and buttons, signed requests only, and never the same answer twice.

Rasa's Slack channel answers a bad signature with 400 and only ignores retries whose reason
is `http_timeout`, so a retry for any other reason is answered again (RasaHQ/rasa#3882).
This subclass answers a missing or wrong signature with 401 and a JSON reason, and drops any
delivery it has already accepted: Slack retries carry the same `event_id` (Events API) or
`trigger_id` (button clicks), whatever the retry reason. The Web API base URL is a setting,
so tests run against a fake server on 127.0.0.1.

Settings (credentials.yml or environment): slack_token / SLACK_TOKEN (xoxb-...),
slack_signing_secret / SLACK_SIGNING_SECRET, api_url / SLACK_API_URL. Without token and
secret the channel is off and says so in the log.

A user over the rate limit (zhiyin.ratelimit, per user: the address is Slack's) is acknowledged
and not answered, and told once a minute to slow down; an error status would only make Slack
retry the delivery.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.slack import SlackBot
from rasa.core.channels.slack import SlackInput as RasaSlackInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.web.async_client import AsyncWebClient

from channels import replies
from zhiyin.http import Deliveries, json_error
from zhiyin.ratelimit import ClientLimits, RateLimiter, shared_limits
from zhiyin.settings import settings_from

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
SETTINGS_ENV = {
    "slack_token": "SLACK_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "api_url": "SLACK_API_URL",
}


class ZhiyinSlackBot(SlackBot):
    """Rasa's Slack output (text, blocks with buttons) against a chosen Web API base URL."""

    def __init__(
        self, token: str, api_url: str, slack_channel: Optional[str] = None, thread_id: Optional[str] = None
    ) -> None:
        super().__init__(token, slack_channel, thread_id)
        self.client = AsyncWebClient(token, base_url=api_url)


EVENT_TEXT_FIELDS = ("type", "text", "user", "channel", "channel_type", "ts", "thread_ts")


def malformed(channel: RasaSlackInput, request: Request) -> Optional[str]:
    """Why a signed request has a shape Rasa's Slack handler would fail on (it reads the body
    without checks: a list, an event that is no object, text that is no string end in a 500),
    or None. A form payload without a supported interactive action is malformed too (Rasa
    answers it with 500, which Slack would retry)."""
    try:
        if request.content_type == "application/json":
            body = request.json
            if not isinstance(body, dict):
                return "body is not an object"
            event = body.get("event", {})
            if not isinstance(event, dict):
                return "event is not an object"
            if any(key in event and not isinstance(event[key], str) for key in EVENT_TEXT_FIELDS):
                return "event field is not text"
            channel.get_metadata(request)  # reads authorizations / authed_users
        elif request.content_type == "application/x-www-form-urlencoded":
            payload = json.loads(request.form.get("payload") or "")
            if not isinstance(payload, dict):
                return "payload is not an object"
            if not channel._is_interactive_message(payload):
                return "no supported interactive action"
            value = channel._get_interactive_response(payload["actions"][0])
            if not isinstance(payload["user"]["id"], str) or not isinstance(value, (str, type(None))):
                return "user id or action value is not text"
            channel.get_metadata(request)
    except (AttributeError, KeyError, TypeError, IndexError, ValueError, RecursionError) as error:
        return repr(error)
    return None


def delivery_key(request: Request) -> Optional[str]:
    """What identifies one delivery across Slack's retries."""
    key = None
    if request.content_type == "application/json":
        body = request.json or {}
        key = body.get("event_id")
    elif request.content_type == "application/x-www-form-urlencoded":
        payload = json.loads(request.form.get("payload") or "{}")
        key = payload.get("trigger_id") or (payload.get("actions") or [{}])[0].get("action_ts")
    return key if isinstance(key, str) else None  # Slack's ids are text; anything else is not one


class SlackInput(RasaSlackInput):
    def __init__(
        self,
        slack_token: str,
        slack_signing_secret: str,
        api_url: Optional[str] = None,
        limits: Optional[ClientLimits] = None,
        **kwargs: Any,
    ) -> None:
        # Rasa's own retry filter (timeouts only) is disabled by pointing it at a header Slack
        # never sends; process_message de-duplicates every retry instead.
        super().__init__(
            slack_token,
            slack_signing_secret=slack_signing_secret,
            slack_retry_reason_header="X-Slack-Retry-Reason",
            slack_retry_number_header="X-Zhiyin-Unused",
            **kwargs,
        )
        self.api_url = api_url or DEFAULT_API_URL
        self.deliveries = Deliveries.from_settings("slack")
        self.limits = limits or shared_limits()
        self.slow_down_notices = RateLimiter(1)  # one "please slow down" per user and minute

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        settings = settings_from(credentials, SETTINGS_ENV)
        if not (settings["slack_token"] and settings["slack_signing_secret"]):
            logger.info("Slack channel off: set SLACK_TOKEN and SLACK_SIGNING_SECRET to enable it")
            return SlackOff()
        return cls(
            settings["slack_token"],
            settings["slack_signing_secret"],
            settings["api_url"],
            use_threads=bool((credentials or {}).get("use_threads")),
        )

    def get_output_channel(self, channel: Optional[str] = None, thread_id: Optional[str] = None) -> ZhiyinSlackBot:
        return ZhiyinSlackBot(self.slack_token, self.api_url, channel or self.slack_channel, thread_id)

    async def process_message(
        self,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        text: str,
        sender_id: Optional[str],
        metadata: Optional[Dict],
    ) -> Any:
        key = delivery_key(request)
        if not self.deliveries.first_time(key):
            logger.info(
                "Slack delivery %s already accepted (retry %s, %s): not answered again",
                key,
                request.headers.get("X-Slack-Retry-Num"),
                request.headers.get("X-Slack-Retry-Reason"),
            )
            return response.text("", headers={"X-Slack-No-Retry": "1"})
        if self.limits.check(self.name(), None, str(sender_id)):
            await self._slow_down(str(sender_id), metadata or {})
            return response.text("", headers={"X-Slack-No-Retry": "1"})
        return await super().process_message(request, on_new_message, text, sender_id, metadata)

    async def _slow_down(self, sender_id: str, metadata: Dict[str, Any]) -> None:
        """Tell a user over the rate limit to slow down, where they wrote, at most once a minute."""
        if not self.slow_down_notices.allow(sender_id):
            return
        thread_id = metadata.get("thread_id") if self.use_threads else None
        try:
            await self.get_output_channel(metadata.get("out_channel"), thread_id).send_text_message(
                sender_id, replies.TOO_FAST
            )
        except Exception as error:  # slack_sdk raises its own errors
            logger.warning("Slack rate-limit notice to %s failed: %r", sender_id, error)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack = super().blueprint(on_new_message)

        @slack.middleware("request")
        async def authenticate(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            if not self.is_request_from_slack_authentic(request):
                logger.warning("Slack request with a missing or wrong signature from %s", request.ip)
                return json_error(401, replies.BAD_SIGNATURE)
            problem = malformed(self, request)
            if problem:
                logger.warning("malformed Slack request refused: %s", problem)
                return json_error(400, replies.MALFORMED_SLACK.format(error=problem))
            return None

        return slack


class SlackOff(InputChannel):
    """Stands in for Slack when it is not configured: says so instead of failing start-up."""

    @classmethod
    def name(cls) -> str:
        return "slack"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack = Blueprint("slack_off", __name__)

        @slack.route("/webhook", methods=["POST"])
        async def off(_: Request) -> HTTPResponse:
            return json_error(503, replies.SLACK_OFF)

        return slack
