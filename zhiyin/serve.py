"""Start the action server and the Rasa server, wait until both are healthy, stop both cleanly.

Used by `make run`, the smoke tests, the benchmarks and the insight demo, so all of them start
zhiyin the same way. Needs no terminal: it can be started by scripts and CI, and stops on
SIGINT (Ctrl-C) or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from zhiyin.paths import MODEL_PATH, PROJECT_ROOT
from zhiyin.settings import (
    RASA_API_TOKEN_FILE,
    action_server_secret,
    data_keys,
    forwarded_proxies,
    lookup_key,
    rasa_api_token,
)

logger = logging.getLogger("zhiyin.serve")

HOST = "127.0.0.1"
STOP_GRACE_SECONDS = 15


@dataclass
class Server:
    name: str
    command: List[str]
    health_url: str
    # Settings that follow from the ports; they override the inherited environment.
    env: Dict[str, str] = field(default_factory=dict)
    process: Optional[subprocess.Popen] = None

    def start(self, log_dir: Optional[Path] = None, env: Optional[Dict[str, str]] = None) -> None:
        logger.info("starting %s: %s", self.name, " ".join(self.command))
        with contextlib.ExitStack() as files:
            output = None
            if log_dir is not None:
                log_dir.mkdir(parents=True, exist_ok=True)
                output = files.enter_context(open(log_dir / f"{self.name}.log", "ab"))
            # Own process group, so stopping it also stops anything it spawned. The child keeps
            # its own copy of the log file descriptor.
            self.process = subprocess.Popen(
                self.command,
                cwd=PROJECT_ROOT,
                env={**ENDPOINT_DEFAULTS, **(env or os.environ), **self.env},
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} has not been started")
        return self.process.pid

    @property
    def returncode(self) -> Optional[int]:
        """The exit code once the process has ended, else None."""
        return self.process.poll() if self.process is not None else None

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        logger.info("stopping %s", self.name)
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in %ss, killing it", self.name, STOP_GRACE_SECONDS)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for tests and benchmarks)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# endpoints.yml names these; Rasa refuses the file while one is unset. Empty means: no secret
# header (no action runs), the tracker store from TRACKER_DB_DIALECT and TRACKER_DB, and no
# shared Redis (one process).
ENDPOINT_DEFAULTS = {"ACTION_SERVER_SECRET": "", "TRACKER_DB_URL": "", "REDIS_URL": ""}


def action_server(port: int, name: str = "action-server") -> Server:
    """rasa-sdk's server, refusing calls without the secret (actions/server.py); on loopback
    like everything here, whatever ACTION_SERVER_HOST says."""
    return Server(
        name,
        [sys.executable, "-m", "actions.server", "--host", HOST, "--port", str(port)],
        f"http://{HOST}:{port}/health",
    )


def rasa_server(port: int, action_url: str, model: str, name: str = "rasa-server") -> Server:
    """The Rasa server on `port`; it calls its actions through its own gateway route, which
    forwards them to `action_url`."""
    wiring = {
        "ACTION_SERVER_URL": action_url,
        "ACTION_ENDPOINT_URL": f"http://{HOST}:{port}/webhooks/actions/webhook",
        "RASA_PORT": str(port),  # the desk calls the Rasa API here
        # Sanic's limits (read from SANIC_ variables; channels/rest.py re-reads them after Rasa
        # set its own timeouts): a body just above the voice channel's max_bytes (10 MiB,
        # credentials.yml) plus multipart; a slow client cannot hold a connection; a voice
        # message recognised on 2 cores still gets its answer.
        "SANIC_REQUEST_MAX_SIZE": str(11 * 1024 * 1024),
        "SANIC_REQUEST_TIMEOUT": "15",
        "SANIC_RESPONSE_TIMEOUT": "120",
        "SANIC_KEEP_ALIVE_TIMEOUT": "15",
        # Behind reverse proxies the client address comes from X-Forwarded-For (rate limits).
        **({"SANIC_PROXIES_COUNT": str(forwarded_proxies())} if forwarded_proxies() > 0 else {}),
    }
    command = [sys.executable, "-m", "zhiyin.rasa_cli", "run", "--enable-api", "--cors", "*"]
    command += ["--interface", HOST, "--port", str(port), "--model", model]
    command += ["--endpoints", "endpoints.yml", "--credentials", "credentials.yml"]
    # Rasa answers on / once the model is loaded (it loads before serving); /status needs the
    # API token.
    return Server(name, command, f"http://{HOST}:{port}/", wiring)


def servers(rasa_port: int, action_port: int, model: str) -> List[Server]:
    """The action server and the Rasa server; Rasa calls actions through its gateway route."""
    return [action_server(action_port), rasa_server(rasa_port, f"http://{HOST}:{action_port}/webhook", model)]


def isolated_env(directory: Path) -> Dict[str, str]:
    """Seed a SQLite database in ``directory``; the environment that points both servers at it
    and at a tracker store beside it, with Telegram and Slack off. For demo data, benchmarks
    and tests, so a developer's own data and running instance are never touched."""
    from zhiyin.db import get_engine
    from zhiyin.seed import seed_database  # imported here: `make run` starts without the database layer

    database_url = f"sqlite:///{directory / 'zhiyin.db'}"
    seed_database(get_engine(database_url))
    env = {
        **os.environ,
        "RASA_API_TOKEN": secrets.token_urlsafe(24),
        "ACTION_SERVER_SECRET": secrets.token_urlsafe(24),
        # This process's own keys, so that it (a test, the demo) can read what the servers wrote.
        "ZHIYIN_DATA_KEYS": ",".join(data_keys()),
        "ZHIYIN_LOOKUP_KEY": lookup_key().decode(),
        # Scripted customers all come from 127.0.0.1, faster than people type: no rate limits.
        "RATE_LIMIT_PER_ADDRESS": "0",
        "RATE_LIMIT_PER_SENDER": "0",
        "DATABASE_URL": database_url,
        "TRACKER_DB_DIALECT": "sqlite",
        "TRACKER_DB": str(directory / "tracker.db"),
        "TRACKER_DB_URL": "",
        "REDIS_URL": "",
        "RASA_TELEMETRY_ENABLED": "false",
    }
    for secret in ("TELEGRAM_ACCESS_TOKEN", "SLACK_TOKEN"):
        env.pop(secret, None)
    return env


