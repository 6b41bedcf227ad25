"""The cluster (zhiyin.cluster: nginx, Rasa replicas, PostgreSQL, Redis) under load: REST turns
through nginx at 1, 4, 16 and 64 clients, with 1 Rasa replica and with 2 in the same run.

Each client is its own customer asking the shop's usual questions (tools/bench/load.py), and
sends its next message when the previous one is answered. Bounded: a fixed number of turns per
level, all to 127.0.0.1. One action server in both configurations, so that only the number of
Rasa replicas differs.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence

from tools.bench import peak_rss_mb, private_rss_mb, rss_mb, table
from tools.bench.load import answered, drive
from tools.bench.turns import rotating_customers
from zhiyin.cluster import Cluster
from zhiyin.serve import free_port

LEVELS = (1, 4, 16, 64)
# Turns per client at each level: about the same number of turns (and of seconds) per level.
TURNS_PER_CLIENT = {1: 120, 4: 40, 16: 16, 64: 6}


async def levels(base: str, tag: str, clients: Sequence[int]) -> Dict[int, Dict[str, float]]:
    url = f"{base}/webhooks/rest/webhook"
    await drive(url, rotating_customers(f"warm-{tag}"), answered, 4, 5)
    results = {}
    for count in clients:
        run = await drive(url, rotating_customers(f"c{count}-{tag}"), answered, count, TURNS_PER_CLIENT[count])
        results[count] = run.summary()
    return results


@dataclass
class Measured:
    levels: Dict[int, Dict[str, float]]  # clients -> throughput, median, p95, errors
    rss_mb: List[float]  # per replica, after the load
    peak_rss_mb: List[float]
    private_rss_mb: List[float]  # per replica, after the load: RssAnon


def measure(model: Path, replicas: int, clients: Sequence[int] = LEVELS) -> Measured:
    """Start a cluster with `replicas` Rasa servers, drive it, stop it; its figures."""
    directory = Path(tempfile.mkdtemp(prefix="zhiyin-bench-cluster-"))
    directory.chmod(0o755)  # PostgreSQL runs as its own user
    cluster = Cluster(
        directory,
        str(model),
        replicas=replicas,
        action_servers=1,
        public_port=free_port(),
        private_port=free_port(),
        action_port=free_port(),
        env={
            "RATE_LIMIT_PER_ADDRESS": "0",
            "RATE_LIMIT_PER_SENDER": "0",
            "TELEGRAM_ACCESS_TOKEN": "",
            "SLACK_TOKEN": "",
        },
    )
    try:
        cluster.start()
        base = f"http://127.0.0.1:{cluster.public_port}"
        results = asyncio.run(levels(base, uuid.uuid4().hex[:6], clients))
        pids = [replica.server.pid for replica in cluster.replicas]
        return Measured(
            results,
            [rss_mb(pid) for pid in pids],
            [peak_rss_mb(pid) for pid in pids],
            [private_rss_mb(pid) for pid in pids],
        )
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


def section(model: Path, replica_counts: Sequence[int] = (1, 2)) -> str:
    measured: Dict[int, Measured] = {}
    for count in replica_counts:
        print(f"  cluster: {count} Rasa replica(s) behind nginx", flush=True)
        measured[count] = measure(model, count)
    headers = ["clients"]
    for count in replica_counts:
        headers += [f"{count}× turns/s", f"{count}× p50 ms", f"{count}× p95 ms", f"{count}× errors"]
    headers.append(f"{replica_counts[-1]}× / {replica_counts[0]}×")
    rows: List[List[object]] = []
    for clients in LEVELS:
        row: List[object] = [clients]
        for count in replica_counts:
            figures = measured[count].levels[clients]
            row += [f"{figures['throughput']:.1f}", f"{figures['median']:.0f}", f"{figures['p95']:.0f}"]
            row.append(int(figures["errors"]))
        first = measured[replica_counts[0]].levels[clients]["throughput"]
        last = measured[replica_counts[-1]].levels[clients]["throughput"]
        row.append(f"{last / first:.2f}" if first else "–")
        rows.append(row)
    memory_rows = [
        [count, *(", ".join(f"{v:.0f}" for v in values) for values in (m.rss_mb, m.peak_rss_mb, m.private_rss_mb))]
        for count, m in measured.items()
    ]
    return "\n".join(
        [
            "## Cluster: Rasa replicas behind nginx",
            "",
            "`make cluster`'s topology (zhiyin/cluster.py) started fresh for each configuration: nginx on "
            "127.0.0.1, PostgreSQL (business data and tracker store), Redis (conversation locks, limits, "
            "socket.io), one action server, and 1 or 2 Rasa replicas. REST turns through nginx, each client "
            "its own customers (spread over a few conversations, so none grows long) asking about price, "
            "stock, shipping, an order and returns, sending the next message when the last is answered; "
            f"turns per client {TURN_MESSAGES_NOTE}. "
            "Targets: >= 40 turns/s at 16 clients, p95 <= 500 ms at 16 clients, 0 errors, "
            "RSS <= 800 MB per replica.",
            "",
            table(headers, rows),
            "",
            table(["replicas", "RSS after the load, MB", "peak RSS, MB", "of it private (RssAnon), MB"], memory_rows),
            "",
            "Each replica holds the voice channel's Whisper model beside the NLU and dialogue models "
            "(`python -m tools.cold_start` shows each part's RSS); the rest of RSS that is not private "
            "is shared-library code that replicas on one machine share.",
        ]
    )


TURN_MESSAGES_NOTE = ", ".join(f"{turns} at {clients}" for clients, turns in TURNS_PER_CLIENT.items())
