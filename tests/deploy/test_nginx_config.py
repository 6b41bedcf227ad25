"""deploy/nginx/zhiyin.conf: rendered by tools/nginx_config.py, checked by `nginx -t`, and run by
Debian's nginx in front of a fake Rasa that records what reaches it (the real stack behind it:
tests/smoke/test_nginx.py)."""

from __future__ import annotations

import dataclasses
import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple

import pytest
import requests

from tests.deploy.nginx_server import check_config, running_nginx
from tests.network import non_loopback_ipv4
from tools.nginx_config import Site, render
from zhiyin import nginx as zhiyin_nginx
from zhiyin.serve import free_port

PUBLIC_PATHS = [
    ("GET", "/chat/"),
    ("GET", "/chat/widget.js"),
    ("GET", "/socket.io/?EIO=4&transport=polling"),
    ("POST", "/webhooks/rest/webhook"),
    ("POST", "/webhooks/voice/webhook"),
    ("POST", "/webhooks/telegram/webhook"),
    ("POST", "/webhooks/slack/webhook"),
]
PRIVATE_PATHS = [
    ("GET", "/status?token=x"),
    ("GET", "/version"),
    ("GET", "/conversations/x/tracker?token=x"),
    ("POST", "/conversations/x/tracker/events?token=x"),
    ("PUT", "/model?token=x"),
    ("POST", "/model/parse?token=x"),
    ("POST", "/webhooks/actions/webhook"),
    ("GET", "/webhooks/actions/"),
    ("GET", "/webhooks/desk/"),
    ("GET", "/agent/"),
    ("GET", "/agent/login"),
    ("GET", "/"),
    ("GET", "/chat"),  # a redirect to /chat/, not proxied itself
]


class Seen(NamedTuple):
    method: str
    path: str
    headers: Dict[str, str]
    body_bytes: int


