"""Latency and throughput of a running stack: /model/parse and full REST turns.

Bounded load to 127.0.0.1 only: a fixed number of requests per measurement, clients that
wait for each answer before sending the next, and a hard timeout per request. Errors are
counted and reported (the REST target is zero).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Tuple

import aiohttp

from tools.bench import median_p95

REQUEST_TIMEOUT_S = 60
TURN_MESSAGES = ["小米14多少钱", "华为Mate60有货吗", "你们包邮吗", "我的订单202611028313到哪了", "退货要多久退款"]


@dataclass
class Run:
    latencies_ms: List[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def summary(self) -> Dict[str, float]:
        stats = (
            median_p95(self.latencies_ms)
            if self.latencies_ms
            else {"median": float("nan"), "p95": float("nan"), "n": 0}
        )
        return {**stats, "throughput": self.throughput, "errors": self.errors}


async def _timed(
    session: aiohttp.ClientSession, url: str, body: Dict, run: Run, check: Callable[[object], bool]
) -> None:
    started = time.perf_counter()
    try:
        async with session.post(url, json=body, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as reply:
            payload = await reply.json(content_type=None)
            ok = reply.status == 200 and check(payload)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        ok = False
    if ok:
        run.latencies_ms.append((time.perf_counter() - started) * 1000)
    else:
        run.errors += 1


async def drive(
    url: str,
    make_body: Callable[[int, int], Dict],
    check: Callable[[object], bool],
    clients: int,
    requests_per_client: int,
) -> Run:
    """`clients` concurrent clients, each sending `requests_per_client` requests one after another."""
    run = Run()
    async with aiohttp.ClientSession() as session:

        async def client(index: int) -> None:
            for turn in range(requests_per_client):
                await _timed(session, url, make_body(index, turn), run, check)

        started = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(clients)))
        run.seconds = time.perf_counter() - started
    return run


def parse_bodies(text: str) -> Callable[[int, int], Dict]:
    return lambda _client, _turn: {"text": text}


def turn_bodies(prefix: str) -> Callable[[int, int], Dict]:
    """Each client is its own customer asking the shop's usual questions in turn."""
    return lambda client, turn: {"sender": f"{prefix}-{client}", "message": TURN_MESSAGES[turn % len(TURN_MESSAGES)]}


def parsed(payload: object) -> bool:
    return isinstance(payload, dict) and "intent" in payload


def answered(payload: object) -> bool:
    return isinstance(payload, list) and len(payload) > 0 and all(r.get("text") for r in payload)


async def measure(base: str, token: str, sequential: int = 200, per_client: int = 25) -> Dict[str, object]:
    """`token`: the Rasa API token (the stack's RASA_API_TOKEN); /model/parse needs it."""
    parse_url, rest_url = f"{base}/model/parse?token={token}", f"{base}/webhooks/rest/webhook"
    tag = uuid.uuid4().hex[:6]
    results: Dict[str, object] = {}
    await drive(parse_url, parse_bodies("你好"), parsed, 1, 10)  # warm-up
    await drive(rest_url, turn_bodies(f"warm-{tag}"), answered, 1, 5)
    results["parse_sequential"] = (
        await drive(parse_url, parse_bodies("小米14多少钱"), parsed, 1, sequential)
    ).summary()
    results["rest_sequential"] = (
        await drive(rest_url, turn_bodies(f"seq-{tag}"), answered, 1, sequential // 2)
    ).summary()
    for clients in (1, 4, 16):
        results[f"parse_{clients}"] = (
            await drive(parse_url, parse_bodies("小米14多少钱"), parsed, clients, per_client)
        ).summary()
        results[f"rest_{clients}"] = (
            await drive(rest_url, turn_bodies(f"c{clients}-{tag}"), answered, clients, per_client)
        ).summary()
    for length in (10, 100, 1000):
        text = ("小米14多少钱，" * 200)[:length]
        results[f"parse_len_{length}"] = (await drive(parse_url, parse_bodies(text), parsed, 1, 50)).summary()
    results["conversation_length"] = await conversation_growth(rest_url, f"long-{tag}")
    return results


async def conversation_growth(
    rest_url: str, sender: str, checkpoints: Tuple[int, ...] = (1, 50, 200), probes: int = 10
) -> Dict[int, Dict[str, float]]:
    """Turn latency measured when one tracker already holds 1, 50 and 200 turns."""
    growth: Dict[int, Dict[str, float]] = {}
    done = 0
    async with aiohttp.ClientSession() as session:
        for checkpoint in checkpoints:
            while done < checkpoint - 1:
                await _timed(
                    session,
                    rest_url,
                    {"sender": sender, "message": TURN_MESSAGES[done % len(TURN_MESSAGES)]},
                    Run(),
                    answered,
                )
                done += 1
            run = Run()
            for probe in range(probes):
                await _timed(
                    session,
                    rest_url,
                    {"sender": sender, "message": TURN_MESSAGES[probe % len(TURN_MESSAGES)]},
                    run,
                    answered,
                )
            done += probes
            growth[checkpoint] = run.summary()
    return growth


def dumps(results: Dict[str, object]) -> str:
    return json.dumps(results, indent=1, default=str)