class StartFailed(RuntimeError):
    """A server exited during start-up or did not become healthy in time."""


def wait_healthy(group: List[Server], timeout: float, started: Optional[float] = None) -> Dict[str, float]:
    """Seconds from `started` (time.monotonic(), default now) until each server answered its
    health check; StartFailed if one exits or the timeout passes first."""
    started = time.monotonic() if started is None else started
    ready: Dict[str, float] = {}
    while len(ready) < len(group):
        for server in group:
            if server.name in ready:
                continue
            if not server.running():
                raise StartFailed(f"{server.name} exited with code {server.returncode} during start-up")
            if server.healthy():
                ready[server.name] = time.monotonic() - started
                logger.info("%s is healthy (%s) after %.1fs", server.name, server.health_url, ready[server.name])
        if len(ready) < len(group):
            if time.monotonic() - started > timeout:
                waiting = ", ".join(s.name for s in group if s.name not in ready)
                raise StartFailed(f"{waiting} not healthy after {timeout:.0f}s")
            time.sleep(0.2)
    return ready


def start_group(
    group: List[Server], timeout: float, log_dir: Optional[Path] = None, env: Optional[Dict[str, str]] = None
) -> Dict[str, float]:
    """Start the servers together and wait until each is healthy; seconds until each was.

    On StartFailed the servers already started are stopped again, and the message names the logs.
    """
    started = time.monotonic()
    for server in group:
        server.start(log_dir, env)
    try:
        return wait_healthy(group, timeout, started)
    except StartFailed as failure:
        for server in reversed(group):
            server.stop()
        raise StartFailed(f"{failure}; see {log_dir}" if log_dir else str(failure)) from None


def first_desk_account() -> str:
    """On a fresh install, the desk's first lead account, for the start banner (shown once)."""
    from zhiyin.db import session_scope
    from zhiyin.migrate import upgrade
    from zhiyin.staff import ensure_first_lead

    upgrade()
    with session_scope() as session:
        created = ensure_first_lead(session)
    if created is None:
        return ""
    username, password = created
    return (
        f"             first lead account (shown only now, change it with `python -m zhiyin.staff passwd {username}`):\n"
        f"             username {username}  password {password}\n"
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa-port", type=int, default=int(os.environ.get("RASA_PORT", 5005)))
    parser.add_argument("--action-port", type=int, default=int(os.environ.get("ACTION_PORT", 5055)))
    parser.add_argument("--model", default=os.environ.get("RASA_MODEL", str(MODEL_PATH)))
    parser.add_argument("--start-timeout", type=float, default=180)
    parser.add_argument("--log-dir", type=Path, help="write each server's output to a file here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    # The Rasa HTTP API is never open: the server takes the token from RASA_API_TOKEN.
    token_source = "RASA_API_TOKEN" if os.environ.get("RASA_API_TOKEN") else str(RASA_API_TOKEN_FILE)
    os.environ["RASA_API_TOKEN"] = rasa_api_token()
    # Both servers need the same action server secret: read (or created) here once, before
    # they start, so they never race to create var/action-server-secret. Set in the
    # environment also because endpoints.yml names it, for Rasa's direct calls (`rasa shell`).
    os.environ["ACTION_SERVER_SECRET"] = action_server_secret()
    # The keys of personal data at rest (zhiyin.crypto): created once here for the same reason.
    data_keys()
    lookup_key()
    first_lead = first_desk_account()
    group = servers(args.rasa_port, args.action_port, args.model)
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        logger.info("received %s, shutting down", signal.Signals(signum).name)
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        try:
            start_group(group, args.start_timeout, args.log_dir)
        except StartFailed as failure:
            logger.error("%s", failure)
            return 1
        base = f"http://{HOST}:{args.rasa_port}"
        print(
            f"\n智音客服 zhiyin is ready.\n"
            f"  web chat:  {base}/chat/\n"
            f'  REST:      curl -s {base}/webhooks/rest/webhook -d \'{{"sender": "me", "message": "你好"}}\'\n'
            f"  socket.io: {base}/socket.io/\n"
            f"  desk:      {base}/agent/  (staff accounts: python -m zhiyin.staff add NAME --name 小王)\n"
            f"{first_lead}"
            f"  HTTP API:  {base}/status?token=…  (token from {token_source})\n"
            f"  terminal:  make shell\n"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
        while not stopping:
            for server in group:
                if not server.running():
                    logger.error("%s exited unexpectedly (code %s)", server.name, server.returncode)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        for server in reversed(group):
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
