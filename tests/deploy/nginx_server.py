"""Debian's nginx run by a test: the rendered deploy/nginx config in a temporary prefix.

The generated nginx.conf keeps everything nginx writes (pid, logs, temporary files) in the
prefix, so it runs without root and without touching /etc/nginx or /var/lib/nginx.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

from tools.nginx_config import Site, render

MAIN_CONF = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
{user}
events {{
    worker_connections 256;
}}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {site};
}}
"""


def nginx_binary() -> Optional[str]:
    """Debian's nginx (in /usr/sbin, which a non-root PATH may lack), or None."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def require_nginx() -> str:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx not installed: `make nginx` (tools/ensure-debian-packages nginx)")
    return binary


def write_config(prefix: Path, site: Site) -> Path:
    """nginx.conf in `prefix` including the rendered site; its path."""
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "zhiyin.conf").write_text(render(site), encoding="utf-8")
    # As root, workers would run as nobody, who cannot enter pytest's temporary folders.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(MAIN_CONF.format(prefix=prefix, user=user, site=prefix / "zhiyin.conf"), encoding="utf-8")
    return conf


def nginx_command(prefix: Path, *arguments: str) -> List[str]:
    return [
        require_nginx(),
        "-p",
        str(prefix),
        "-c",
        str(prefix / "nginx.conf"),
        "-e",
        str(prefix / "error.log"),
        *arguments,
    ]


def check_config(prefix: Path, site: Site) -> subprocess.CompletedProcess:
    """`nginx -t` on the site's configuration."""
    write_config(prefix, site)
    return subprocess.run(nginx_command(prefix, "-t"), capture_output=True, text=True, timeout=30)


def listening(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


@contextlib.contextmanager
def running_nginx(prefix: Path, site: Site, ports: List[int], host: str = "127.0.0.1") -> Iterator[Path]:
    """nginx serving `site` until the block ends; waits until it accepts on `ports`."""
    write_config(prefix, site)
    process = subprocess.Popen(
        nginx_command(prefix, "-g", "daemon off;"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not all(listening(host, port) for port in ports):
            if process.poll() is not None or time.monotonic() > deadline:
                log = (prefix / "error.log").read_text(errors="replace") if (prefix / "error.log").exists() else ""
                pytest.fail(f"nginx did not start (exit code {process.poll()}):\n{log[-3000:]}")
            time.sleep(0.1)
        yield prefix
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGQUIT)  # graceful: lets open requests finish
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
