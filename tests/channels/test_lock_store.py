"""channels/lock_store.py against a real redis-server: mutual exclusion across "replicas"
(separate lock store objects, as two processes would have), order, leases of dead holders,
and the fallback when Redis is gone. The cross-process test with real Rasa servers is
tests/smoke/test_cluster.py."""

from __future__ import annotations

import asyncio
from typing import List

import pytest
import redis
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from channels.lock_store import ConversationLockStore
from zhiyin.serve import free_port


async def turn(store: ConversationLockStore, conversation: str, log: List[str], name: str, seconds: float) -> None:
    async with store.lock(conversation):
        log.append(f"{name} start")
        await asyncio.sleep(seconds)
        log.append(f"{name} end")


def never_overlap(log: List[str]) -> bool:
    """Each start is followed by the same turn's end."""
    return all(log[i].split()[0] == log[i + 1].split()[0] for i in range(0, len(log), 2))


@pytest.mark.parametrize("shared", [True, False])
def test_turns_of_one_conversation_never_overlap(shared: bool, redis_url: str) -> None:
    async def scenario() -> List[str]:
        if shared:  # two replicas, each its own store object and connections
            stores = [ConversationLockStore(url=redis_url), ConversationLockStore(url=redis_url)]
        else:
            stores = [ConversationLockStore()] * 2
        log: List[str] = []
        await asyncio.gather(*(turn(stores[i % 2], "c1", log, f"t{i}", 0.02) for i in range(8)))
        return log

    log = asyncio.run(scenario())
    assert len(log) == 16 and never_overlap(log)


def test_separate_stores_without_redis_do_overlap() -> None:
    """What the shared store prevents: two replicas with process-local locks run together."""

    async def scenario() -> List[str]:
        stores = [ConversationLockStore(), ConversationLockStore()]
        log: List[str] = []
        await asyncio.gather(turn(stores[0], "c1", log, "a", 0.05), turn(stores[1], "c1", log, "b", 0.05))
        return log

    assert not never_overlap(asyncio.run(scenario()))


def test_other_conversations_do_not_wait(redis_url: str) -> None:
    async def scenario() -> List[str]:
        store = ConversationLockStore(url=redis_url)
        log: List[str] = []
        await asyncio.gather(turn(store, "c1", log, "a", 0.1), turn(store, "c2", log, "b", 0.01))
        return log

    assert asyncio.run(scenario()) == ["a start", "b start", "b end", "a end"]


def test_waiters_are_served_in_arrival_order(redis_url: str) -> None:
    async def scenario() -> List[str]:
        stores = [ConversationLockStore(url=redis_url) for _ in range(3)]
        log: List[str] = []
        tasks = []
        for i, store in enumerate(stores):
            tasks.append(asyncio.create_task(turn(store, "c1", log, f"t{i}", 0.05)))
            await asyncio.sleep(0.01)  # t0 takes its ticket first, then t1, then t2
        await asyncio.gather(*tasks)
        return log

    assert [entry for entry in asyncio.run(scenario()) if entry.endswith("start")] == [
        "t0 start",
        "t1 start",
        "t2 start",
    ]


def test_a_dead_holders_lock_frees_itself_after_its_lease(redis_url: str) -> None:
    """A replica killed mid-turn never releases; its lease runs out and the next turn goes on."""

    async def scenario() -> float:
        dead = ConversationLockStore(url=redis_url, lease=0.3)
        keys = dead._keys("c1")
        ticket = await dead._acquire("c1", 1)  # taken, then never renewed nor released
        assert ticket == 1
        alive = ConversationLockStore(url=redis_url, lease=0.3)
        started = asyncio.get_running_loop().time()
        async with alive.lock("c1", lock_lifetime=5):
            waited = asyncio.get_running_loop().time() - started
        assert not redis.Redis.from_url(redis_url).exists(keys["queue"])
        return waited

    assert asyncio.run(scenario()) > 0.2  # it did wait for the lease


def test_a_long_turn_keeps_its_lock_by_renewing_the_lease(redis_url: str) -> None:
    async def scenario() -> List[str]:
        stores = [ConversationLockStore(url=redis_url, lease=0.15), ConversationLockStore(url=redis_url, lease=0.15)]
        log: List[str] = []
        first = asyncio.create_task(turn(stores[0], "c1", log, "long", 0.6))  # four leases long
        await asyncio.sleep(0.02)
        await turn(stores[1], "c1", log, "next", 0.01)
        await first
        return log

    assert asyncio.run(scenario()) == ["long start", "long end", "next start", "next end"]


def test_waiting_longer_than_the_lifetime_is_a_lock_error(redis_url: str) -> None:
    async def scenario() -> None:
        holder, waiter = ConversationLockStore(url=redis_url), ConversationLockStore(url=redis_url)
        async with holder.lock("c1"):
            with pytest.raises(LockError):
                async with waiter.lock("c1", lock_lifetime=0.1):
                    pass
        async with waiter.lock("c1", lock_lifetime=1):  # its ticket was withdrawn: no deadlock
            pass

    asyncio.run(scenario())


def test_tickets_are_fencing_tokens_that_only_grow(redis_url: str) -> None:
    async def scenario() -> List[int]:
        store = ConversationLockStore(url=redis_url)
        tickets = []
        for _ in range(3):
            ticket = await store._acquire("c1", 1)
            tickets.append(ticket)
            await store._release("c1", ticket)
        return tickets

    assert asyncio.run(scenario()) == [1, 2, 3]


def test_redis_down_falls_back_to_the_process_lock(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> List[str]:
        store = ConversationLockStore(url=f"redis://127.0.0.1:{free_port()}/0")
        log: List[str] = []
        await asyncio.gather(turn(store, "c1", log, "a", 0.02), turn(store, "c1", log, "b", 0.02))
        return log

    log = asyncio.run(scenario())
    assert len(log) == 4 and never_overlap(log)
    assert "Redis lock store unreachable" in caplog.text


def test_rasa_builds_it_from_the_endpoint_config(redis_url: str) -> None:
    store = LockStore.create(EndpointConfig(url=redis_url, type="channels.lock_store.ConversationLockStore"))
    assert isinstance(store, ConversationLockStore) and store.shared
    local = LockStore.create(EndpointConfig(url="", type="channels.lock_store.ConversationLockStore"))
    assert isinstance(local, ConversationLockStore) and not local.shared
