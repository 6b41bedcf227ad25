"""Abuse limits of the public endpoints: how many messages one client address and one sender
may send per minute, in this process.

A token bucket per key: a key starts with `limit` tokens, each allowed request takes one, and
tokens come back at `limit` per `per_seconds`. So a client may send `limit` messages at once,
then one every `per_seconds / limit` seconds. The limiter remembers at most `max_keys` keys,
least recently used first out (a forgotten key starts again with a full bucket), so memory
stays bounded whatever the number of clients. Nothing in `allow` awaits, so on one event loop
a check and its update cannot interleave; a lock makes it safe from threads as well.

Limits are per process: with several Rasa servers behind a load balancer each counts its own.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

from zhiyin.services.tickets import mask_phones_in
from zhiyin.settings import rate_limits

logger = logging.getLogger(__name__)

MAX_KEYS = 10_000
WINDOW_SECONDS = 60.0


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


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused: which limit (`address` or `sender`) and when to try again."""

    limit: str
    retry_after_s: int


class ClientLimits:
    """The per-address and per-sender limits every public channel applies (settings.rate_limits()).

    One address limit across all channels (a client is the same client on REST and socket.io);
    senders are counted per channel, as the same id on two channels is two conversations.
    """

    def __init__(
        self,
        per_address: int,
        per_sender: int,
        per_seconds: float = WINDOW_SECONDS,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = RateLimiter(per_address, per_seconds, max_keys, clock)
        self.sender = RateLimiter(per_sender, per_seconds, max_keys, clock)

    @classmethod
    def from_settings(cls) -> ClientLimits:
        limits = rate_limits()
        return cls(limits["address"], limits["sender"])

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
    """The process's limits, made from the settings on first use, shared by every channel."""
    if "limits" not in _shared:
        _shared["limits"] = ClientLimits.from_settings()
    return _shared["limits"]
