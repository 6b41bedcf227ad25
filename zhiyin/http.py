"""HTTP and JSON helpers: the answers zhiyin's channels share, and a small client for its own servers.

Server side (Sanic, inside the Rasa server): one error format, one rule for a valid sender,
retry de-duplication. Client side: one POST helper for the scripts, benchmarks and tests that
talk to a running zhiyin on 127.0.0.1.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import OrderedDict
from typing import Any, Dict, Hashable, NamedTuple, Optional

from sanic import response
from sanic.response import HTTPResponse

MAX_SENDER_CHARS = 128
SENDER_MISSING = "缺少 sender（会话标识） / 'sender' is required"
SENDER_TOO_LONG = f"sender 过长（最多 {MAX_SENDER_CHARS} 字符） / 'sender' is too long"


def json_error(status: int, reason: str, **headers: str) -> HTTPResponse:
    """A 4xx/5xx answer with a JSON reason (Chinese for the customer / English for developers)."""
    return response.json({"error": reason, "status": status}, status=status, headers=headers or None)


def sender_problem(sender: Any) -> Optional[str]:
    """Why a sender id cannot identify a conversation, or None if it can."""
    if not isinstance(sender, (str, int)) or isinstance(sender, bool) or not str(sender).strip():
        return SENDER_MISSING
    if len(str(sender)) > MAX_SENDER_CHARS:
        return SENDER_TOO_LONG
    return None


class Deliveries:
    """The last `size` delivery ids a webhook accepted, so a platform's retry is not answered twice."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._seen: OrderedDict[Hashable, None] = OrderedDict()

    def first_time(self, key: Optional[Hashable]) -> bool:
        """True the first time `key` is seen (and for deliveries without an id)."""
        if key is None:
            return True
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True


class Reply(NamedTuple):
    status: int
    body: Any  # parsed JSON, or the text when the answer is not JSON
    headers: Dict[str, str]


def http_post(url: str, body: bytes, headers: Optional[Dict[str, str]] = None, timeout: float = 120) -> Reply:
    """POST to a server on 127.0.0.1 the way a client would; error statuses are replies too."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            raw, status, answer_headers = answer.read(), answer.status, dict(answer.headers)
    except urllib.error.HTTPError as error:
        raw, status, answer_headers = error.read(), error.code, dict(error.headers)
    try:
        return Reply(status, json.loads(raw), answer_headers)
    except ValueError:
        return Reply(status, raw.decode(errors="replace"), answer_headers)
