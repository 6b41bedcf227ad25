"""Debian's nginx run by a test: the rendered deploy/nginx config in a temporary prefix
(zhiyin.nginx), skipped where nginx is not installed."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import Iterator, List

import pytest

from zhiyin.nginx import Nginx, Site, listening, nginx_binary

__all__ = ["check_config", "listening", "running_nginx", "write_config"]


def require_nginx() -> str:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx not installed: `make nginx` (tools/ensure-debian-packages nginx)")
    return binary


def write_config(prefix: Path, site: Site) -> Path:
    """nginx.conf in `prefix` including the rendered site; its path."""
    return Nginx(prefix).write_config(site)


def check_config(prefix: Path, site: Site) -> subprocess.CompletedProcess:
    """`nginx -t` on the site's configuration."""
    require_nginx()
    server = Nginx(prefix)
    server.write_config(site)
    return server.check()


@contextlib.contextmanager
def running_nginx(prefix: Path, site: Site, ports: List[int], host: str = "127.0.0.1") -> Iterator[Path]:
    """nginx serving `site` until the block ends; waits until it accepts on `ports`."""
    require_nginx()
    server = Nginx(prefix)
    server.write_config(site)
    try:
        try:
            server.start(ports, host)
        except RuntimeError as failure:
            pytest.fail(str(failure))
        yield prefix
    finally:
        server.stop()
