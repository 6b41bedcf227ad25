"""Debian's nginx with deploy/nginx/zhiyin.conf (plain HTTP) in front of the running stack: the
public listener serves customers and nothing else, the private one the desk and the API."""

from __future__ import annotations

import asyncio
import json
from typing import Iterator, NamedTuple

import pytest
import requests

from tests.deploy.nginx_server import running_nginx
from tools.nginx_config import Site
from zhiyin.serve import free_port

pytestmark = pytest.mark.servers


class Proxy(NamedTuple):
    public: str
    private: str


@pytest.fixture(scope="module")
def proxy(stack, tmp_path_factory) -> Iterator[Proxy]:
    public, private = free_port(), free_port()
    site = Site(
        upstream=f"127.0.0.1:{stack.rasa_port}",
        public_listen=f"127.0.0.1:{public}",
        private_listen=f"127.0.0.1:{private}",
        private_network="127.0.0.1/32",
        tls=False,
    )
    with running_nginx(tmp_path_factory.mktemp("nginx"), site, [public, private]):
        yield Proxy(f"http://127.0.0.1:{public}", f"http://127.0.0.1:{private}")


def test_chat_page_and_widget(proxy):
    page = requests.get(f"{proxy.public}/chat/", timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert requests.get(f"{proxy.public}/chat/widget.js", timeout=30).status_code == 200


def test_rest_webhook_answers(proxy):
    body = {"sender": "nginx-rest", "message": "你好"}
    answer = requests.post(f"{proxy.public}/webhooks/rest/webhook", json=body, timeout=120)
    assert answer.status_code == 200 and answer.json() and answer.json()[0]["text"]


def test_socketio_polling_handshake(proxy):
    answer = requests.get(f"{proxy.public}/socket.io/?EIO=4&transport=polling", timeout=30)
    assert answer.status_code == 200 and answer.text.startswith("0{") and "sid" in answer.text


def test_socketio_websocket_upgrade(proxy):
    import websockets

    async def open_packet() -> str:
        url = proxy.public.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        async with websockets.connect(url, open_timeout=30) as socket:
            return str(await asyncio.wait_for(socket.recv(), 30))

    packet = asyncio.run(open_packet())
    assert packet.startswith("0") and "sid" in json.loads(packet[1:])


def test_private_paths_are_404_on_the_public_listener(stack, proxy):
    token = {"token": stack.token}
    # each answers directly on Rasa's port …
    assert requests.get(f"{stack.base}/status", params=token, timeout=30).status_code == 200
    # … and not through the public listener
    for path in ("/status", "/conversations/nginx-x/tracker", "/model", "/version"):
        assert requests.get(proxy.public + path, params=token, timeout=30).status_code == 404, path
    assert requests.post(f"{proxy.public}/webhooks/actions/webhook", data=b"{}", timeout=30).status_code == 404
    assert requests.get(f"{proxy.public}/agent/", timeout=30, allow_redirects=False).status_code == 404
    assert requests.get(f"{proxy.public}/agent/login", timeout=30).status_code == 404


def test_body_over_the_limit_gets_413_from_nginx(proxy):
    body = json.dumps({"sender": "nginx-big", "message": "好" * 40_000}).encode()  # 120 kB
    answer = requests.post(f"{proxy.public}/webhooks/rest/webhook", data=body, timeout=30)
    assert answer.status_code == 413 and "nginx" in answer.text


def test_private_listener_serves_desk_and_api(stack, proxy):
    login = requests.get(f"{proxy.private}/agent/login", timeout=30)
    assert login.status_code == 200 and "text/html" in login.headers["Content-Type"]
    assert requests.get(f"{proxy.private}/status", timeout=30).status_code in (401, 403)
    assert requests.get(f"{proxy.private}/status", params={"token": stack.token}, timeout=30).status_code == 200
    assert requests.post(f"{proxy.private}/webhooks/actions/webhook", data=b"{}", timeout=30).status_code == 404
