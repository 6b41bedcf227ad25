"""Run one input channel in a real Sanic server on 127.0.0.1 and send it HTTP requests."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Tuple

from sanic import Sanic

from zhiyin.http import http_post
from zhiyin.serve import free_port

BUTTONS = [{"title": "确认", "payload": "/affirm"}, {"title": "取消", "payload": "/deny"}]


class Dialogue:
    """Stands in for Rasa: records user messages and answers each with a button question
    through the message's own output channel, so what reaches a fake API is what a bot sends."""

    def __init__(self) -> None:
        self.messages: List[Any] = []

    async def __call__(self, message) -> None:
        self.messages.append(message)
        await message.output_channel.send_text_with_buttons(message.sender_id, f"收到：{message.text}", BUTTONS)


def post(url: str, body: bytes, headers: Dict[str, str]) -> Tuple[int, Any, Dict[str, str]]:
    return tuple(http_post(url, body, {"Content-Type": "application/json", **headers}, timeout=30))


async def serve_channel(
    channel, prefix: str, requests: List[Tuple[bytes, Dict[str, str]]], settle: Optional[float] = None
):
    """Mount `channel` at `prefix`, POST each (body, headers) to its /webhook, return the answers.

    `settle` waits after the requests for work a channel does after answering (Slack).
    """
    dialogue = Dialogue()
    Sanic.test_mode = True  # lets Sanic 21.12 start more than one app in a process
    app = Sanic(f"channel_test_{free_port()}")
    app.blueprint(channel.blueprint(dialogue), url_prefix=prefix)
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    await server.after_start()
    url = f"http://127.0.0.1:{port}{prefix}/webhook"
    try:
        answers = [await asyncio.to_thread(post, url, body, headers) for body, headers in requests]
        if settle:
            await asyncio.sleep(settle)
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
    return answers, dialogue
