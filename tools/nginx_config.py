"""Render the nginx template deploy/nginx/zhiyin.conf for one deployment (or a test).

    python -m tools.nginx_config --server-name kefu.example.com > /etc/nginx/conf.d/zhiyin.conf

Each ``{{NAME}}`` in the template is the option ``--name`` (defaults below; zhiyin.nginx.Site). Lines ending in
``# tls`` are the HTTPS parts: ``--plain-http`` leaves them out (the public server then listens
on port 80, or on ``--public-listen``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import List, Optional

from zhiyin.nginx import Site, render

__all__ = ["Site", "main", "render"]


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
