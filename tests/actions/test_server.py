"""actions/server.py: rasa-sdk's app for the actions package, behind the shared secret, served
for real on 127.0.0.1; and the launcher's wiring (host, plugin) without starting a server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

import pytest
from rasa_sdk.endpoint import create_app
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic

from actions import server
from zhiyin.http import http_post
from zhiyin.paths import PROJECT_ROOT
from zhiyin.serve import free_port

SECRET = "test-secret-value"
CALL = json.dumps({"next_action": "no_such_action", "tracker": {}, "domain": {}, "version": "3.6.21"}).encode()

Request = Tuple[str, str, Optional[bytes], Dict[str, str]]


def get(url: str, headers: Dict[str, str]) -> Tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def serve(requests: List[Request]) -> List[Tuple[int, Any]]:
    """rasa-sdk's app for `actions` with the secret required; answers to (method, path, body, headers)."""
    Sanic.test_mode = True  # lets Sanic 21.12 start more than one app in a process
    app = create_app("actions")
    server.require_secret(app, SECRET)
    port = free_port()
    running = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await running.startup()
    await running.after_start()
    answers = []
    try:
        for method, path, body, headers in requests:
            url = f"http://127.0.0.1:{port}{path}"
            if method == "POST":
                reply = await asyncio.to_thread(http_post, url, body or b"", headers, 30)
                answers.append((reply.status, reply.body))
            else:
                answers.append(await asyncio.to_thread(get, url, headers))
    finally:
        await running.before_stop()
        running.close()
        await running.wait_closed()
    return answers


def test_health_needs_no_secret():
    assert asyncio.run(serve([("GET", "/health", None, {})])) == [(200, {"status": "ok"})]


@pytest.mark.parametrize(
    "method, path, headers, problem",
    [
        ("POST", "/webhook", {}, "missing"),
        ("POST", "/webhook", {server.HEADER: "guess"}, "wrong"),
        ("POST", "/webhook", {server.HEADER: SECRET + "x"}, "wrong"),
        ("POST", "/webhook", {server.HEADER: ""}, "wrong"),
        ("GET", "/actions", {}, "missing"),
        ("POST", "/health", {}, "missing"),
        ("GET", "/anything", {}, "missing"),
    ],
)
def test_everything_else_needs_the_secret(caplog, method, path, headers, problem):
    caplog.set_level("WARNING", logger="actions.server")
    [(status, body)] = asyncio.run(serve([(method, path, CALL, {"Content-Type": "application/json", **headers})]))
    assert status == 401 and body["error"] == f"X-Action-Secret header {problem}"
    assert f"refused {method} {path} from 127.0.0.1" in caplog.text
    assert SECRET not in caplog.text and "guess" not in caplog.text


def test_with_the_secret_rasa_sdk_answers():
    headers = {"Content-Type": "application/json", server.HEADER: SECRET}
    [(listed, actions), (ran, result)] = asyncio.run(
        serve([("GET", "/actions", None, headers), ("POST", "/webhook", CALL, headers)])
    )
    assert listed == 200 and {"name": "action_answer_order_status"} in actions
    # the executor itself answers: the secret was accepted
    assert ran == 404 and result["action_name"] == "no_such_action"


def test_empty_secret_is_refused():
    with pytest.raises(ValueError):
        server.require_secret(Sanic("empty_secret_app", configure_logging=False), "")


@pytest.fixture
def launched(monkeypatch) -> Dict[str, Any]:
    """Runs server.main() up to rasa-sdk's own start-up, which it records instead of serving."""
    from rasa_sdk import __main__ as sdk_main

    started: Dict[str, Any] = {}

    def main_from_args(args: Any) -> None:
        import os

        started.update(args=args, host=os.environ["SANIC_HOST"])

    monkeypatch.setattr(sdk_main, "main_from_args", main_from_args)
    monkeypatch.delenv("SANIC_HOST", raising=False)
    monkeypatch.setenv("ACTION_SERVER_SECRET", SECRET)
    before = set(plugin_manager().get_plugins())
    yield started
    for plugin in set(plugin_manager().get_plugins()) - before:
        plugin_manager().unregister(plugin)


@pytest.mark.parametrize(
    "argv, environment, host",
    [
        ([], None, "127.0.0.1"),
        ([], "10.1.2.3", "10.1.2.3"),
        (["--host", "192.168.5.5"], "10.1.2.3", "192.168.5.5"),
    ],
)
def test_launcher_listens_where_told_and_attaches_the_check(launched, monkeypatch, argv, environment, host):
    if environment:
        monkeypatch.setenv("ACTION_SERVER_HOST", environment)
    else:
        monkeypatch.delenv("ACTION_SERVER_HOST", raising=False)
    server.main(["--port", "5999", *argv])
    assert launched["host"] == host
    assert (launched["args"].port, launched["args"].actions) == (5999, "actions")
    [guard] = [p for p in plugin_manager().get_plugins() if isinstance(p, server.SecretGuard)]
    assert guard.secret == SECRET


def test_importing_it_starts_nothing():
    """rasa-sdk imports every module of the actions package, this one included."""
    check = (
        "import os, actions.server; from rasa_sdk.plugin import plugin_manager; "
        "assert 'SANIC_HOST' not in os.environ and not plugin_manager().get_plugins()"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "ACTION_SERVER_SECRET": SECRET}
    subprocess.run([sys.executable, "-c", check], cwd=PROJECT_ROOT, env=env, check=True, timeout=120)


def test_zhiyin_serve_starts_this_launcher_on_loopback():
    from zhiyin.serve import HOST, servers

    action_server = servers(5005, 5055, "model.tar.gz")[0]
    assert action_server.command[1:] == ["-m", "actions.server", "--host", HOST, "--port", "5055"]
    assert action_server.health_url == f"http://{HOST}:5055/health"