class FakeRasa:
    """An HTTP server on 127.0.0.1 that answers every request with 200 JSON and records it."""

    def __init__(self) -> None:
        self.seen: List[Seen] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                fake.seen.append(Seen(self.command, self.path, dict(self.headers), length))
                body = json.dumps({"path": self.path}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = handle_one

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def paths(self) -> List[str]:
        return [seen.path for seen in self.seen]


@pytest.fixture(scope="module")
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


class Proxy(NamedTuple):
    public: str
    private: str


def plain_site(upstream_port: int, public_port: int, private_port: int, **more: str) -> Site:
    return Site(
        upstream=f"127.0.0.1:{upstream_port}",
        public_listen=f"127.0.0.1:{public_port}",
        private_listen=more.pop("private_listen", f"127.0.0.1:{private_port}"),
        private_network=more.pop("private_network", "127.0.0.1/32"),
        tls=False,
    )


@pytest.fixture(scope="module")
def proxy(rasa: FakeRasa, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    public, private = free_port(), free_port()
    with running_nginx(tmp_path_factory.mktemp("nginx"), plain_site(rasa.port, public, private), [public, private]):
        yield Proxy(f"http://127.0.0.1:{public}", f"http://127.0.0.1:{private}")


def test_plain_http_rendering_leaves_out_tls():
    text = render(Site(upstream="127.0.0.1:9", tls=False))
    directives = [line.split("#")[0].strip() for line in text.splitlines()]
    assert not [d for d in directives if "ssl" in d or "https" in d or "Strict-Transport" in d]
    assert "listen 80;" in directives and "server 127.0.0.1:9;" in directives and "{{" not in text


def test_tls_rendering():
    text = render(Site(server_name="kefu.example.com"))
    assert "listen 443 ssl http2;" in text and "ssl_protocols TLSv1.2 TLSv1.3;" in text
    assert "Strict-Transport-Security" in text and "return 301 https://$host$request_uri;" in text
    assert "{{" not in text


def test_placeholder_without_value_is_an_error(tmp_path, monkeypatch):
    template = tmp_path / "zhiyin.conf"
    template.write_text("server { listen {{NOWHERE}}; }\n", encoding="utf-8")
    monkeypatch.setattr(zhiyin_nginx, "TEMPLATE", template)
    with pytest.raises(ValueError, match="NOWHERE"):
        render(Site())


def self_signed_certificate(folder: Path) -> Site:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kefu.example.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Site(
        # `nginx -t` binds the listening addresses: free ports on loopback, the rest as shipped.
        public_listen=f"127.0.0.1:{free_port()} ssl http2",
        redirect_listen=f"127.0.0.1:{free_port()}",
        private_listen=f"127.0.0.1:{free_port()}",
        tls_certificate=str(folder / "cert.pem"),
        tls_certificate_key=str(folder / "key.pem"),
    )


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain-http"])
def test_nginx_accepts_the_rendered_config(tmp_path, tls):
    plain = Site(tls=False, public_listen=f"127.0.0.1:{free_port()}", private_listen=f"127.0.0.1:{free_port()}")
    site = self_signed_certificate(tmp_path) if tls else plain
    checked = check_config(tmp_path / "prefix", site)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


@pytest.mark.parametrize("method, path", PUBLIC_PATHS)
def test_public_paths_reach_rasa(proxy, rasa, method, path):
    answer = requests.request(method, proxy.public + path, data=b"{}" if method == "POST" else None, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["path"] == path


@pytest.mark.parametrize("method, path", PRIVATE_PATHS)
def test_everything_else_is_404_on_the_public_listener(proxy, rasa, method, path):
    answer = requests.request(method, proxy.public + path, data=b"{}", timeout=10, allow_redirects=False)
    assert answer.status_code == (301 if path == "/chat" else 404)
    assert path not in rasa.paths()


def test_rasa_learns_the_client_address_and_nothing_a_client_claims(proxy, rasa):
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9", "Forwarded": "for=203.0.113.9"}
    answer = requests.post(proxy.public + "/webhooks/rest/webhook?forwarded", data=b"{}", headers=headers, timeout=10)
    assert answer.status_code == 200
    [seen] = [s for s in rasa.seen if s.path.endswith("?forwarded")]
    assert (seen.headers["X-Forwarded-For"], seen.headers["X-Real-IP"]) == ("127.0.0.1", "127.0.0.1")
    assert "Forwarded" not in seen.headers and seen.headers["X-Forwarded-Proto"] == "http"


def test_bodies_over_the_limit_get_413(proxy, rasa):
    big = requests.post(proxy.public + "/webhooks/rest/webhook?big", data=b"x" * 200_000, timeout=10)
    assert big.status_code == 413 and "/webhooks/rest/webhook?big" not in rasa.paths()
    voice = requests.post(proxy.public + "/webhooks/voice/webhook?voice", data=b"x" * 2_000_000, timeout=30)
    assert voice.status_code == 200
    assert [s.body_bytes for s in rasa.seen if s.path.endswith("?voice")] == [2_000_000]
    too_long = requests.post(proxy.public + "/webhooks/voice/webhook?long", data=b"x" * 11_000_000, timeout=30)
    assert too_long.status_code == 413


def test_webhooks_take_only_post(proxy):
    assert requests.get(proxy.public + "/webhooks/rest/webhook", timeout=10).status_code == 403


def test_private_listener_serves_desk_and_api_but_never_the_gateway(proxy, rasa):
    for path in ("/agent/login", "/agent/api/queue", "/status?token=x", "/conversations/x/tracker?token=x"):
        answer = requests.get(proxy.private + path, timeout=10)
        assert answer.status_code == 200 and answer.json()["path"] == path
    before = len(rasa.seen)
    for path in ("/webhooks/actions/webhook", "/webhooks/rest/webhook"):
        assert requests.post(proxy.private + path, data=b"{}", timeout=10).status_code == 404
    assert len(rasa.seen) == before


def test_private_listener_refuses_other_networks(rasa, tmp_path):
    address = non_loopback_ipv4()
    if address is None:
        pytest.skip("this machine has no IPv4 address but loopback")
    public, private = free_port(), free_port()
    site = plain_site(
        rasa.port, public, private, private_listen=f"{address}:{private}", private_network="198.51.100.0/24"
    )
    with running_nginx(tmp_path, site, [public]):
        answer = requests.get(f"http://{address}:{private}/agent/login", timeout=10)
    assert answer.status_code == 403


def test_per_client_rate_limit(rasa, tmp_path):
    public, private = free_port(), free_port()
    site = plain_site(rasa.port, public, private)
    with running_nginx(tmp_path, site, [public, private]), requests.Session() as session:
        url = f"http://127.0.0.1:{public}/webhooks/rest/webhook"
        statuses = [session.post(url, data=b"{}", timeout=10).status_code for _ in range(30)]
    assert statuses[0] == 200 and 429 in statuses


def started(fake: FakeRasa) -> FakeRasa:
    threading.Thread(target=fake.server.serve_forever, daemon=True).start()
    return fake


def test_replicas_share_rest_and_keep_a_socket_on_one(tmp_path):
    """Two replicas: REST messages go to both; the socket.io requests of one page (its
    `affinity`) all reach the same one; with one replica down, the other takes everything."""
    replicas = [started(FakeRasa()), started(FakeRasa())]
    public, private = free_port(), free_port()
    site = dataclasses.replace(
        plain_site(replicas[0].port, public, private),
        upstream=f"127.0.0.1:{replicas[0].port},127.0.0.1:{replicas[1].port}",
        client_rate="1000r/s",  # this test is one client sending fast
    )
    rendered = render(site)
    assert rendered.count(f"server 127.0.0.1:{replicas[1].port};") == 2  # both upstreams
    base = f"http://127.0.0.1:{public}"
    try:
        with running_nginx(tmp_path / "nginx", site, [public, private]):
            for _ in range(8):
                assert requests.post(f"{base}/webhooks/rest/webhook", data=b"{}", timeout=10).ok
            assert all(any("/webhooks/rest" in p for p in fake.paths()) for fake in replicas)
            for page in ("page-a", "page-b", "page-c"):
                before = [len(fake.seen) for fake in replicas]
                for _ in range(6):
                    url = f"{base}/socket.io/?EIO=4&transport=polling&affinity={page}"
                    assert requests.get(url, timeout=10).ok
                grown = [len(fake.seen) - count for fake, count in zip(replicas, before, strict=True)]
                assert sorted(grown) == [0, 6], (page, grown)
            replicas[0].server.shutdown()
            replicas[0].server.server_close()
            before = len(replicas[1].seen)
            for page in ("page-a", "page-b", "page-c"):
                assert requests.get(f"{base}/socket.io/?EIO=4&affinity={page}", timeout=10).ok
            assert requests.post(f"{base}/webhooks/rest/webhook", data=b"{}", timeout=10).ok
            assert len(replicas[1].seen) == before + 4
    finally:
        for fake in replicas:
            fake.server.server_close()


def test_metrics_are_not_public(proxy, rasa):
    """/metrics (channels/metrics.py) is 404 on the public listener, with a token or without;
    the private listener passes it on to Rasa, which wants the API token."""
    for path in ("/metrics", "/metrics/", "/metrics?token=x"):
        answer = requests.get(proxy.public + path, headers={"Authorization": "Bearer x"}, timeout=10)
        assert answer.status_code == 404
        assert path not in rasa.paths()
    answer = requests.get(proxy.private + "/metrics?token=x", timeout=10)
    assert answer.status_code == 200 and answer.json()["path"] == "/metrics?token=x"
