"""A local redis-server (Debian package) for `make cluster` and the tests: on 127.0.0.1, in a
directory of its own, nothing persisted, stopped with its owner."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import List, Optional

import redis

HOST = "127.0.0.1"


def redis_binary() -> Optional[str]:
    return shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)


class RedisServer:
    """redis-server on `port`, with `password` when given (as in production)."""

    def __init__(self, directory: Path, port: int, password: Optional[str] = None) -> None:
        self.directory = directory
        self.port = port
        self.password = password
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{HOST}:{self.port}/0"

    def command(self) -> List[str]:
        binary = redis_binary()
        if binary is None:
            raise FileNotFoundError("redis-server not installed: `make redis` (Debian package redis-server)")
        command = [binary, "--bind", HOST, "--port", str(self.port), "--dir", str(self.directory)]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"]
        command += ["--logfile", str(self.directory / "redis.log")]
        if self.password:
            command += ["--requirepass", self.password]
        return command

    def start(self, timeout: float = 15) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(self.command(), start_new_session=True)
        deadline = time.monotonic() + timeout
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        while True:
            try:
                if client.ping():
                    return self
            except redis.RedisError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"redis-server did not start on port {self.port}; see {self.directory / 'redis.log'}"
                )
            time.sleep(0.1)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
