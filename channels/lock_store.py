"""One conversation, one turn at a time, across every Rasa replica.

Rasa handles a message inside its lock store's lock for the conversation: load the tracker,
predict, run actions, save. Two messages of one conversation handled at once on two replicas
both load the same tracker, and the second save skips as many of its events as the first one
added (SQLTrackerStore appends "the events beyond the stored count"): a customer's message and
the bot's answers to it are lost or interleaved. Rasa's in-memory lock store only serialises
within one process; its RedisLockStore reads, changes and writes back a JSON ticket list with
no atomicity, so two replicas can take the same ticket at once (RasaHQ/rasa#11256, #9213), and
a waiter polls once a second.

This lock store keeps a fair ticket lock per conversation in Redis, each step one Lua script
(atomic on the server):

- `take`: INCR the conversation's sequence (the ticket, a fencing token that only grows), add
  it to the queue (a sorted set by ticket) with a lease deadline (a second sorted set);
- `poll`: drop tickets whose lease ran out (a replica that died holding or waiting), then the
  lowest ticket holds the lock; a waiter renews its own short lease; the holder gets the turn
  lease;
- `renew`: while a turn runs, its lease is renewed every third of the lease, so a long turn
  (a voice message, a slow action) keeps the lock and a killed replica's lock frees itself
  after at most one lease (``LOCK_LEASE_SECONDS``, default 10);
- `release`: remove the ticket; the keys expire when the queue is empty.

Redis time is used throughout (no clock skew between replicas). Waiters poll every few
milliseconds, so a waiting turn starts right after the one before it ends.

endpoints.yml: ``lock_store: type: channels.lock_store.ConversationLockStore`` with
``url: ${REDIS_URL}``. With no URL (one replica, `make run`) the lock is an asyncio lock per
conversation in this process, also fair and without the 1 s polling. If Redis cannot be
reached during a turn, the turn runs under the process lock and the error is logged: one
replica stays correct, and the customer is answered instead of getting an error.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import defaultdict
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, DefaultDict, Dict, List, Optional

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis import asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

KEY_PREFIX = "zhiyin:lock:"
POLL_SECONDS = 0.005
MAX_POLL_SECONDS = 0.05
# A waiter that stops polling (its replica died) loses its place after this long.
WAITER_LEASE_MS = 5_000

# KEYS: sequence, queue, leases. ARGV: waiter lease (ms), key expiry (ms). Returns the ticket.
TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local ticket = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], ticket, ticket)
redis.call('ZADD', KEYS[3], now_ms + tonumber(ARGV[1]), ticket)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return ticket
"""

# KEYS: queue, leases. ARGV: ticket, waiter lease (ms), holder lease (ms), key expiry (ms).
# Returns 0 when the ticket holds the lock, n > 0 when n tickets are before it, -1 when its
# lease ran out (it lost its place).
POLL = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_ms)
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
end
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if not rank then
  return -1
end
local lease = ARGV[2]
if rank == 0 then
  lease = ARGV[3]
