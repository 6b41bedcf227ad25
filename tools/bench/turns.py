"""What a REST turn costs: the shipped set-up beside variants without one part each.

Same model and database; each variant is started fresh. Without the action gateway Rasa calls
the action server directly (so an action server outage would go unanswered); with the
in-memory tracker store conversations do not survive a restart. Neither is what zhiyin
ships: the variants only show where a turn's time goes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Dict, List

import yaml

from tools.bench import table
from tools.bench.load import TURN_MESSAGES, answered, drive
from tools.bench.servers import START_TIMEOUT_S, scratch_data
from zhiyin import serve
from zhiyin.paths import PROJECT_ROOT
from zhiyin.serve import free_port

SENDERS = 10


def rotating_customers(prefix: str):
    """Requests spread over SENDERS conversations, so no tracker grows long."""
    return lambda client, turn: {
        "sender": f"{prefix}-{client}-{turn % SENDERS}",
        "message": TURN_MESSAGES[turn % len(TURN_MESSAGES)],
    }


async def turns(base: str, label: str) -> Dict[str, Dict[str, float]]:
    url = f"{base}/webhooks/rest/webhook"
    await drive(url, rotating_customers(f"warm-{label}"), answered, 1, 10)
    return {
        "sequential": (await drive(url, rotating_customers(f"seq-{label}"), answered, 1, 60)).summary(),
        "16 clients": (await drive(url, rotating_customers(f"c16-{label}"), answered, 16, 15)).summary(),
    }


def section(model: Path) -> str:
    rows: List[List[object]] = []
    with scratch_data("zhiyin-turns-") as (tmp_path, scratch_env):
        endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
        in_memory = tmp_path / "endpoints-in-memory.yml"
        in_memory.write_text(yaml.safe_dump({"action_endpoint": endpoints["action_endpoint"]}), encoding="utf-8")
        variants = [
            ("shipped: SQL tracker store (SQLite), action gateway", {}, None),
            ("without the action gateway (Rasa → action server)", {"direct": "1"}, None),
            ("in-memory tracker store", {}, in_memory),
        ]
        for label, options, endpoints_file in variants:
            print(f"  turns: {label}", flush=True)
            env = {**scratch_env, "TRACKER_DB": str(tmp_path / f"tracker-{len(rows)}.db")}
            rasa_port, action_port = free_port(), free_port()
            action_server, rasa_server = serve.servers(rasa_port, action_port, str(model))
            if options.get("direct"):
                rasa_server.env["ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{action_port}/webhook"
            if endpoints_file:
                rasa_server.command[rasa_server.command.index("--endpoints") + 1] = str(endpoints_file)
            try:
                serve.start_group([action_server, rasa_server], START_TIMEOUT_S, tmp_path / "logs", env)
                result = asyncio.run(turns(f"http://127.0.0.1:{rasa_port}", str(len(rows))))
            finally:
                rasa_server.stop()
                action_server.stop()
            seq, busy = result["sequential"], result["16 clients"]
            rows.append(
                [
                    label,
                    f"{seq['median']:.1f} / {seq['p95']:.1f} ms",
                    f"{busy['throughput']:.1f}/s",
                    seq["errors"] + busy["errors"],
                ]
            )
    return "\n".join(
        [
            "## Where a turn's time goes",
            "",
            f"The same questions spread over {SENDERS} conversations per client (trackers stay short): 60 sequential turns, then "
            "16 clients × 15 turns. Only the first row is what zhiyin ships.",
            "",
            table(["set-up", "sequential turn median / p95", "throughput at 16 clients", "errors"], rows),
        ]
    )
