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


def delivery_key(request: Request) -> Optional[str]:
    """What identifies one delivery across Slack's retries."""
    if request.content_type == "application/json":
        body = request.json or {}
        return body.get("event_id")
    if request.content_type == "application/x-www-form-urlencoded":
        payload = json.loads(request.form.get("payload") or "{}")
        return payload.get("trigger_id") or (payload.get("actions") or [{}])[0].get("action_ts")
    return None


class SlackInput(RasaSlackInput):
    def __init__(
        self, slack_token: str, slack_signing_secret: str, api_url: Optional[str] = None, **kwargs: Any
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
        self.deliveries = Deliveries()

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
        return await super().process_message(request, on_new_message, text, sender_id, metadata)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack = super().blueprint(on_new_message)

        @slack.middleware("request")
        async def authenticate(request: Request) -> Optional[HTTPResponse]:
            if request.method == "POST" and not self.is_request_from_slack_authentic(request):
                logger.warning("Slack request with a missing or wrong signature from %s", request.ip)
                return json_error(401, replies.BAD_SIGNATURE)
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
