"""How fast the desk shows what customers do: a handoff reaching the queue, and a customer's
message reaching the agent who holds the conversation.

A stack starts the way `make run` starts it (zhiyin.serve, temporary database and tracker
store); an agent signs in and listens to the desk's Server-Sent Events streams like the page
does, while REST customers ask for a person and write. Latency runs from the customer's REST
answer (the ticket and the message are stored by then) to the event that shows it.
"""

from __future__ import annotations

import json
import queue
import random
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import requests

from tools.bench import median_p95, table
from zhiyin import db, serve
from zhiyin.paths import MODEL_PATH
from zhiyin.serve import free_port
from zhiyin.staff import add_staff

START_TIMEOUT_S = 300
PASSWORD = "bench desk password"
EVENT_TIMEOUT_S = 30


def listen(http: requests.Session, url: str) -> Tuple[queue.Queue[Tuple[float, Dict[str, Any]]], Callable[[], None]]:
    """Each SSE event of `url` with its arrival time (time.monotonic()), and a stop function."""
    events: queue.Queue[Tuple[float, Dict[str, Any]]] = queue.Queue()
    answer = http.get(url, stream=True, timeout=(10, None))

    def read() -> None:
        try:
            for line in answer.iter_lines():  # bytes: the stream is UTF-8 JSON
                if line.startswith(b"data: "):
                    events.put((time.monotonic(), json.loads(line[len(b"data: ") :])))
        except (requests.RequestException, ValueError, AttributeError):
            return  # closed by stop()

    threading.Thread(target=read, daemon=True).start()
    return events, answer.close


def wait_for(events: queue.Queue[Tuple[float, Dict[str, Any]]], seen: Callable[[Dict[str, Any]], bool]) -> float:
    """The arrival time of the first event for which `seen` is true."""
    deadline = time.monotonic() + EVENT_TIMEOUT_S
    while True:
        arrived, data = events.get(timeout=max(0.1, deadline - time.monotonic()))
        if seen(data):
            return arrived


def in_queue(sender: str) -> Callable[[Dict[str, Any]], bool]:
    return lambda data: any(entry["sender"] == sender for entry in data["waiting"])


def said(text: str) -> Callable[[Dict[str, Any]], bool]:
    return lambda data: any(m["who"] == "customer" and m["text"] == text for m in data["transcript"])


def measure(base: str, rounds: int) -> Dict[str, List[float]]:
    http = requests.Session()
    login = http.post(f"{base}/agent/api/login", json={"username": "bench", "password": PASSWORD}, timeout=30)
    login.raise_for_status()
    csrf = login.json()["csrf"]
    queue_events, stop_queue = listen(http, f"{base}/agent/api/stream")
    results: Dict[str, List[float]] = {"queue": [], "message": []}
    # Customers act at random moments: right after an event they would meet the streams' next
    # tick at the same phase every round.
    pause = random.Random(14).uniform
    try:
        for round_no in range(rounds):
            sender = f"desk-bench-{round_no}"
            time.sleep(pause(0, 1.5))
            http.post(f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": "转人工"}, timeout=60)
            answered = time.monotonic()
            results["queue"].append(wait_for(queue_events, in_queue(sender)) - answered)
            entry = next(
                e for e in http.get(f"{base}/agent/api/queue", timeout=30).json()["waiting"] if e["sender"] == sender
            )
            path = f"{base}/agent/api/conversations/{entry['ticket_id']}"
            http.post(f"{path}/claim", headers={"X-CSRF-Token": csrf}, timeout=30).raise_for_status()
            conversation_events, stop_conversation = listen(http, f"{path}/stream")
            try:
                text = f"第{round_no}条：冰箱还是不制冷"
                time.sleep(pause(0, 1.5))
                http.post(f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60)
                answered = time.monotonic()
                results["message"].append(wait_for(conversation_events, said(text)) - answered)
            finally:
                stop_conversation()
            http.post(f"{path}/close", headers={"X-CSRF-Token": csrf}, timeout=30).raise_for_status()
    finally:
        stop_queue()
    return results


@contextmanager
def stack(model: Path) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="zhiyin-bench-desk-") as tmp:
        env = {**serve.isolated_env(Path(tmp)), "DESK_HOURS": "00:00-24:00"}
        with db.session_scope(db.get_engine(env["DATABASE_URL"])) as session:
            add_staff(session, "bench", "小测", PASSWORD)
        rasa_port, action_port = free_port(), free_port()
        group = serve.servers(rasa_port, action_port, str(model))
        try:
            serve.start_group(group, START_TIMEOUT_S, Path(tmp) / "logs", env)
            yield f"http://127.0.0.1:{rasa_port}"
        finally:
            for server in reversed(group):
                server.stop()


def section(model: Path = MODEL_PATH, rounds: int = 10) -> str:
    with stack(model) as base:
        results = measure(base, rounds)
    rows = []
    for key, label in (
        ("queue", "a handoff appears in the queue"),
        ("message", "a customer's message reaches the agent"),
    ):
        stats = median_p95(results[key])
        rows.append(
            [label, f"{stats['median']:.2f} s", f"{stats['p95']:.2f} s", f"{max(results[key]):.2f} s", stats["n"]]
        )
    return "\n".join(
        [
            "## Desk: how fast the team sees customers",
            "",
            "One agent signed in and listening to the desk's streams (Server-Sent Events, as the page does); REST customers ask "
            "for a person, are taken over, and write. From the customer's REST answer to the event that shows it. Target: "
            "within 2 s.",
            "",
            table(["what", "median", "p95", "max", "rounds"], rows),
        ]
    )
