"""A local stand-in for Slack's Web API (chat.postMessage) and Slack's request signing.

Records every message the bot posts; `signed` builds the headers Slack sends with each
Events API or interactivity request (https://api.slack.com/authentication/verifying-requests-from-slack).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.http import LocalServer

TOKEN = "xoxb-zhiyin-test-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class FakeSlackAPI(LocalServer):
    token: str = TOKEN
    posted: List[Dict[str, Any]] = field(default_factory=list)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def texts(self, channel: str) -> List[str]:
        return [message["text"] for message in self.posted if message.get("channel") == channel]

    async def _post_message(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        for key in ("blocks", "attachments"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        self.posted.append(params)
        ts = f"{time.time():.0f}.{next(self._ts):06d}"
        return web.json_response(
            {"ok": True, "channel": params.get("channel"), "ts": ts, "message": {"text": params.get("text"), "ts": ts}}
        )

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/chat.postMessage", self._post_message)


def signed(
    body: bytes, secret: str = SIGNING_SECRET, timestamp: Optional[int] = None, content_type: str = "application/json"
) -> Dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
    }


def message_event(event_id: str, user: str, text: str, channel: str = "D0ZHIYIN") -> bytes:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T0ZHIYIN",
            "api_app_id": "A0ZHIYIN",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"user_id": "U0BOT"}],
            "event": {
                "type": "message",
                "channel": channel,
                "channel_type": "im",
                "user": user,
                "text": text,
                "ts": f"{time.time():.6f}",
            },
        }
    ).encode()


def button_click(user: str, value: str, trigger_id: str, channel: str = "D0ZHIYIN") -> bytes:
    payload = {
        "type": "block_actions",
        "trigger_id": trigger_id,
        "user": {"id": user},
        "channel": {"id": channel},
        "message": {"ts": "1700000000.000100"},
        "actions": [
            {
                "type": "button",
                "value": value,
                "action_ts": f"{time.time():.6f}",
                "text": {"type": "plain_text", "text": "确认"},
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()
