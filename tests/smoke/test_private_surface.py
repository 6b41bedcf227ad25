"""What only zhiyin itself may use, against the running stack: the action server (loopback,
shared secret), the action gateway (loopback, never through a proxy) and the Rasa HTTP API
(token)."""

from __future__ import annotations

import json
import socket
from typing import Any, Dict

import pytest
import requests

from channels.action_gateway import APOLOGY
from tests.helpers import user_event
from tests.network import non_loopback_ipv4
from tests.smoke.stack import Stack

pytestmark = pytest.mark.servers

ORDER = "202611016468"


def action_call(domain: Dict[str, Any], sender: str) -> bytes:
    """What Rasa sends to run action_answer_order_status for an order (rasa-sdk's format)."""
    latest = user_event(f"订单{ORDER}到哪了", "ask_order_status", [{"entity": "order_id", "value": ORDER}])
    tracker = {
        "sender_id": sender,
        "slots": {"order_id": ORDER},
        "latest_message": latest["parse_data"],
        "events": [latest],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    call = {"next_action": "action_answer_order_status", "sender_id": sender, "tracker": tracker, "domain": domain}
    return json.dumps({**call, "version": "3.6.21"}).encode()


def action_server(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.action_port}"


@pytest.mark.parametrize("headers", [{}, {"X-Action-Secret": "a guess"}], ids=["no secret", "wrong secret"])
def test_action_server_refuses_calls_without_the_secret(stack, domain, headers):
    body = action_call(domain, "private-refused")
    answer = requests.post(f"{action_server(stack)}/webhook", data=body, headers=headers, timeout=30)
    assert answer.status_code == 401 and "X-Action-Secret" in answer.json()["error"]
    assert requests.get(f"{action_server(stack)}/actions", timeout=30).status_code == 401


def test_action_server_answers_with_the_secret(stack, domain):
    headers = {"X-Action-Secret": stack.env["ACTION_SERVER_SECRET"]}
    answer = requests.post(
        f"{action_server(stack)}/webhook", data=action_call(domain, "private-ok"), headers=headers, timeout=30
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["responses"] and isinstance(result["events"], list)
    assert requests.get(f"{action_server(stack)}/health", timeout=30).status_code == 200


def test_actions_run_through_the_gateway(stack, domain):
    """Rasa → gateway → action server: the gateway adds the secret the action server wants."""
    answer = requests.post(
        f"{stack.base}/webhooks/actions/webhook", data=action_call(domain, "private-gateway"), timeout=60
    )
    assert answer.status_code == 200 and answer.json() != APOLOGY and answer.json()["responses"]
    assert "售价" in stack.texts("private-surface-price", "戴森吹风机多少钱")


def test_gateway_refuses_requests_that_came_through_a_proxy(stack, domain):
    answer = requests.post(
        f"{stack.base}/webhooks/actions/webhook",
        data=action_call(domain, "private-proxied"),
        headers={"X-Forwarded-For": "203.0.113.9"},
        timeout=60,
    )
    assert answer.status_code == 403


@pytest.mark.parametrize("server", ["action server", "Rasa server"])
def test_servers_listen_on_loopback_only(stack, server):
    address = non_loopback_ipv4()
    if address is None:
        pytest.skip("this machine has no IPv4 address but loopback: nothing to reach the servers from")
    port = stack.action_port if server == "action server" else stack.rasa_port
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # it listens …
    with pytest.raises(ConnectionRefusedError), socket.create_connection((address, port), timeout=5):
        pass  # … on loopback only


API = [
    ("GET", "/status", None, 200),
    ("GET", "/conversations/private-api/tracker", None, 200),
    ("POST", "/conversations/private-api/tracker/events", [{"event": "action", "name": "action_listen"}], 200),
    # a model file that does not exist: refused after the token was accepted, the model stays
    ("PUT", "/model", {"model_file": "/nonexistent/model.tar.gz"}, 400),
]


@pytest.mark.parametrize("method, path, body, status", API, ids=[f"{m} {p}" for m, p, _, _ in API])
def test_rasa_http_api_needs_the_token(stack, method, path, body, status):
    url = stack.base + path
    for token in (None, "wrong-token"):
        params = {"token": token} if token else None
        refused = requests.request(method, url, params=params, json=body, timeout=60)
        assert refused.status_code in (401, 403), (token, refused.text)
    accepted = requests.request(method, url, params={"token": stack.token}, json=body, timeout=120)
    assert accepted.status_code == status, accepted.text
