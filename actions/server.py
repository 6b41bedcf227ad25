"""The action server, private: `python -m actions.server --port 5055 [--host H]`.

`rasa run actions` listens on every address and runs any action for anyone who can reach it,
e.g. an order's status for any order number. This launcher runs the same rasa-sdk server
(its own `run`, logging and options) but listens on ``ACTION_SERVER_HOST`` (default
127.0.0.1; ``--host`` overrides) and answers only requests that carry the header
``X-Action-Secret`` with zhiyin.settings.action_server_secret(); the Rasa server sends it
(channels/action_gateway.py, endpoints.yml). Everything else but GET /health gets a 401.

rasa-sdk imports every module of this package to find actions: importing this one does nothing.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import warnings
from typing import List, Optional

import pluggy
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from zhiyin.http import json_error
from zhiyin.redaction import mask_phone_numbers_in_logs
from zhiyin.settings import action_server_host, action_server_secret

logger = logging.getLogger("actions.server")  # not "__main__" under `python -m`

HEADER = "X-Action-Secret"
hookimpl = pluggy.HookimplMarker("rasa_sdk")


def require_secret(app: Sanic, secret: str) -> None:
    """Make `app` refuse every request but GET /health that lacks ``X-Action-Secret: secret``."""
    if not secret:
        raise ValueError("the action server secret must not be empty")
    expected = secret.encode()

    @app.middleware("request")
    async def check_secret(request: Request) -> Optional[HTTPResponse]:
        if request.method == "GET" and request.path == "/health":
            return None
        given = request.headers.get(HEADER)
        if given is not None and hmac.compare_digest(given.encode(), expected):
            return None
        problem = "missing" if given is None else "wrong"
        logger.warning("refused %s %s from %s: %s header %s", request.method, request.path, request.ip, HEADER, problem)
        return json_error(401, f"{HEADER} header {problem}")


class SecretGuard:
    """A rasa-sdk plugin: its `run` hands it the app it builds before serving it."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        require_secret(app, self.secret)


def main(argv: Optional[List[str]] = None) -> None:
    # Importing sanic shows each third-party deprecation notice once; none is actionable here
    # (zhiyin.rasa_cli does the same for `rasa`), so rasa-sdk's server module comes after this.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from rasa_sdk import __main__ as sdk_main
    from rasa_sdk.endpoint import create_argument_parser

    # rasa-sdk's own options (`rasa run actions` has the same), plus where to listen.
    parser = create_argument_parser()
    parser.add_argument("--host", help="address to listen on (default: ACTION_SERVER_HOST, else 127.0.0.1)")
    parser.set_defaults(actions="actions")
    args: argparse.Namespace = parser.parse_args(argv)
    os.environ["SANIC_HOST"] = args.host or action_server_host()  # where rasa-sdk's `run` listens
    plugin_manager().register(SecretGuard(action_server_secret()))
    mask_phone_numbers_in_logs()
    sdk_main.main_from_args(args)


if __name__ == "__main__":
    main()
