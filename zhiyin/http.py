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
from typing import Any, Dict, Hashable, List, NamedTuple, Optional

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

MAX_SENDER_CHARS = 128
SENDER_MISSING = "缺少 sender（会话标识） / 'sender' is required"
SENDER_TOO_LONG = f"sender 过长（最多 {MAX_SENDER_CHARS} 字符） / 'sender' is too long"
TOO_MANY_REQUESTS = "发送太频繁，请稍后再试 / too many requests, retry after {retry_after_s}s"
# Metadata is stored with every message of the conversation: small and flat enough to keep.
MAX_METADATA_CHARS = 8192
MAX_METADATA_DEPTH = 16
METADATA_NOT_OBJECT = "metadata 必须是 JSON 对象 / 'metadata' must be a JSON object"
METADATA_TOO_LARGE = (
    f"metadata 过大（最多 {MAX_METADATA_CHARS} 字符、{MAX_METADATA_DEPTH} 层） / 'metadata' is too large or too deep"
)


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


def too_many_requests(retry_after_s: int) -> HTTPResponse:
    """429 with a JSON reason and Retry-After, for a client over its rate limit (zhiyin.ratelimit)."""
    retry_after_s = max(1, int(retry_after_s))
    return json_error(429, TOO_MANY_REQUESTS.format(retry_after_s=retry_after_s), **{"Retry-After": str(retry_after_s)})


def client_address(request: Request) -> str:
    """The client's address as this server derives it, never from the body: the address the
    trusted proxies report (Sanic's PROXIES_COUNT, set from FORWARDED_PROXIES), else the peer
    of the connection."""
    return request.remote_addr or request.ip or "unknown"


def metadata_problem(metadata: Any) -> Optional[str]:
    """Why a message's metadata cannot be stored with it (not an object, too large or too deep),
    or None if it can."""
    if not isinstance(metadata, dict):
        return METADATA_NOT_OBJECT
    pending: List[Any] = [metadata]
    depth = 0
    while pending:  # breadth first, so a deep structure costs no recursion
        depth += 1
        if depth > MAX_METADATA_DEPTH:
            return METADATA_TOO_LARGE
        children = [v for c in pending for v in (c.values() if isinstance(c, dict) else c)]
        pending = [child for child in children if isinstance(child, (dict, list))]
    if len(json.dumps(metadata, ensure_ascii=False, default=str)) > MAX_METADATA_CHARS:
        return METADATA_TOO_LARGE
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
