"""A local stand-in for the Telegram Bot API (https://core.telegram.org/bots/api).

Serves the methods zhiyin uses on 127.0.0.1, answers in the Bot API's envelope
({"ok": true, "result": ...}), records every call, and serves uploaded files under
/file/bot<token>/<path> as Telegram does. Runs inside a test's event loop or, for tests
against a separate Rasa process, in a thread of its own.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List

from aiohttp import web

from tests.fakes.http import LocalServer

TOKEN = "123456:TEST-token_for_the_fake_api"


@dataclass
class Call:
    method: str
    params: Dict[str, Any]


@dataclass
class FakeTelegramAPI(LocalServer):
    token: str = TOKEN
    calls: List[Call] = field(default_factory=list)
    files: Dict[str, bytes] = field(default_factory=dict)
    fail_methods: Dict[str, int] = field(default_factory=dict)  # method -> HTTP status to fail with
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_file(self, data: bytes) -> str:
        """Store a file as if a user had uploaded it; returns its file_id."""
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = data
        return file_id

    def sent(self, method: str = "sendMessage") -> List[Dict[str, Any]]:
        return [call.params for call in self.calls if call.method == method]

    def texts(self, chat_id: int) -> List[str]:
        return [p["text"] for p in self.sent() if str(p.get("chat_id")) == str(chat_id)]

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        if isinstance(params.get("reply_markup"), str):
            params["reply_markup"] = json.loads(params["reply_markup"])
        self.calls.append(Call(method, params))
        if method in self.fail_methods:
            status = self.fail_methods[method]
            return web.json_response(
                {"ok": False, "error_code": status, "description": "Internal Server Error"}, status=status
            )
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        result = handler(params)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    def _getMe(self, _params: Dict[str, Any]) -> Dict[str, Any]:
        return {"id": int(self.token.split(":")[0]), "is_bot": True, "first_name": "智音客服", "username": "zhiyin_bot"}

    def _setWebhook(self, _params: Dict[str, Any]) -> bool:
        return True

    def _answerCallbackQuery(self, _params: Dict[str, Any]) -> bool:
        return True

    def _sendMessage(self, params: Dict[str, Any]) -> Dict[str, Any]:
        return {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "text": params["text"],
        }

    def _getFile(self, params: Dict[str, Any]):
        file_id = params.get("file_id")
        if file_id not in self.files:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}, status=400
            )
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(self.files[file_id]),
            "file_path": f"voice/{file_id}.oga",
        }

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].split("/")[-1].rsplit(".", 1)[0]
        if request.match_info["token"] != self.token or file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id], content_type="audio/ogg")

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)


def text_update(update_id: int, chat_id: int, text: str) -> Dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "顾客"},
            "text": text,
        },
    }


def voice_update(update_id: int, chat_id: int, file_id: str, size: int, duration: int = 5) -> Dict[str, Any]:
    update = text_update(update_id, chat_id, "")
    del update["message"]["text"]
    update["message"]["voice"] = {
        "file_id": file_id,
        "file_unique_id": file_id,
        "duration": duration,
        "mime_type": "audio/ogg",
        "file_size": size,
    }
    return update


def button_update(update_id: int, chat_id: int, data: str) -> Dict[str, Any]:
    message = text_update(update_id, chat_id, "确认提交吗？")["message"]
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb-{update_id}",
            "from": message["from"],
            "chat_instance": "1",
            "message": message,
            "data": data,
        },
    }
