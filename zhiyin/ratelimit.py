"""Abuse limits of the public endpoints: how many messages one client address and one sender
may send per minute, across every replica of the Rasa server.

A token bucket per key: a key starts with `limit` tokens, each allowed request takes one, and
tokens come back at `limit` per `per_seconds`. So a client may send `limit` messages at once,
then one every `per_seconds / limit` seconds.

Where the buckets live is a strategy with one interface (`allow`, `retry_after`):

- `RateLimiter`, in this process (no ``REDIS_URL``: one replica, `make run`, the tests). It
  remembers at most `max_keys` keys, least recently used first out (a forgotten key starts
  again with a full bucket), so memory stays bounded whatever the number of clients. Nothing
  in `allow` awaits, so on one event loop a check and its update cannot interleave; a lock
  makes it safe from threads as well.
- `RedisRateLimiter`, in the Redis the replicas share (``REDIS_URL`` set; several replicas
  behind nginx, Kubernetes): a client spread over N replicas still gets one budget, not N.
  Each check is one Lua script, atomic on the server, on a hash ``zhiyin:rl:address:<address>``
  or ``zhiyin:rl:sender:<channel>:<sender>`` (tokens and the time they were counted, by Redis'
  own clock, so replicas' clocks need not agree) that expires once its bucket would be full
  again (`per_seconds`), so Redis holds only the clients of the last minute. If Redis fails,
  requests are allowed (see `RedisRateLimiter`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Protocol, Tuple

from zhiyin.http import REDIS_KEY_PREFIX, SharedRedis
from zhiyin.services.tickets import mask_phones_in
from zhiyin.settings import rate_limits, redis_url

logger = logging.getLogger(__name__)

MAX_KEYS = 10_000
WINDOW_SECONDS = 60.0
RATE_LIMIT_PREFIX = f"{REDIS_KEY_PREFIX}rl:"

# The token bucket of RateLimiter, in Redis. KEYS: the bucket (a hash: tokens, ms). ARGV: limit,
# window (ms), 1 to count a request or 0 only to look. Returns {allowed (1/0), tokens left}, the
# tokens as text (Redis would truncate a Lua number to an integer).
TOKEN_BUCKET = """
local limit = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'ms')
local tokens = tonumber(bucket[1]) or limit
local since = tonumber(bucket[2]) or now_ms
tokens = math.min(limit, tokens + math.max(0, now_ms - since) * limit / window_ms)
local allowed = 0
if tokens >= 1 then
  allowed = 1
end
if ARGV[3] == '1' then
  tokens = tokens - allowed
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ms', tostring(now_ms))
  redis.call('PEXPIRE', KEYS[1], window_ms)
