"""The running stack: cold start and memory of each server, then load (tools/bench/load.py).

Servers start the way `make run` starts them (zhiyin.serve) on free ports with a temporary
database and tracker store. The shipped credentials are compared with a text-only variant
(credentials.yml minus the voice and Telegram channels), so the difference is what speech
recognition costs.
"""

from __future__ import annotations

import asyncio
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import yaml

from tools.bench import median_p95, peak_rss_mb, rss_mb, table
from tools.bench.load import measure
from zhiyin import serve
from zhiyin.http import http_post
from zhiyin.paths import PROJECT_ROOT
from zhiyin.serve import free_port

VOICE_CHANNELS = ("asr_channel.channel.VoiceInput", "channels.telegram.TelegramInput")
VOICE_FILES = sorted((PROJECT_ROOT / "tests" / "audio" / "real").glob("*.wav"))
START_TIMEOUT_S = 300


def text_only_credentials(directory: Path) -> Path:
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8"))
    path = directory / "credentials-text-only.yml"
    path.write_text(yaml.safe_dump({k: v for k, v in credentials.items() if k not in VOICE_CHANNELS}), encoding="utf-8")
    return path


def run_once(
    model: Path, credentials: Path, env: Dict[str, str], log_dir: Path, load: bool, voice: bool
) -> Dict[str, Any]:
    rasa_port, action_port = free_port(), free_port()
    action_server, rasa_server = serve.servers(rasa_port, action_port, str(model))
    rasa_server.command[rasa_server.command.index("--credentials") + 1] = str(credentials)
    try:
        ready = serve.start_group([action_server, rasa_server], START_TIMEOUT_S, log_dir, env)
        result: Dict[str, Any] = {
            "ready": ready,
            "rss_after_start": {s.name: rss_mb(s.pid) for s in (action_server, rasa_server)},
        }
        base = f"http://127.0.0.1:{rasa_port}"
        if load:
            result["load"] = asyncio.run(measure(base, env["RASA_API_TOKEN"]))
        if voice:
            for path in VOICE_FILES:
                reply = http_post(
                    f"{base}/webhooks/voice/webhook?sender=bench-voice",
                    path.read_bytes(),
                    {"Content-Type": "audio/wav"},
                )
                if reply.status != 200:
                    raise RuntimeError(f"voice request for {path.name} failed: {reply.status} {reply.body}")
        result["peak_rss"] = {s.name: peak_rss_mb(s.pid) for s in (action_server, rasa_server)}
        return result
    finally:
        rasa_server.stop()
        action_server.stop()


@contextmanager
def scratch_data(prefix: str) -> Iterator[Tuple[Path, Dict[str, str]]]:
    """A temporary directory with a seeded SQLite database, and the environment that points the
    servers at it (zhiyin.serve.isolated_env)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp), serve.isolated_env(Path(tmp))


def run(model: Path, starts: int = 3) -> Dict[str, List[Dict[str, Any]]]:
    runs: Dict[str, List[Dict[str, Any]]] = {"shipped": [], "text-only": []}
    with scratch_data("zhiyin-bench-") as (tmp_path, env):
        text_only = text_only_credentials(tmp_path)
        for attempt in range(starts):
            print(f"  servers: shipped credentials, start {attempt + 1}/{starts}", flush=True)
            runs["shipped"].append(
                run_once(model, PROJECT_ROOT / "credentials.yml", env, tmp_path / "logs", load=attempt == 0, voice=True)
            )
        for attempt in range(2):
            print(f"  servers: text-only credentials, start {attempt + 1}/2", flush=True)
            runs["text-only"].append(run_once(model, text_only, env, tmp_path / "logs", load=False, voice=False))
    return runs


def ms(stats: Dict[str, float]) -> str:
    return f"{stats['median']:.1f} / {stats['p95']:.1f} ms"


def section(model: Path, starts: int = 3) -> str:
    runs = run(model, starts)
    start_rows = []
    for variant, label in (("shipped", "shipped (with voice)"), ("text-only", "text only")):
        for server in ("rasa-server", "action-server"):
            ready = median_p95([r["ready"][server] for r in runs[variant]])
            start_rows.append(
                [
                    label,
                    server,
                    f"{ready['median']:.1f} s",
                    f"{ready['p95']:.1f} s",
                    str(ready["n"]),
                    f"{median_p95([r['rss_after_start'][server] for r in runs[variant]])['median']:.0f} MB",
                    f"{max(r['peak_rss'][server] for r in runs[variant]):.0f} MB",
                ]
            )
    load = runs["shipped"][0]["load"]
    load_rows = [
        [
            "`/model/parse`, sequential",
            ms(load["parse_sequential"]),
            f"{load['parse_sequential']['throughput']:.1f}/s",
            load["parse_sequential"]["errors"],
        ],
        [
            "REST turn, sequential",
            ms(load["rest_sequential"]),
            f"{load['rest_sequential']['throughput']:.1f}/s",
            load["rest_sequential"]["errors"],
        ],
    ]
    for clients in (1, 4, 16):
        for kind, label in (("parse", "`/model/parse`"), ("rest", "REST turn")):
            stats = load[f"{kind}_{clients}"]
            load_rows.append(
                [f"{label}, {clients} clients", ms(stats), f"{stats['throughput']:.1f}/s", stats["errors"]]
            )
    growth_rows = [[f"parse, {n} characters", ms(load[f"parse_len_{n}"])] for n in (10, 100, 1000)]
    growth_rows += [
        [f"REST turn, tracker with {n} turns", ms(stats)] for n, stats in load["conversation_length"].items()
    ]
    return "\n".join(
        [
            "## Servers: cold start and memory",
            "",
            f"Both servers started together {starts} times with the shipped credentials and twice text-only (fresh processes, "
            "same model, SQLite database and SQL tracker store in a temporary directory). Cold start = process start to "
            "its health endpoint answering (Rasa: `/`, served once the model is loaded; action server: `/health`). Peak RSS (VmHWM) after the load "
            f"below and, with voice, {len(VOICE_FILES)} voice messages (the real clips). Target: Rasa server cold start <= 20 s.",
            "",
            table(
                ["credentials", "server", "cold start median", "p95", "starts", "RSS after start", "peak RSS"],
                start_rows,
            ),
            "",
            "## Latency and throughput",
            "",
            "On the first shipped start, after a short warm-up. `/model/parse` with “小米14多少钱”; a REST turn is a full "
            "`/webhooks/rest/webhook` round trip (NLU, policies, custom action through the action gateway to the database, SQL "
            "tracker store), each client its own customer cycling through price, stock, shipping, order and return questions. "
            "Clients send their next request when the previous one is answered. Targets: parse p50 <= 15 ms; REST turn p50 "
            "<= 60 ms; >= 40 turns/s at 16 clients; 0 errors.",
            "",
            table(["measurement", "latency median / p95", "throughput", "errors"], load_rows),
            "",
            "How cost grows:",
            "",
            table(["measurement", "latency median / p95"], growth_rows),
        ]
    )
