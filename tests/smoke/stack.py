"""The running stack the smoke and browser tests talk to: action server + Rasa server.

Started the way `make run` starts them (zhiyin.serve), once per test session, on free ports
with a temporary database and tracker store, so a developer's running instance is not
disturbed; Telegram points at a fake Bot API on 127.0.0.1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from tests.fakes.telegram_api import FakeTelegramAPI
from zhiyin import db, serve
from zhiyin.http import http_post
from zhiyin.paths import MODEL_PATH
from zhiyin.serve import free_port

MODEL = MODEL_PATH
START_TIMEOUT = 240


def post(url: str, body: bytes, timeout: float = 60):
    """POST JSON; (status, parsed answer)."""
    return http_post(url, body, {"Content-Type": "application/json"}, timeout)[:2]


@dataclass
class Stack:
    env: Dict[str, str]
    rasa_port: int
    action_port: int
    log_dir: Path
    action_server: serve.Server
    rasa_server: serve.Server

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def say(self, sender: str, text: str) -> List[Dict]:
        body = json.dumps({"sender": sender, "message": text}).encode()
        status, replies = post(f"{self.base}/webhooks/rest/webhook", body)
        assert status == 200, replies
        return replies

    def texts(self, sender: str, text: str) -> str:
        return "\n".join(r.get("text", "") for r in self.say(sender, text))

    def restart(self, server: serve.Server, env: Dict[str, str] = None) -> None:
        server.stop()
        server.start(self.log_dir, env or self.env)
        try:
            serve.wait_healthy([server], START_TIMEOUT)
        except serve.StartFailed as failure:
            pytest.fail(f"{failure}\n{(self.log_dir / f'{server.name}.log').read_text()[-3000:]}")


TELEGRAM_SECRET = "smoke-secret"


@pytest.fixture(scope="session")
def telegram_api() -> Iterator[FakeTelegramAPI]:
    with FakeTelegramAPI().in_thread() as api:
        yield api


@pytest.fixture(scope="session")
def stack(tmp_path_factory, telegram_api) -> Iterator[Stack]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} missing: run `make train` first (make test does)")
    tmp = tmp_path_factory.mktemp("stack")
    rasa_port, action_port = free_port(), free_port()
    env = {
        **serve.isolated_env(tmp),
        "TELEGRAM_ACCESS_TOKEN": telegram_api.token,
        "TELEGRAM_API_URL": telegram_api.url,
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{rasa_port}/webhooks/telegram/webhook",
    }
    action_server, rasa_server = serve.servers(rasa_port, action_port, str(MODEL))
    result = Stack(env, rasa_port, action_port, tmp / "logs", action_server, rasa_server)
    try:
        serve.start_group([action_server, rasa_server], START_TIMEOUT, result.log_dir, env)
        yield result
    finally:
        rasa_server.stop()
        action_server.stop()


@pytest.fixture
def engine(stack):
    return db.get_engine(stack.env["DATABASE_URL"])
