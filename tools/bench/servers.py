"""The Rasa server with and without the voice channel: cold start and memory.

Both variants start the way `make run` starts them (tools.serve) on free ports with a
temporary database and tracker store; the text-only variant uses credentials.yml minus the
voice and Telegram channels, so the difference is what speech recognition costs.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

import yaml

from actions.db import PROJECT_ROOT
from tools import serve
from tools.serve import free_port
from tools.bench import median_p95, peak_rss_mb, rss_mb, table

VOICE_CHANNELS = ("asr_channel.channel.VoiceInput", "channels.telegram.TelegramInput")
TEXT_TURNS = ["你好", "小米14多少钱", "有货吗", "我的订单202611028313到哪了", "谢谢"]
VOICE_FILES = sorted((PROJECT_ROOT / "tests" / "audio" / "real").glob("*.wav"))


def post(url: str, body: bytes, content_type: str) -> None:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=120) as reply:
        reply.read()


def text_only_credentials(directory: Path) -> Path:
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8"))
    path = directory / "credentials-text-only.yml"
    path.write_text(yaml.safe_dump({k: v for k, v in credentials.items() if k not in VOICE_CHANNELS}), encoding="utf-8")
    return path


def run_variant(model: Path, credentials: Path, voice: bool, env: Dict[str, str], log_dir: Path) -> Dict[str, float]:
    rasa_port, action_port = free_port(), free_port()
    action_server, rasa_server = serve.servers(rasa_port, action_port, str(model))
    rasa_server.command[rasa_server.command.index("--credentials") + 1] = str(credentials)
    action_server.start(log_dir, env)
    started = time.perf_counter()
    rasa_server.start(log_dir, env)
    try:
        if not serve.wait_healthy([action_server, rasa_server], 300):
            raise RuntimeError(f"servers did not start; see {log_dir}")
        cold_start = time.perf_counter() - started
        pid = rasa_server.process.pid
        after_start = rss_mb(pid)
        base = f"http://127.0.0.1:{rasa_port}"
        for turn in TEXT_TURNS:
            post(f"{base}/webhooks/rest/webhook", json.dumps({"sender": "bench", "message": turn}).encode(), "application/json")
        if voice:
            for path in VOICE_FILES:
                post(f"{base}/webhooks/voice/webhook?sender=bench-voice", path.read_bytes(), "audio/wav")
        return {"cold_start": cold_start, "rss_after_start": after_start, "peak_rss": peak_rss_mb(pid)}
    finally:
        rasa_server.stop()
        action_server.stop()


def section(model: Path, repeats: int = 2) -> str:
    from actions import db
    from actions.seed import seed_database

    with tempfile.TemporaryDirectory(prefix="zhiyin-bench-") as tmp:
        tmp_path = Path(tmp)
        database_url = f"sqlite:///{tmp_path / 'zhiyin.db'}"
        seed_database(db.get_engine(database_url))
        env = {**os.environ, "DATABASE_URL": database_url, "TRACKER_DB": str(tmp_path / "tracker.db"), "TRACKER_DB_DIALECT": "sqlite"}
        env.pop("TELEGRAM_ACCESS_TOKEN", None)
        variants = [("text only (REST, socket.io)", text_only_credentials(tmp_path), False), ("with voice channel (shipped)", PROJECT_ROOT / "credentials.yml", True)]
        rows: List[List[object]] = []
        for label, credentials, voice in variants:
            runs = []
            for attempt in range(repeats):
                print(f"  servers: {label}, run {attempt + 1}", flush=True)
                runs.append(run_variant(model, credentials, voice, env, tmp_path / "logs"))
            cold = median_p95([r["cold_start"] for r in runs])
            rows.append([
                label,
                f"{cold['median']:.1f} s",
                f"{median_p95([r['rss_after_start'] for r in runs])['median']:.0f} MB",
                f"{max(r['peak_rss'] for r in runs):.0f} MB",
            ])
    return "\n".join([
        "## Rasa server with the voice channel",
        "",
        f"Each variant started {repeats} times (fresh process, same model). Cold start = process start to "
        f"`/status` and the action server healthy; peak RSS (VmHWM) after {len(TEXT_TURNS)} REST turns and, with voice, "
        f"{len(VOICE_FILES)} voice messages (the real clips).",
        "",
        table(["credentials", "cold start (median)", "RSS after start", "peak RSS"], rows),
    ])