end
redis.call('ZADD', KEYS[2], now_ms + tonumber(lease), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return rank
"""

# KEYS: queue, leases. ARGV: ticket, holder lease (ms). Returns 1 while the ticket still holds
# the lock, 0 when it lost it.
RENEW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if rank ~= 0 then
  return 0
end
redis.call('ZADD', KEYS[2], now_ms + tonumber(ARGV[2]), ARGV[1])
return 1
"""

# KEYS: queue, leases. ARGV: ticket.
RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
end
return 1
"""


def lease_seconds() -> float:
    """How long a turn's lock outlives a replica that stopped renewing it (``LOCK_LEASE_SECONDS``)."""
    return float(os.environ.get("LOCK_LEASE_SECONDS") or 10)


class ConversationLockStore(LockStore):
    """Rasa's lock store: a fair per-conversation lock in Redis shared by all replicas, or in
    this process when no Redis URL is configured."""

    def __init__(
        self,
        endpoint_config: Optional[EndpointConfig] = None,
        url: Optional[str] = None,
        lease: Optional[float] = None,
        key_prefix: str = KEY_PREFIX,
    ) -> None:
        self.url = url if url is not None else (endpoint_config.url if endpoint_config is not None else None)
        self.url = self.url or None
        self.lease_ms = int((lease if lease is not None else lease_seconds()) * 1000)
        self.key_prefix = key_prefix
        self._redis: Optional[aioredis.Redis] = None
        self._scripts: Dict[str, Any] = {}
        self._local: DefaultDict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._local_users: DefaultDict[str, int] = defaultdict(int)

    @property
    def shared(self) -> bool:
        return self.url is not None

    def _client(self) -> aioredis.Redis:
        """The client, made in the running event loop on first use (its connections belong to it)."""
        if self._redis is None:
            assert self.url is not None
            self._redis = aioredis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
            self._scripts = {
                name: self._redis.register_script(source)
                for name, source in (("take", TAKE), ("poll", POLL), ("renew", RENEW), ("release", RELEASE))
            }
        return self._redis

    def _keys(self, conversation_id: str) -> Dict[str, str]:
        base = f"{self.key_prefix}{conversation_id}"
        return {"sequence": f"{base}:seq", "queue": f"{base}:queue", "leases": f"{base}:leases"}

    async def _run(self, script: str, keys: List[str], args: List[Any]) -> int:
        self._client()
        return int(await self._scripts[script](keys=keys, args=args))

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation's lock for the body of the `async with`. Waits at most
        `lock_lifetime` seconds for the turns before this one (LockError after that)."""
        if not self.shared:
            async with self._local_lock(conversation_id):
                yield TicketLock(conversation_id)
            return
        try:
            ticket = await self._acquire(conversation_id, lock_lifetime)
        except RedisError as error:
            logger.error(
                "Redis lock store unreachable (%s): conversation %s handled under this replica's lock only",
                error,
                conversation_id,
            )
            async with self._local_lock(conversation_id):
                yield TicketLock(conversation_id)
            return
        renewal = asyncio.create_task(self._keep(conversation_id, ticket))
        try:
            yield TicketLock(conversation_id)
        finally:
            renewal.cancel()
            await self._release(conversation_id, ticket)

    @asynccontextmanager
    async def _local_lock(self, conversation_id: str) -> AsyncGenerator[None, None]:
        # asyncio.Lock wakes its waiters in the order they came; the lock is forgotten when no
        # turn of the conversation holds or waits for it, so memory follows the live turns.
        self._local_users[conversation_id] += 1
        try:
            async with self._local[conversation_id]:
                yield
        finally:
            self._local_users[conversation_id] -= 1
            if self._local_users[conversation_id] == 0:
                del self._local_users[conversation_id]
                self._local.pop(conversation_id, None)

    async def _acquire(self, conversation_id: str, wait_seconds: float) -> int:
        keys = self._keys(conversation_id)
        expiry_ms = max(self.lease_ms, WAITER_LEASE_MS) * 3
        ticket = await self._run(
            "take", [keys["sequence"], keys["queue"], keys["leases"]], [WAITER_LEASE_MS, expiry_ms]
        )
        deadline = time.monotonic() + wait_seconds
        pause = POLL_SECONDS
        while True:
            before = await self._run(
                "poll", [keys["queue"], keys["leases"]], [ticket, WAITER_LEASE_MS, self.lease_ms, expiry_ms]
            )
            if before == 0:
                logger.debug("conversation %s: lock taken with ticket %s", conversation_id, ticket)
                return ticket
            if before < 0 or time.monotonic() > deadline:
                await self._release(conversation_id, ticket)
                raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_POLL_SECONDS)

    async def _keep(self, conversation_id: str, ticket: int) -> None:
        """Renew the holder's lease until cancelled; log if the lock was lost meanwhile."""
        keys = self._keys(conversation_id)
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                held = await self._run("renew", [keys["queue"], keys["leases"]], [ticket, self.lease_ms])
            except RedisError as error:
                logger.warning("conversation %s: lock lease not renewed (%s)", conversation_id, error)
                continue
            if not held:
                logger.error(
                    "conversation %s: lock lease of ticket %s ran out during the turn", conversation_id, ticket
                )
                return

    async def _release(self, conversation_id: str, ticket: int) -> None:
        keys = self._keys(conversation_id)
        try:
            await self._run("release", [keys["queue"], keys["leases"]], [ticket])
        except RedisError as error:  # the lease runs out by itself
            logger.warning("conversation %s: lock not released (%s); it expires with its lease", conversation_id, error)
