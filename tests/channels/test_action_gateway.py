"""The gateway against real HTTP servers on 127.0.0.1 (aiohttp), one per behaviour."""

import asyncio
import json

import pytest
from aiohttp import web
from sanic import Sanic

from channels.action_gateway import APOLOGY, ActionGatewayInput
from tests.channels.webhook_server import serve_channel
from tests.fakes.http import one_route_server
from tests.network import non_loopback_ipv4
from zhiyin.http import http_post
from zhiyin.serve import free_port

REQUEST = json.dumps({"next_action": "action_answer_product", "tracker": {}}).encode()
SECRET = "gateway-test-secret"


async def forward_via(handler, timeout: float = 5.0):
    """Run a one-route action server with `handler`, forward REQUEST through the gateway."""
    async with one_route_server(handler) as url:
        return await ActionGatewayInput(url, timeout, SECRET).forward(REQUEST)


def body(reply):
    return json.loads(reply.body)


def test_success_passes_through():
    async def ok(request):
        assert json.loads(await request.read())["next_action"] == "action_answer_product"
        assert request.headers["X-Action-Secret"] == SECRET
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
    gateway = ActionGatewayInput(f"http://127.0.0.1:{free_port()}/webhook", 5, SECRET)
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
    monkeypatch.setenv("ACTION_SERVER_SECRET", SECRET)  # else var/action-server-secret is created
    if env:
        monkeypatch.setenv("ACTION_SERVER_URL", env)
    else:
        monkeypatch.delenv("ACTION_SERVER_URL", raising=False)
    assert ActionGatewayInput.from_credentials(credentials).action_server_url == url


def test_refused_secret_gets_apology(caplog):
    async def refused(_):
        return web.json_response({"error": "X-Action-Secret header wrong", "status": 401}, status=401)

    assert body(asyncio.run(forward_via(refused))) == APOLOGY
    assert "ACTION_SERVER_SECRET" in caplog.text and SECRET not in caplog.text


def test_secret_from_the_settings(monkeypatch):
    monkeypatch.setenv("ACTION_SERVER_SECRET", "from-the-environment")
    gateway = ActionGatewayInput.from_credentials({})
    assert gateway.headers["X-Action-Secret"] == "from-the-environment"


def test_route_forwards_loopback_but_refuses_proxied_requests():
    async def ok(request):
        return web.json_response({"events": [], "secret": request.headers.get("X-Action-Secret")})

    async def run():
        async with one_route_server(ok) as url:
            gateway = ActionGatewayInput(url, 5, SECRET)
            return await serve_channel(
                gateway,
                "/webhooks/actions",
                [
                    (REQUEST, {"X-Action-Secret": "whatever a caller sends"}),
                    (REQUEST, {"X-Forwarded-For": "203.0.113.9"}),
                    (REQUEST, {"X-Real-IP": "203.0.113.9"}),
                    (REQUEST, {"Forwarded": "for=203.0.113.9"}),
                ],
            )

    answers, _ = asyncio.run(run())
    assert answers[0][:2] == (200, {"events": [], "secret": SECRET})
    assert [status for status, _, _ in answers[1:]] == [403, 403, 403]


def test_route_refuses_other_addresses():
    address = non_loopback_ipv4()
    if address is None:
        pytest.skip("this machine has no IPv4 address but loopback")

    async def run():
        Sanic.test_mode = True
        app = Sanic(f"gateway_test_{free_port()}")
        app.blueprint(
            ActionGatewayInput(f"http://127.0.0.1:{free_port()}/webhook", 5, SECRET).blueprint(None), url_prefix="/g"
        )
        port = free_port()
        server = await app.create_server(host=address, port=port, return_asyncio_server=True)
        await server.startup()
        await server.after_start()
        try:
            return await asyncio.to_thread(http_post, f"http://{address}:{port}/g/webhook", REQUEST, {}, 30)
        finally:
            await server.before_stop()
            server.close()
            await server.wait_closed()

    reply = asyncio.run(run())
    assert reply.status == 403 and "loopback" in reply.body["error"]


def test_action_answers_are_still_checked_by_the_compiled_validator():
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    from channels.action_gateway import compile_action_result_check

    compile_action_result_check()
    assert RemoteAction._validate_action_result.compiled
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1/webhook"))
    assert action._validate_action_result({"events": [{"event": "slot", "name": "a", "value": 1}], "responses": []})
    with pytest.raises(ValidationError, match="make sure your response"):
        action._validate_action_result({"events": [{"no_event_key": 1}], "responses": []})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})