end
return {allowed, tostring(tokens)}
"""


class Limiter(Protocol):
    """What ClientLimits needs of a limiter, wherever its buckets live."""

    limit: int

    def allow(self, key: str) -> bool: ...

    def retry_after(self, key: str) -> int: ...


class RateLimiter:
    """At most `limit` requests per `per_seconds` for each key (token bucket); `limit` 0 or
    less: no limit."""

    def __init__(
        self,
        limit: int,
        per_seconds: float = WINDOW_SECONDS,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = int(limit)
        self.per_seconds = float(per_seconds)
        self.max_keys = max(1, int(max_keys))
        self.clock = clock
        self._buckets: OrderedDict[str, Tuple[float, float]] = OrderedDict()  # key -> (tokens, when)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> float:
        tokens, when = self._buckets.get(key, (float(self.limit), now))
        return min(float(self.limit), tokens + (now - when) * self.limit / self.per_seconds)

    def allow(self, key: str) -> bool:
        """Whether a request under `key` may go ahead now (and count it if so)."""
        if self.limit <= 0:
            return True
        with self._lock:
            now = self.clock()
            tokens = self._tokens(key, now)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return allowed

    def retry_after(self, key: str) -> int:
        """Whole seconds until a request under `key` would be allowed again (0: now)."""
        if self.limit <= 0:
            return 0
        with self._lock:
            missing = 1.0 - self._tokens(key, self.clock())
        return max(0, math.ceil(missing * self.per_seconds / self.limit))


class RedisRateLimiter:
    """RateLimiter's token buckets in Redis, shared by every replica that uses the same Redis
    and `name` (keys ``zhiyin:rl:<name>:<key>``); `limit` 0 or less: no limit, Redis untouched.

    Redis unreachable or slow (over SharedRedis' 0.5 s): the request is allowed (fail open) and
    a warning logged at most every 30 s. These limits stop abuse; refusing every customer
    because Redis blinked would be worse than a minute without limits, and the socket timeouts
    keep a dead Redis from holding requests up.
    """

    def __init__(self, redis: SharedRedis, name: str, limit: int, per_seconds: float = WINDOW_SECONDS) -> None:
        self.redis = redis
        self.name = name
        self.limit = int(limit)
        self.per_seconds = float(per_seconds)
        self.window_ms = max(1, math.ceil(self.per_seconds * 1000))
        self._script = redis.client.register_script(TOKEN_BUCKET)

    def key(self, key: str) -> str:
        return f"{RATE_LIMIT_PREFIX}{self.name}:{key}"

    def _tokens(self, key: str, take: bool) -> Tuple[bool, float]:
        """(allowed, tokens left) of `key`'s bucket, counting a request when `take`."""
        allowed, tokens = self._script(keys=[self.key(key)], args=[self.limit, self.window_ms, int(take)])
        return bool(allowed), float(tokens)

    def allow(self, key: str) -> bool:
        """Whether a request under `key` may go ahead now (and count it if so)."""
        if self.limit <= 0:
            return True
        return self.redis.call(lambda client: self._tokens(key, take=True)[0], lambda: True)

    def retry_after(self, key: str) -> int:
        """Whole seconds until a request under `key` would be allowed again (0: now)."""
        if self.limit <= 0:
            return 0
        missing = self.redis.call(lambda client: 1.0 - self._tokens(key, take=False)[1], lambda: 0.0)
        return max(0, math.ceil(missing * self.per_seconds / self.limit))


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused: which limit (`address` or `sender`) and when to try again."""

    limit: str
    retry_after_s: int


class ClientLimits:
    """The per-address and per-sender limits every public channel applies (settings.rate_limits()).

    One address limit across all channels (a client is the same client on REST and socket.io);
    senders are counted per channel, as the same id on two channels is two conversations.
    With `redis_url` the buckets are in that Redis, shared with every replica using it
    (`max_keys` and `clock` then do not apply: keys expire, and Redis keeps the time); without,
    in this process.
    """

    def __init__(
        self,
        per_address: int,
        per_sender: int,
        per_seconds: float = WINDOW_SECONDS,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
        redis_url: Optional[str] = None,
    ) -> None:
        self.address: Limiter
        self.sender: Limiter
        if redis_url:
            shared = SharedRedis(redis_url, "rate limits", "every request is allowed")
            self.address = RedisRateLimiter(shared, "address", per_address, per_seconds)
            self.sender = RedisRateLimiter(shared, "sender", per_sender, per_seconds)
        else:
            self.address = RateLimiter(per_address, per_seconds, max_keys, clock)
            self.sender = RateLimiter(per_sender, per_seconds, max_keys, clock)

    @classmethod
    def from_settings(cls) -> ClientLimits:
        """The limits of settings.rate_limits(), in the Redis of settings.redis_url() if set."""
        limits = rate_limits()
        return cls(limits["address"], limits["sender"], redis_url=redis_url())

    def check(self, channel: str, address: Optional[str], sender: Optional[str] = None) -> Optional[Refusal]:
        """None if the request may go ahead, else the limit it ran into (and it is logged).

        `address` None: a platform webhook (Telegram, Slack), where the address is the platform's;
        `sender` None: no conversation yet (a socket.io connection)."""
        refusal = None
        if address is not None and not self.address.allow(address):
            refusal = Refusal("address", self.address.retry_after(address))
        elif sender is not None and not self.sender.allow(f"{channel}:{sender}"):
            refusal = Refusal("sender", self.sender.retry_after(f"{channel}:{sender}"))
        if refusal is not None:
            logger.warning(
                "%s: rate limit per %s reached, request refused (sender %s, address %s, retry after %ss)",
                channel,
                refusal.limit,
                mask_phones_in(str(sender)) if sender is not None else "-",
                address or "-",
                refusal.retry_after_s,
            )
        return refusal


_shared: Dict[str, ClientLimits] = {}


def shared_limits() -> ClientLimits:
    """The process's limits, made from the settings on first use, shared by every channel (and,
    with ``REDIS_URL``, by every replica)."""
    if "limits" not in _shared:
        _shared["limits"] = ClientLimits.from_settings()
    return _shared["limits"]
