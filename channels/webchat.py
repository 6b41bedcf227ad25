"""The web chat page and widget, served by the Rasa server itself at /chat/.

One URL is all a customer needs: the page (web/index.html) and the embeddable widget
(web/widget.js) talk to this same server over socket.io (Rasa's `socketio` channel, session
persistence on) and send recordings to the voice channel. Only the files under web/ are
served; the socket.io client is vendored in web/vendor/ (`make web-vendor`), never a CDN.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import replies
from zhiyin.http import json_error
from zhiyin.paths import PROJECT_ROOT

logger = logging.getLogger(__name__)

WEB_DIR = PROJECT_ROOT / "web"
TYPES = {
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


def resolve(web_dir: Path, relative: str) -> Optional[Path]:
    """The file under `web_dir` that `relative` names, or None (missing, a directory, or outside)."""
    root = web_dir.resolve()
    candidate = (root / (relative or "index.html")).resolve()
    if root not in candidate.parents or not candidate.is_file():
        return None
    return candidate


class WebChatInput(InputChannel):
    def __init__(self, web_dir: Path = WEB_DIR) -> None:
        self.web_dir = Path(web_dir)

    @classmethod
    def name(cls) -> str:
        return "webchat"

    def url_prefix(self) -> str:
        # Rasa joins this onto /webhooks/; an absolute path puts the page at /chat/.
        return "/chat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> WebChatInput:
        return cls(Path((credentials or {}).get("web_dir") or WEB_DIR))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webchat = Blueprint("webchat", __name__)

        @webchat.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            return await serve(request, "index.html")

        @webchat.route("/<relative:path>", methods=["GET"])
        async def serve(_: Request, relative: str) -> HTTPResponse:
            path = resolve(self.web_dir, relative)
            if path is None:
                return json_error(404, replies.FILE_NOT_FOUND.format(path=relative))
            content_type = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            # The widget is embedded in other sites: allow them to load it, and revalidate
            # so a deployment is picked up on the next page load.
            headers = {"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"}
            return await response.file(path, mime_type=content_type, headers=headers)

        return webchat
