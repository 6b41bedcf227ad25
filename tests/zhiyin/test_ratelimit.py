import logging
import threading

import pytest

from zhiyin import ratelimit
from zhiyin.ratelimit import ClientLimits, RateLimiter
from zhiyin.settings import forwarded_proxies, rate_limits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("limit", [1, 2, 30, 120])
def test_allows_up_to_the_limit_then_refuses(limit):
    limiter = RateLimiter(limit, clock=Clock())
    assert all(limiter.allow("1.2.3.4") for _ in range(limit))
    assert not limiter.allow("1.2.3.4")
    assert limiter.allow("5.6.7.8")  # another key has its own budget


@pytest.mark.parametrize("limit, per_seconds", [(1, 60.0), (30, 60.0), (120, 60.0), (5, 10.0)])
def test_the_window_passes(limit, per_seconds):
    clock = Clock()
    limiter = RateLimiter(limit, per_seconds, clock=clock)
    for _ in range(limit):
        limiter.allow("k")
    assert not limiter.allow("k")
    wait = limiter.retry_after("k")
    assert 0 < wait <= per_seconds
    clock.now += wait - 0.01 if wait > 0.01 else 0
    if per_seconds / limit >= 1:  # a whole second or more per message: still too early
        assert not limiter.allow("k")
    clock.now += 0.02
    assert limiter.allow("k")  # one message's worth came back
    clock.now += per_seconds
    assert all(limiter.allow("k") for _ in range(limit))  # a full window: the whole budget again
    assert not limiter.allow("k")


def test_refused_requests_do_not_earn_more_refusals():
    clock = Clock()
    limiter = RateLimiter(2, 60, clock=clock)
    limiter.allow("k"), limiter.allow("k")
    for _ in range(50):
        assert not limiter.allow("k")
    clock.now += 30  # one token back, however much was refused meanwhile
    assert limiter.allow("k") and not limiter.allow("k")


@pytest.mark.parametrize("max_keys", [1, 10, 100])
def test_key_count_is_bounded_least_recently_used_first_out(max_keys):
    limiter = RateLimiter(1, max_keys=max_keys, clock=Clock())
    for number in range(10 * max_keys):
        limiter.allow(f"client-{number}")
        assert len(limiter) <= max_keys
    assert len(limiter) == max_keys
    newest = f"client-{10 * max_keys - 1}"
    assert not limiter.allow(newest)  # still remembered
    assert limiter.allow("client-0")  # forgotten: starts again with a full bucket


@pytest.mark.parametrize("limit", [0, -1])
def test_zero_turns_the_limit_off(limit):
    limiter = RateLimiter(limit, clock=Clock())
    assert all(limiter.allow("k") for _ in range(1000))
    assert limiter.retry_after("k") == 0 and len(limiter) == 0


def test_threads_never_get_more_than_the_limit():
    limiter = RateLimiter(500, clock=Clock())
    allowed = []

    def hammer():
        allowed.extend(limiter.allow("k") for _ in range(200))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 500


def test_client_limits_address_across_channels_sender_per_channel(caplog):
    limits = ClientLimits(per_address=3, per_sender=2, clock=Clock())
    assert limits.check("rest", "10.0.0.1", "alice") is None
    assert limits.check("rest", "10.0.0.1", "alice") is None
    refusal = limits.check("rest", "10.0.0.1", "alice")
    assert refusal is not None and refusal.limit == "sender" and refusal.retry_after_s == 30
    # the same sender id on another channel is another conversation; the address is shared
    assert limits.check("socketio", "10.0.0.2", "alice") is None
    with caplog.at_level(logging.WARNING, logger="zhiyin.ratelimit"):
        refusal = limits.check("voice", "10.0.0.1", "bob")
    assert refusal is not None and refusal.limit == "address" and refusal.retry_after_s == 20
    assert "voice" in caplog.text and "10.0.0.1" in caplog.text and "bob" in caplog.text


def test_platform_webhooks_count_senders_only():
    limits = ClientLimits(per_address=1, per_sender=2, clock=Clock())
    assert [limits.check("telegram", None, str(chat)) for chat in range(10)] == [None] * 10
    assert limits.check("telegram", None, "0") is None
    assert limits.check("telegram", None, "0").limit == "sender"


def test_the_log_never_shows_a_full_phone_number(caplog):
    limits = ClientLimits(per_address=0, per_sender=1, clock=Clock())
    limits.check("rest", "10.0.0.1", "13812345678")
    with caplog.at_level(logging.WARNING, logger="zhiyin.ratelimit"):
        assert limits.check("rest", "10.0.0.1", "13812345678") is not None
    assert "13812345678" not in caplog.text and "138****5678" in caplog.text


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("RATE_LIMIT_PER_ADDRESS", raising=False)
    monkeypatch.delenv("RATE_LIMIT_PER_SENDER", raising=False)
    monkeypatch.delenv("FORWARDED_PROXIES", raising=False)
    assert rate_limits() == {"address": 120, "sender": 30} and forwarded_proxies() == 0
    monkeypatch.setenv("RATE_LIMIT_PER_ADDRESS", "600")
    monkeypatch.setenv("RATE_LIMIT_PER_SENDER", "0")
    monkeypatch.setenv("FORWARDED_PROXIES", "1")
    assert rate_limits() == {"address": 600, "sender": 0} and forwarded_proxies() == 1
    monkeypatch.setattr(ratelimit, "_shared", {})
    shared = ratelimit.shared_limits()
    assert (shared.address.limit, shared.sender.limit) == (600, 0)
    assert ratelimit.shared_limits() is shared
