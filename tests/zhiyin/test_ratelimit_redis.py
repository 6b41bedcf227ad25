"""Rate limits and webhook de-duplication shared by replicas through a real Redis (the session's
redis-server, emptied before each test), and what happens when Redis cannot be reached."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import redis

from zhiyin import ratelimit
from zhiyin.http import Deliveries, SharedRedis
from zhiyin.ratelimit import ClientLimits, RateLimiter, RedisRateLimiter
from zhiyin.serve import free_port


def closed_url() -> str:
    """A Redis URL where nothing listens."""
    return f"redis://:secret@127.0.0.1:{free_port()}/0"


def limiter(url: str, limit: int, per_seconds: float = 60.0, name: str = "address") -> RedisRateLimiter:
    return RedisRateLimiter(SharedRedis(url, "rate limits", "every request is allowed"), name, limit, per_seconds)


def test_two_replicas_share_one_budget(redis_url):
    one = ClientLimits(per_address=3, per_sender=100, redis_url=redis_url)
    other = ClientLimits(per_address=3, per_sender=100, redis_url=redis_url)
    assert one.check("rest", "10.0.0.1", "a") is None
    assert one.check("rest", "10.0.0.1", "b") is None
    assert other.check("rest", "10.0.0.1", "c") is None
    for replica in (one, other):
        refusal = replica.check("rest", "10.0.0.1", "d")
        assert refusal is not None and refusal.limit == "address"
        assert 0 < refusal.retry_after_s <= 20  # one token of 3 per minute
    assert one.check("rest", "10.0.0.2", "a") is None  # another address has its own budget
    keys = redis.Redis.from_url(redis_url).keys("zhiyin:rl:*")
    assert {key.decode() for key in keys} == {
        "zhiyin:rl:address:10.0.0.1",
        "zhiyin:rl:address:10.0.0.2",
        *(f"zhiyin:rl:sender:rest:{sender}" for sender in "abc"),
    }


def test_senders_are_shared_per_channel(redis_url):
    one = ClientLimits(per_address=0, per_sender=1, redis_url=redis_url)
    other = ClientLimits(per_address=0, per_sender=1, redis_url=redis_url)
    assert one.check("telegram", None, "42") is None
    refusal = other.check("telegram", None, "42")
    assert refusal is not None and refusal.limit == "sender" and refusal.retry_after_s == 60
    assert other.check("slack", None, "42") is None  # the same id on another channel


def test_the_bucket_refills_and_its_key_expires(redis_url):
    first, second = limiter(redis_url, 2, per_seconds=1), limiter(redis_url, 2, per_seconds=1)
    assert first.allow("k") and second.allow("k")
    assert not first.allow("k") and not second.allow("k")
    assert first.retry_after("k") == 1
    ttl_ms = redis.Redis.from_url(redis_url).pttl("zhiyin:rl:address:k")
    assert 0 < ttl_ms <= 1000  # the key goes once its bucket would be full again
    time.sleep(1.2)
    assert first.retry_after("k") == 0
    assert second.allow("k") and first.allow("k")  # the whole budget came back
    assert not first.allow("k")


def test_zero_turns_the_limit_off_without_redis(redis_url):
    for limit in (0, -1):
        shared = limiter(redis_url, limit)
        assert all(shared.allow("k") for _ in range(100)) and shared.retry_after("k") == 0
        unreachable = limiter(closed_url(), limit)
        assert unreachable.allow("k") and unreachable.retry_after("k") == 0
    assert redis.Redis.from_url(redis_url).dbsize() == 0


def test_threads_on_two_replicas_never_get_more_than_the_limit(redis_url):
    replicas = [limiter(redis_url, 10), limiter(redis_url, 10)]
    start = threading.Barrier(20)
    allowed = []

    def request(number: int) -> None:
        start.wait()
        allowed.append(replicas[number % 2].allow("10.0.0.1"))

    threads = [threading.Thread(target=request, args=(number,)) for number in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 20 and sum(allowed) == 10


def test_an_unreachable_redis_allows_and_warns_once(caplog):
    limits = ClientLimits(per_address=1, per_sender=1, redis_url=closed_url())
    with caplog.at_level(logging.WARNING):
        started = time.monotonic()
        assert all(limits.check("rest", "10.0.0.1", "a") is None for _ in range(20))
        assert time.monotonic() - started < 5  # nobody waits on a dead Redis
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1  # then Redis is left alone for a while, and the warning not repeated
    assert "rate limits" in warnings[0].getMessage() and "allowed" in warnings[0].getMessage()
    assert "secret" not in caplog.text  # the URL's password is not logged


def test_the_warning_comes_back_only_after_its_interval(caplog):
    clock = [1000.0]
    shared = SharedRedis(closed_url(), "rate limits", "every request is allowed", clock=lambda: clock[0])
    unreachable = RedisRateLimiter(shared, "address", 1)
    with caplog.at_level(logging.WARNING):
        for _ in range(10):  # Redis is tried again every few seconds, one warning in 30 s
            assert unreachable.allow("k")
            clock[0] += 6
    assert caplog.text.count("Redis unreachable") == 2


def test_deliveries_are_shared_by_replicas_per_channel(redis_url):
    one, other = Deliveries("telegram", redis_url=redis_url), Deliveries("telegram", redis_url=redis_url)
    assert one.first_time(1001) and not other.first_time(1001) and not one.first_time(1001)
    assert other.first_time(1002) and not one.first_time(1002)
    assert Deliveries("slack", redis_url=redis_url).first_time(1001)  # Slack's ids are apart
    assert one.first_time(None) and other.first_time(None)  # no id: never a known retry
    client = redis.Redis.from_url(redis_url)
    assert sorted(key.decode() for key in client.keys("*")) == [
        "zhiyin:delivery:slack:1001",
        "zhiyin:delivery:telegram:1001",
        "zhiyin:delivery:telegram:1002",
    ]
    assert 86_000 < client.ttl("zhiyin:delivery:telegram:1001") <= 86_400


def test_deliveries_fall_back_to_memory_when_redis_is_unreachable(caplog):
    deliveries = Deliveries("telegram", redis_url=closed_url())
    with caplog.at_level(logging.WARNING):
        assert deliveries.first_time(7) and not deliveries.first_time(7) and deliveries.first_time(8)
    assert "telegram deliveries" in caplog.text


def test_the_settings_choose_redis(redis_url, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("RATE_LIMIT_PER_ADDRESS", "2")
    monkeypatch.setattr(ratelimit, "_shared", {})
    shared = ratelimit.shared_limits()
    assert isinstance(shared.address, RedisRateLimiter) and isinstance(shared.sender, RedisRateLimiter)
    assert shared.address.limit == 2 and ratelimit.shared_limits() is shared
    assert shared.check("rest", "10.0.0.9") is None
    assert redis.Redis.from_url(redis_url).exists("zhiyin:rl:address:10.0.0.9")
    deliveries = Deliveries.from_settings("slack")
    assert deliveries.first_time("Ev1") and not Deliveries.from_settings("slack").first_time("Ev1")


@pytest.mark.parametrize("variable", ["", None])
def test_without_redis_the_process_keeps_them(monkeypatch, variable):
    if variable is None:
        monkeypatch.delenv("REDIS_URL", raising=False)
    else:
        monkeypatch.setenv("REDIS_URL", variable)
    monkeypatch.setattr(ratelimit, "_shared", {})
    shared = ratelimit.shared_limits()
    assert isinstance(shared.address, RateLimiter) and isinstance(shared.sender, RateLimiter)
    assert Deliveries.from_settings("telegram").redis is None
