"""The gateway against real HTTP servers on 127.0.0.1 (aiohttp), one per behaviour."""

import asyncio
import json

import pytest
from aiohttp import web

from channels.action_gateway import APOLOGY, ActionGatewayInput
from tests.fakes.http import one_route_server
from zhiyin.serve import free_port

REQUEST = json.dumps({"next_action": "action_answer_product", "tracker": {}}).encode()


async def forward_via(handler, timeout: float = 5.0):
    """Run a one-route action server with `handler`, forward REQUEST through the gateway."""
    async with one_route_server(handler) as url:
        return await ActionGatewayInput(url, timeout).forward(REQUEST)


def body(reply):
    return json.loads(reply.body)


def test_success_passes_through():
    async def ok(request):
        assert json.loads(await request.read())["next_action"] == "action_answer_product"
        return web.json_response({"events": [{"event": "slot", "name": "product", "value": "小米14"}], "responses": []})

    reply = asyncio.run(forward_via(ok))
    assert reply.status == 200 and body(reply)["events"][0]["value"] == "小米14"


def test_rejection_passes_through():
    async def rejected(_):
        return web.json_response({"action_name": "validate_complaint_form", "error": "rejected"}, status=400)

    reply = asyncio.run(forward_via(rejected))
    assert reply.status == 400 and body(reply)["error"] == "rejected"


def test_crashed_action_gets_apology(caplog):
    async def crash(_):
        return web.Response(status=500, text="Traceback ...")

    reply = asyncio.run(forward_via(crash))
    assert (reply.status, body(reply)) == (200, APOLOGY)
    assert "action_answer_product" in caplog.text and "500" in caplog.text


def test_slow_action_gets_apology():
    async def slow(_):
        await asyncio.sleep(2)
        return web.json_response({"events": []})

    assert body(asyncio.run(forward_via(slow, timeout=0.5))) == APOLOGY


def test_unreachable_action_server_gets_apology(caplog):
    gateway = ActionGatewayInput(f"http://127.0.0.1:{free_port()}/webhook", 5)
    reply = asyncio.run(gateway.forward(REQUEST))
    assert body(reply) == APOLOGY
    assert "unreachable" in caplog.text


@pytest.mark.parametrize(
    "credentials, env, url",
    [
        ({"url": "http://127.0.0.1:1/webhook"}, None, "http://127.0.0.1:1/webhook"),
        (None, "http://127.0.0.1:2/webhook", "http://127.0.0.1:2/webhook"),
        ({}, None, "http://127.0.0.1:5055/webhook"),
    ],
)
def test_target_from_credentials_then_environment(monkeypatch, credentials, env, url):
    if env:
        monkeypatch.setenv("ACTION_SERVER_URL", env)
    else:
        monkeypatch.delenv("ACTION_SERVER_URL", raising=False)
    assert ActionGatewayInput.from_credentials(credentials).action_server_url == url
