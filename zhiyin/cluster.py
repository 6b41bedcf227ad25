"""`make cluster`: zhiyin as it runs in production, on this machine.

PostgreSQL (the business database and the tracker store), Redis (conversation locks, rate
limits, webhook dedupe, socket.io delivery across replicas), N Rasa servers, M action servers
and nginx in front, all on 127.0.0.1 (Debian packages). nginx listens where `make run`'s Rasa
server does (RASA_PORT, 5005) with the public surface of deploy/nginx/zhiyin.conf, so every
client, page and script uses the same URL; the desk and the Rasa HTTP API are on the private
port (CLUSTER_PRIVATE_PORT, 5010). Any REST message may land on any replica; a socket.io client
stays on one (nginx hashes its `affinity` query parameter). Rasa reaches the action servers
through its gateway and an nginx upstream on ACTION_PORT (5055).

    python -m zhiyin.cluster --replicas 2 --action-servers 2

Ctrl-C (or SIGTERM) stops everything. SIGHUP rolls the model file out again, replica by replica:
a new replica is started and healthy before nginx sends it traffic, and the old one gets no new
requests before it is stopped, so no request is dropped (`make train`, then `kill -HUP <pid>`).
Data stays in var/cluster/ between runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from sqlalchemy import create_engine, text

from zhiyin.nginx import Nginx, Site
from zhiyin.paths import MODEL_PATH, VAR_DIR
from zhiyin.redis_server import RedisServer
from zhiyin.serve import (
    HOST,
    Server,
    StartFailed,
    action_server,
    free_port,
    rasa_server,
    wait_healthy,
)
from zhiyin.settings import action_server_secret, data_keys, lookup_key, rasa_api_token, secret_from

logger = logging.getLogger("zhiyin.cluster")

CLUSTER_DIR = VAR_DIR / "cluster"
# A replica that was taken out of nginx finishes the requests it has before it is stopped.
DRAIN_SECONDS = 2.0
PG_DATABASES = ("zhiyin", "tracker")


def _as_postgres(command: List[str]) -> List[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def postgres_bindir() -> Optional[Path]:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    return found[-1] if found else None


class PostgresServer:
    """A PostgreSQL server in `directory` (created on first start, kept afterwards) on `port`."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.process: Optional[subprocess.Popen] = None

    def url(self, database: str) -> str:
        return f"postgresql://zhiyin@{HOST}:{self.port}/{database}"

    def start(self, timeout: float = 60) -> PostgresServer:
        bindir = postgres_bindir()
        if bindir is None:
            raise FileNotFoundError("PostgreSQL not installed: `make cluster` installs the Debian package postgresql")
        data = self.directory / "data"
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        if not (data / "PG_VERSION").exists():
            subprocess.run(
                _as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "zhiyin", "-A", "trust", "-E", "UTF8"])
                + ["--locale", "C.UTF-8"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        with open(self.directory / "postgres.log", "ab") as log:
            self.process = subprocess.Popen(
                _as_postgres(
                    [str(bindir / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self.directory)]
                )
                + ["-c", f"listen_addresses={HOST}", "-c", "synchronous_commit=off", "-c", "max_connections=300"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        engine = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        while True:
            try:
                with engine.connect() as connection:
                    present = {row[0] for row in connection.execute(text("SELECT datname FROM pg_database"))}
                    for database in PG_DATABASES:
                        if database not in present:
                            connection.execute(text(f'CREATE DATABASE "{database}"'))
                engine.dispose()
                return self
            except Exception:  # not accepting connections yet
                if self.process.poll() is not None or time.monotonic() > deadline:
                    engine.dispose()
                    self.stop()
                    raise StartFailed(f"PostgreSQL did not start; see {self.directory / 'postgres.log'}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # fast shutdown: clients are gone by now
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class Replica:
    server: Server
    port: int

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"


class Cluster:
    """The whole topology; `start()` brings it up, `stop()` takes it down in reverse order."""

    def __init__(
        self,
        directory: Path = CLUSTER_DIR,
        model: str = str(MODEL_PATH),
        replicas: int = 2,
        action_servers: int = 2,
        public_port: int = 5005,
        private_port: int = 5010,
        action_port: int = 5055,
        env: Optional[Dict[str, str]] = None,
        start_timeout: float = 300,
    ) -> None:
        self.directory = directory
        self.model = model
        self.replica_count = replicas
        self.action_server_count = action_servers
        self.public_port = public_port
        self.private_port = private_port
        self.action_port = action_port
        self.extra_env = env or {}
        self.start_timeout = start_timeout
        self.postgres = PostgresServer(directory / "postgres", free_port())
        password = secret_from("CLUSTER_REDIS_PASSWORD", directory / "redis-password", lambda: secrets.token_hex(16))
        self.redis = RedisServer(directory / "redis", free_port(), password=password)
        self.nginx = Nginx(directory / "nginx", access_log=False)
        self.action_servers: List[Replica] = []
        self.replicas: List[Replica] = []
        self._generation = 0
        self._changing = threading.Lock()

    # ---- environment ------------------------------------------------------------------------

    @property
    def log_dir(self) -> Path:
        return self.directory / "logs"

    def env(self) -> Dict[str, str]:
        """Settings of every zhiyin process in the cluster."""
        return {
            **os.environ,
            "RASA_API_TOKEN": rasa_api_token(),
            "ACTION_SERVER_SECRET": action_server_secret(),
            "ZHIYIN_DATA_KEYS": ",".join(data_keys()),
            "ZHIYIN_LOOKUP_KEY": lookup_key().decode(),
            "DATABASE_URL": self.postgres.url("zhiyin"),
            "TRACKER_DB_DIALECT": "postgresql",
            "TRACKER_DB": "tracker",
            "TRACKER_DB_URL": self.postgres.url("tracker"),
            "REDIS_URL": self.redis.url,
            # nginx is the one proxy in front: the client address is in X-Forwarded-For.
            "FORWARDED_PROXIES": "1",
            "SANIC_PROXIES_COUNT": "1",
            "RASA_TELEMETRY_ENABLED": "false",
            **self.extra_env,
        }

    def site(self) -> Site:
        """deploy/nginx/zhiyin.conf for the current replicas, on loopback, without TLS. Limits
        per client address are raised: here every client, a benchmark's 64 too, is 127.0.0.1."""
        return Site(
            upstream=",".join(replica.address for replica in self.replicas),
            server_name="localhost",
            public_listen=f"{HOST}:{self.public_port}",
            private_listen=f"{HOST}:{self.private_port}",
            private_network=f"{HOST}/32",
            client_rate="10000r/s",
            client_burst="10000",
            rest_burst="10000",
            connections_per_address="10000",
            tls=False,
        )

    def action_upstream(self) -> str:
        """An nginx server on ACTION_PORT spreading the Rasa servers' action calls."""
        servers = "\n".join(f"        server {server.address};" for server in self.action_servers)
        return f"""
    upstream zhiyin_actions {{
{servers}
        keepalive 16;
    }}
    server {{
        listen {HOST}:{self.action_port};
        allow {HOST};
        deny all;
        location / {{
            proxy_pass http://zhiyin_actions;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_read_timeout 60s;
        }}
    }}"""

    # ---- processes --------------------------------------------------------------------------

    def _new_replica(self, model: Optional[str] = None) -> Replica:
        self._generation += 1
        port = free_port()
        name = f"rasa-{self._generation}"
        server = rasa_server(port, f"http://{HOST}:{self.action_port}/webhook", model or self.model, name)
        return Replica(server, port)

    def _start(self, group: List[Replica], env: Dict[str, str]) -> None:
        for replica in group:
            replica.server.start(self.log_dir, env)
        try:
            wait_healthy([replica.server for replica in group], self.start_timeout)
        except StartFailed as failure:
            for replica in group:
                replica.server.stop()
            raise StartFailed(f"{failure}; see {self.log_dir}") from None

    def start(self) -> None:
        from zhiyin.db import get_engine
        from zhiyin.seed import seed_database

        self.postgres.start()
        self.redis.start()
        env = self.env()
        # Migrations and seed data once, before any server (a Kubernetes Job does it there).
        engine = get_engine(env["DATABASE_URL"])
        seed_database(engine)
        engine.dispose()
        self.action_servers = []
        for index in range(self.action_server_count):
            port = free_port()
            self.action_servers.append(Replica(action_server(port, f"action-server-{index + 1}"), port))
        self.replicas = [self._new_replica() for _ in range(self.replica_count)]
        self._start(self.action_servers + self.replicas, env)
        self.nginx.write_config(self.site(), self.action_upstream())
        self.nginx.start([self.public_port, self.private_port, self.action_port])

    def replace_replica(self, index: int, model: Optional[str] = None, env: Optional[Dict[str, str]] = None) -> None:
        """Replica `index` replaced by a new process (a new model, new settings) without
        dropping a request: start, wait healthy, switch nginx, drain, stop the old one."""
        with self._changing:
            old = self.replicas[index]
            new = self._new_replica(model)
            self._start([new], {**self.env(), **(env or {})})
            self.replicas[index] = new
            self.nginx.reload(self.site(), self.action_upstream())
            time.sleep(DRAIN_SECONDS)
            old.server.stop()
            logger.info("replica %s replaced by %s", old.server.name, new.server.name)

    def rollout(self, model: Optional[str] = None, env: Optional[Dict[str, str]] = None) -> None:
        """Every replica replaced, one at a time (a new model file, or a restart)."""
        for index in range(len(self.replicas)):
            self.replace_replica(index, model, env)

    def kill_replica(self, index: int) -> None:
        """SIGKILL, as when a machine or pod dies: nginx finds out by itself."""
        server = self.replicas[index].server
        if server.process is not None:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()

    def unhealthy(self) -> List[str]:
        """Names of the processes that have exited."""
        processes = [r.server for r in self.action_servers + self.replicas]
        dead = [server.name for server in processes if not server.running()]
        if not self.nginx.running():
            dead.append("nginx")
        return dead

    def stop(self) -> None:
        self.nginx.stop()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda replica: replica.server.stop(), self.replicas + self.action_servers))
        self.redis.stop()
        self.postgres.stop()

    def banner(self) -> str:
        base = f"http://{HOST}:{self.public_port}"
        private = f"http://{HOST}:{self.private_port}"
        replicas = ", ".join(replica.address for replica in self.replicas)
        return (
            f"\n智音客服 zhiyin cluster is ready: {len(self.replicas)} Rasa replicas ({replicas}), "
            f"{len(self.action_servers)} action servers, PostgreSQL, Redis, nginx.\n"
            f"  web chat:  {base}/chat/\n"
            f'  REST:      curl -s {base}/webhooks/rest/webhook -d \'{{"sender": "me", "message": "你好"}}\'\n'
            f"  socket.io: {base}/socket.io/\n"
            f"  desk:      {private}/agent/  (private port; staff accounts: python -m zhiyin.staff add NAME)\n"
            f"  HTTP API:  {private}/status?token=…\n"
            f"  database:  {self.postgres.url('zhiyin')}\n"
            f"  logs:      {self.log_dir}\n"
            f"Roll the model out again: kill -HUP {os.getpid()}. Press Ctrl-C to stop.\n"
        )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS") or 2))
    parser.add_argument("--action-servers", type=int, default=int(os.environ.get("ACTION_SERVERS") or 2))
    parser.add_argument("--model", default=os.environ.get("RASA_MODEL", str(MODEL_PATH)))
    parser.add_argument("--port", type=int, default=int(os.environ.get("RASA_PORT") or 5005))
    parser.add_argument("--private-port", type=int, default=int(os.environ.get("CLUSTER_PRIVATE_PORT") or 5010))
    parser.add_argument("--action-port", type=int, default=int(os.environ.get("ACTION_PORT") or 5055))
    parser.add_argument("--dir", type=Path, default=CLUSTER_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    cluster = Cluster(
        args.dir, args.model, args.replicas, args.action_servers, args.port, args.private_port, args.action_port
    )
    events: List[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        events.append(signal.Signals(signum).name)

    for name in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(name, on_signal)
    try:
        try:
            cluster.start()
        except (StartFailed, RuntimeError, FileNotFoundError) as failure:
            logger.error("%s", failure)
            return 1
        os.environ["DATABASE_URL"] = cluster.env()["DATABASE_URL"]
        from zhiyin.serve import first_desk_account

        print(cluster.banner() + first_desk_account(), flush=True)
        while True:
            if events:
                event = events.pop(0)
                if event != "SIGHUP":
                    logger.info("received %s, shutting down", event)
                    return 0
                logger.info("SIGHUP: rolling %s out to every replica", args.model)
                try:
                    cluster.rollout()
                except StartFailed as failure:
                    logger.error("rollout stopped, the old replicas keep serving: %s", failure)
            dead = cluster.unhealthy()
            if dead:
                logger.error("%s exited unexpectedly", ", ".join(dead))
                return 1
            time.sleep(0.5)
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
