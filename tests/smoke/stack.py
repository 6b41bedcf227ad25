"""The running stack the smoke and browser tests talk to: action server + Rasa server.

Started the way `make run` starts them (zhiyin.serve), once per test session, on free ports
with a temporary database and tracker store, so a developer's running instance is not
disturbed; Telegram and Slack point at fake APIs on 127.0.0.1.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest

from tests.fakes.slack_api import SIGNING_SECRET, FakeSlackAPI
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


def wait_for(condition: Callable[[], object], timeout: float = 30, every: float = 0.2) -> object:
    """Poll until `condition()` is truthy and return it; fail after `timeout` seconds. For
    channels that answer the platform first and the customer afterwards (Slack)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not true after {timeout}s: {condition}")
        time.sleep(every)


def http_get(url: str, timeout: float = 30):
    """GET; (status, parsed JSON or text), error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            raw, status = answer.read(), answer.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


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

    @property
    def token(self) -> str:
        """The Rasa HTTP API token of this stack."""
        return self.env["RASA_API_TOKEN"]

    def tracker(self, sender: str) -> Dict:
        status, tracker = http_get(f"{self.base}/conversations/{sender}/tracker?token={self.token}")
        assert status == 200, tracker
        return tracker

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
CUSTOMER_TOKEN_SECRET = "smoke-shop-site-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def telegram_api() -> Iterator[FakeTelegramAPI]:
    with FakeTelegramAPI().in_thread() as api:
        yield api


@pytest.fixture(scope="session")
def slack_api() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI().in_thread() as api:
        yield api


@pytest.fixture(scope="session")
def stack(tmp_path_factory, telegram_api, slack_api) -> Iterator[Stack]:
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
        "SLACK_TOKEN": slack_api.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api.url,
        # The desk serves around the clock here; tests/actions covers service hours.
        "DESK_HOURS": "00:00-24:00",
        # Every smoke test talks from 127.0.0.1: limits far above what they send.
        # tests/smoke/test_limits.py restarts the Rasa server at low ones.
        "RATE_LIMIT_PER_ADDRESS": "1000000",
        "RATE_LIMIT_PER_SENDER": "1000000",
        # Every test customer comes from 127.0.0.1: the per-address limit on order verification
        # is tested in tests/actions/test_verification.py, the per-conversation one here.
        "VERIFY_MAX_FAILURES_PER_ADDRESS": "1000",
        # What the shop's site signs its customer tokens with (tests/smoke/test_security.py).
        "CUSTOMER_TOKEN_SECRET": CUSTOMER_TOKEN_SECRET,
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


PASSWORD = "smoke desk password"
# sun is only for the throttling test, which locks the account for a while.
TEAM = (("zhao", "赵组长", "lead"), ("wang", "小王", "agent"), ("li", "小李", "agent"), ("sun", "小孙", "agent"))


@pytest.fixture(scope="session")
def team(stack) -> Dict[str, str]:
    """Desk accounts in the stack's database: a lead (zhao) and agents (wang, li, sun); all share
    PASSWORD. Returns username -> display name."""
    from zhiyin.staff import add_staff

    with db.session_scope(db.get_engine(stack.env["DATABASE_URL"])) as session:
        for username, name, role in TEAM:
            add_staff(session, username, name, PASSWORD, role)
    return {username: name for username, name, _ in TEAM}


class Desk:
    """A person signed in to the desk of a stack, through its HTTP API (cookie and CSRF token)."""

    def __init__(self, stack: Stack) -> None:
        import requests

        self.base = f"{stack.base}/agent"
        self.http = requests.Session()
        self.csrf = ""

    def login(self, username: str, password: str = PASSWORD):
        answer = self.http.post(f"{self.base}/api/login", json={"username": username, "password": password}, timeout=30)
        if answer.status_code == 200:
            self.csrf = answer.json()["csrf"]
        return answer

    def get(self, path: str):
        return self.http.get(f"{self.base}{path}", timeout=30, allow_redirects=False)

    def post(self, path: str, body: Dict = None, csrf: bool = True):
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return self.http.post(f"{self.base}{path}", json=body or {}, headers=headers, timeout=30)

    def entry(self, sender: str) -> Optional[Dict]:
        """The queue entry (waiting, mine or others) of a conversation, if it is in the queue."""
        queue = self.get("/api/queue").json()
        entries = [e for part in ("waiting", "mine", "others") for e in queue[part] if e["sender"] == sender]
        return entries[0] if entries else None

    def ticket_for(self, sender: str) -> Dict:
        entry = self.entry(sender)
        assert entry, f"{sender} is not in the queue"
        return entry

    def transcript(self, ticket_id: int) -> List[Dict]:
        return self.get(f"/api/conversations/{ticket_id}").json()["transcript"]
