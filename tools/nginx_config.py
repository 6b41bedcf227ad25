"""Render the nginx template deploy/nginx/zhiyin.conf for one deployment (or a test).

    python -m tools.nginx_config --server-name kefu.example.com > /etc/nginx/conf.d/zhiyin.conf

Each ``{{NAME}}`` in the template is the option ``--name`` (defaults below). Lines ending in
``# tls`` are the HTTPS parts: ``--plain-http`` leaves them out (the public server then listens
on port 80, or on ``--public-listen``).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from dataclasses import dataclass
from typing import List, Optional

from zhiyin.paths import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "zhiyin.conf"
TLS_MARK = "# tls"
PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


@dataclass(frozen=True)
class Site:
    """The values of the template's placeholders, and whether the public server speaks TLS."""

    upstream: str = "127.0.0.1:5005"  # the Rasa server (host:port)
    server_name: str = "kefu.example.com"
    public_listen: str = ""  # default: "443 ssl http2", or "80" without TLS
    redirect_listen: str = "80"  # with TLS: plain HTTP, redirected to HTTPS
    tls_certificate: str = "/etc/ssl/zhiyin/fullchain.pem"
    tls_certificate_key: str = "/etc/ssl/zhiyin/privkey.pem"
    private_listen: str = "10.0.0.2:8080"  # an address on the shop's network
    private_network: str = "10.0.0.0/8"  # who may use the private server (CIDR)
    tls: bool = True


def render(site: Site) -> str:
    """The template with the site's values; the TLS lines only when ``site.tls``."""
    values = {field.name.upper(): str(getattr(site, field.name)) for field in dataclasses.fields(site)}
    values["PUBLIC_LISTEN"] = site.public_listen or ("443 ssl http2" if site.tls else "80")
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if site.tls or not line.rstrip().endswith(TLS_MARK)]
    unknown = {name for line in kept for name in PLACEHOLDER.findall(line)} - set(values)
    if unknown:
        raise ValueError(f"{TEMPLATE} has placeholders without a value: {sorted(unknown)}")
    return "\n".join(PLACEHOLDER.sub(lambda found: values[found.group(1)], line) for line in kept) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for field in dataclasses.fields(Site):
        if field.name != "tls":
            shown = field.default or "443 ssl http2, or 80 with --plain-http"
            parser.add_argument(f"--{field.name.replace('_', '-')}", default=field.default, help=f"default: {shown}")
    parser.add_argument("--plain-http", action="store_true", help="leave the TLS lines out")
    args = parser.parse_args(argv)
    options = {field.name: getattr(args, field.name) for field in dataclasses.fields(Site) if field.name != "tls"}
    sys.stdout.write(render(Site(**options, tls=not args.plain_http)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
