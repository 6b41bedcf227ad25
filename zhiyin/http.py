"""HTTP and JSON helpers: the answers zhiyin's channels share, and a small client for its own servers.

Server side (Sanic, inside the Rasa server): one error format, one rule for a valid sender,
retry de-duplication (shared by the replicas through Redis when ``REDIS_URL`` is set, see
`SharedRedis`). Client side: one POST helper for the scripts, benchmarks and tests that talk to
a running zhiyin on 127.0.0.1.

Every key zhiyin keeps in Redis starts with ``zhiyin:`` (`REDIS_KEY_PREFIX`), so it can share
a Redis (and a database number) with other programs: ``zhiyin:delivery:<channel>:<id>`` here,
``zhiyin:rl:...`` for the rate limits (zhiyin.ratelimit), ``zhiyin:lock:...`` for the
conversation locks (channels/lock_store.py).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from typing import Any, Callable, Dict, Hashable, List, NamedTuple, Optional, TypeVar

import redis
from redis.exceptions import RedisError
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from zhiyin.settings import redis_url

logger = logging.getLogger(__name__)

T = TypeVar("T")

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


REDIS_KEY_PREFIX = "zhiyin:"
# A check on the request path waits at most this long for Redis (connecting or answering).
REDIS_TIMEOUT_S = 0.5
# After an error, Redis is left alone this long: requests take the fallback at once.
REDIS_PAUSE_S = 5.0
# At most one warning per SharedRedis this often while Redis keeps failing.
REDIS_WARN_EVERY_S = 30.0
# Telegram retries for up to a day, Slack within minutes: a delivery id is remembered a day.
DELIVERY_TTL_S = 24 * 3600


class SharedRedis:
    """The Redis that the replicas share, for the small checks made on a request's path (rate
    limits, delivery de-duplication), each with an in-process fallback.

    The sync client, because the checks are sync (one short round trip, no await between a check
    and its update); with `REDIS_TIMEOUT_S` timeouts so a slow or unreachable Redis cannot hold a
    request (and, as the call blocks, the event loop) for long. On a `RedisError` the caller's
    fallback answers, Redis is not asked again for `REDIS_PAUSE_S` (so not every request waits
    for a timeout), and a warning is logged at most every `REDIS_WARN_EVERY_S`: a Redis outage
    degrades to one replica's behaviour instead of failing customers' requests.
    """

    def __init__(self, url: str, what: str, meanwhile: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)
        self.what = what  # for the log: what is shared, e.g. "rate limits"
        self.meanwhile = meanwhile  # for the log: what happens while Redis fails
        self.clock = clock
        self._paused_until = float("-inf")
        self._warned_at = float("-inf")
        self._failing = False

    def call(self, command: Callable[[redis.Redis], T], fallback: Callable[[], T]) -> T:
        """command(client), or fallback() while Redis fails (see the class)."""
        if self.clock() < self._paused_until:
            return fallback()
        try:
            result = command(self.client)
        except RedisError as error:
            self._failed(error)
            return fallback()
        if self._failing:
            self._failing = False
            logger.info("Redis answers again: %s shared across replicas", self.what)
        return result

    def _failed(self, error: RedisError) -> None:
        now = self.clock()
        self._paused_until = now + REDIS_PAUSE_S
        self._failing = True
        if now - self._warned_at >= REDIS_WARN_EVERY_S:
            self._warned_at = now
            logger.warning(
                "Redis unreachable for the %s (%s: %s): %s; trying again in %ss",
                self.what,
                type(error).__name__,
                error,
                self.meanwhile,
                REDIS_PAUSE_S,
            )


class Deliveries:
    """The delivery ids a webhook accepted, so a platform's retry is not answered twice.

    In this process: the last `size` ids. With a Redis URL also across replicas (a retry may
    reach another one): ``SET zhiyin:delivery:<namespace>:<id> 1 NX EX <ttl_s>`` decides, the
    `namespace` (the channel) keeping Telegram's and Slack's ids apart. If Redis fails, this
    process's memory decides: a retry on another replica may then be answered twice, which is
    better than answering no one.
    """

    def __init__(
        self, namespace: str, size: int = 1000, redis_url: Optional[str] = None, ttl_s: int = DELIVERY_TTL_S
    ) -> None:
        self.namespace = namespace
        self.size = size
        self.ttl_s = ttl_s
        self._seen: OrderedDict[Hashable, None] = OrderedDict()
        self.redis = (
            SharedRedis(redis_url, f"{namespace} deliveries", "retries are recognised per replica only")
            if redis_url
            else None
        )

    @classmethod
    def from_settings(cls, namespace: str) -> Deliveries:
        """Shared through ``REDIS_URL`` when it is set, else in this process."""
        return cls(namespace, redis_url=redis_url())

    def key(self, delivery: Hashable) -> str:
        return f"{REDIS_KEY_PREFIX}delivery:{self.namespace}:{delivery}"

    def first_time(self, key: Optional[Hashable]) -> bool:
        """True the first time `key` is seen (and for deliveries without an id)."""
        if key is None:
            return True
        if key in self._seen:  # accepted here before: no need to ask Redis
            return False
        self._seen[key] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        if self.redis is None:
            return True
        shared_key = self.key(key)
        return self.redis.call(lambda client: bool(client.set(shared_key, 1, nx=True, ex=self.ttl_s)), lambda: True)


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
