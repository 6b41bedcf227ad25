"""nginx in front of zhiyin: the template deploy/nginx/zhiyin.conf rendered for one site, and
Debian's nginx run with it in a directory of its own (`make cluster`, the tests).

Each ``{{NAME}}`` in the template is a field of `Site` (tools/nginx_config.py turns them into
command-line options). Lines ending in ``# tls`` are the HTTPS parts, left out without TLS.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from zhiyin.paths import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "zhiyin.conf"
TLS_MARK = "# tls"
PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


@dataclass(frozen=True)
class Site:
    """The values of the template's placeholders, and whether the public server speaks TLS."""

    upstream: str = "127.0.0.1:5005"  # the Rasa server, or its replicas, comma-separated (host:port)
    server_name: str = "kefu.example.com"
    public_listen: str = ""  # default: "443 ssl http2", or "80" without TLS
    redirect_listen: str = "80"  # with TLS: plain HTTP, redirected to HTTPS
    tls_certificate: str = "/etc/ssl/zhiyin/fullchain.pem"
    tls_certificate_key: str = "/etc/ssl/zhiyin/privkey.pem"
    private_listen: str = "10.0.0.2:8080"  # an address on the shop's network
    private_network: str = "10.0.0.0/8"  # who may use the private server (CIDR)
    client_rate: str = "5r/s"  # chat, socket.io and REST requests per client address
    client_burst: str = "20"  # chat page and socket.io requests above the rate at once
    rest_burst: str = "10"  # REST messages above the rate at once
    connections_per_address: str = "20"
    tls: bool = True

    @property
    def upstreams(self) -> List[str]:
        return [address.strip() for address in self.upstream.split(",") if address.strip()]


def render(site: Site) -> str:
    """The template with the site's values; the TLS lines only when ``site.tls``."""
    values = {field.name.upper(): str(getattr(site, field.name)) for field in dataclasses.fields(site)}
    values["PUBLIC_LISTEN"] = site.public_listen or ("443 ssl http2" if site.tls else "80")
    values["UPSTREAM_SERVERS"] = "\n    ".join(f"server {address};" for address in site.upstreams)
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if site.tls or not line.rstrip().endswith(TLS_MARK)]
    unknown = {name for line in kept for name in PLACEHOLDER.findall(line)} - set(values)
    if unknown:
        raise ValueError(f"{TEMPLATE} has placeholders without a value: {sorted(unknown)}")
    return "\n".join(PLACEHOLDER.sub(lambda found: values[found.group(1)], line) for line in kept) + "\n"


# nginx.conf for a private prefix: everything nginx writes (pid, logs, temporary files) stays
# there, so it runs without root and without touching /etc/nginx or /var/lib/nginx.
MAIN_CONF = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log {log_level};
{user}
events {{
    worker_connections 4096;
}}
http {{
    access_log {access_log};
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {site};
{extra}
}}
"""


def nginx_binary() -> Optional[str]:
    """Debian's nginx (in /usr/sbin, which a non-root PATH may lack), or None."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def listening(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


class Nginx:
    """nginx with a rendered site (and extra http-level blocks) in `prefix`."""

    def __init__(self, prefix: Path, access_log: bool = True) -> None:
        self.prefix = prefix
        self.access_log = access_log
        self.process: Optional[subprocess.Popen] = None

    def write_config(self, site: Site, extra: str = "") -> Path:
        """nginx.conf in the prefix including the rendered site; its path."""
        self.prefix.mkdir(parents=True, exist_ok=True)
        (self.prefix / "zhiyin.conf").write_text(render(site), encoding="utf-8")
        # As root, workers would run as nobody, who may not enter private temporary folders.
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self.prefix / "nginx.conf"
        access_log = f"{self.prefix}/access.log" if self.access_log else "off"
        conf.write_text(
            MAIN_CONF.format(
                prefix=self.prefix,
                user=user,
                site=self.prefix / "zhiyin.conf",
                extra=extra,
                access_log=access_log,
                log_level="info" if self.access_log else "warn",
            ),
            encoding="utf-8",
        )
        return conf

    def command(self, *arguments: str) -> List[str]:
        binary = nginx_binary()
        if binary is None:
            raise FileNotFoundError("nginx not installed: `make nginx` (Debian package nginx)")
        prefix = str(self.prefix)
        return [binary, "-p", prefix, "-c", f"{prefix}/nginx.conf", "-e", f"{prefix}/error.log", *arguments]

    def check(self) -> subprocess.CompletedProcess:
        """`nginx -t` on the written configuration."""
        return subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)

    def start(self, ports: List[int], host: str = "127.0.0.1", timeout: float = 20) -> None:
        """Start in the foreground (its own process group) and wait until it accepts on `ports`."""
        self.process = subprocess.Popen(
            self.command("-g", "daemon off;"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not all(listening(host, port) for port in ports):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"nginx did not start (exit code {self.process.poll()}):\n{self.error_log()[-3000:]}"
                )
            time.sleep(0.1)

    def error_log(self) -> str:
        log = self.prefix / "error.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def reload(self, site: Site, extra: str = "") -> None:
        """New configuration, gracefully: old workers finish their requests, new ones take new
        connections; nothing is dropped. Raises if the new configuration is refused."""
        self.write_config(site, extra)
        checked = self.check()
        if checked.returncode != 0:
            raise RuntimeError(f"nginx refused the new configuration: {checked.stderr}")
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGHUP)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGQUIT)  # graceful: lets open requests finish
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
