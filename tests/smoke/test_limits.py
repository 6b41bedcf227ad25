"""The rate limits of the real server on every public channel, and the client address behind a
proxy: the Rasa server restarted at low limits, as if behind one reverse proxy, then restored.

Each test sends from an address of its own (X-Forwarded-For, trusted with PROXIES_COUNT=1),
so the per-address budget of one test is not spent by another."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Dict, List, Optional

import pytest
import socketio

from channels.replies import TOO_FAST
from tests.fakes.slack_api import message_event, signed
from tests.fakes.telegram_api import text_update
from tests.smoke.stack import TELEGRAM_SECRET, Stack, wait_for
from zhiyin.http import http_post

pytestmark = pytest.mark.servers

PER_ADDRESS, PER_SENDER = 6, 3
LIMITED = {
    "RATE_LIMIT_PER_ADDRESS": str(PER_ADDRESS),
    "RATE_LIMIT_PER_SENDER": str(PER_SENDER),
    "SANIC_PROXIES_COUNT": "1",  # what zhiyin.serve sets for FORWARDED_PROXIES=1 (behind nginx)
}


@pytest.fixture(scope="module")
def limited(stack: Stack):
    stack.restart(stack.rasa_server, {**stack.env, **LIMITED})
    try:
        yield stack
    finally:
        stack.restart(stack.rasa_server, stack.env)


def rest(stack: Stack, sender: str, address: str, text: str = "你好", **extra: Any):
    body = json.dumps({"sender": sender, "message": text, **extra}).encode()
    headers = {"Content-Type": "application/json", "X-Forwarded-For": address}
    return http_post(f"{stack.base}/webhooks/rest/webhook", body, headers, timeout=60)


def latest_metadata(stack: Stack, sender: str) -> Dict[str, Any]:
    return stack.tracker(sender)["latest_message"]["metadata"]


def test_rest_limits_per_sender_and_address_with_the_proxys_client_address(limited):
    sender, address = f"limit-rest-{uuid.uuid4().hex[:8]}", "203.0.113.11"
    metadata = {"customer_token": "eyJ.shop.token", "client_address": "6.6.6.6"}
    statuses = [rest(limited, sender, address, metadata=metadata).status for _ in range(PER_SENDER)]
    refused = rest(limited, sender, address)
    assert statuses == [200] * PER_SENDER and refused.status == 429
    assert int(refused.headers["Retry-After"]) >= 1 and "频繁" in refused.body["error"]
    assert latest_metadata(limited, sender) == {"customer_token": "eyJ.shop.token", "client_address": address}
    # the address has spent PER_SENDER + 1 of its budget: other senders get the rest, then 429
    others = [rest(limited, f"{sender}-{n}", address).status for n in range(PER_ADDRESS - PER_SENDER)]
    assert others == [200] * (PER_ADDRESS - PER_SENDER - 1) + [429]
    assert rest(limited, f"{sender}-other", "203.0.113.12").status == 200  # another client


def test_voice_limit_comes_before_decoding(limited):
    url = f"{limited.base}/webhooks/voice/webhook?sender=limit-voice-{uuid.uuid4().hex[:8]}"
    headers = {"Content-Type": "audio/wav", "X-Forwarded-For": "203.0.113.21"}
    statuses = [http_post(url, b"not audio at all", headers, timeout=60).status for _ in range(PER_SENDER + 1)]
    assert statuses == [415] * PER_SENDER + [429]


class Customer:
    """A socket.io client from a given address (X-Forwarded-For), collecting bot messages."""

    def __init__(self, base: str, address: str) -> None:
        self.base, self.address = base, address
        self.session_id = uuid.uuid4().hex
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.client.on("bot_uttered", self.inbox.put_nowait)

    async def connect(self) -> None:
        confirmed = asyncio.Event()
        self.client.on("session_confirm", lambda _id: confirmed.set())
        await self.client.connect(
            self.base, headers={"X-Forwarded-For": self.address}, socketio_path="/socket.io", transports=["polling"]
        )
        await self.client.emit("session_request", {"session_id": self.session_id})
        await asyncio.wait_for(confirmed.wait(), 10)

    async def say(self, text: str, custom: Optional[Dict[str, Any]] = None) -> List[Dict]:
        payload: Dict[str, Any] = {"message": text, "session_id": self.session_id}
        if custom is not None:
            payload["customData"] = custom
        await self.client.emit("user_uttered", payload)
        replies = [await asyncio.wait_for(self.inbox.get(), 60)]
        while True:
            try:
                replies.append(await asyncio.wait_for(self.inbox.get(), 1.5))
            except asyncio.TimeoutError:
                return replies


def test_socketio_limit_message_arrives_and_the_address_is_the_clients(limited):
    async def conversation():
        customer = Customer(limited.base, "203.0.113.31")
        await customer.connect()
        try:
            answered = [await customer.say("你好", {"customer_token": "t-31"}) for _ in range(PER_SENDER)]
            refused = await customer.say("你好")
        finally:
            await customer.client.disconnect()
        return customer.session_id, answered, refused

    session_id, answered, refused = asyncio.run(conversation())
    assert all(TOO_FAST not in [r.get("text") for r in replies] for replies in answered)
    assert [r.get("text") for r in refused] == [TOO_FAST]
    assert latest_metadata(limited, session_id) == {"customer_token": "t-31", "client_address": "203.0.113.31"}


def test_socketio_connections_beyond_the_address_limit_are_refused(limited):
    async def connections():
        results: List[Any] = []
        for _ in range(PER_ADDRESS + 1):
            client = socketio.AsyncClient(reconnection=False)
            client.on("connect_error", results.append)  # the server's reason
            try:
                await client.connect(
                    limited.base,
                    headers={"X-Forwarded-For": "203.0.113.41"},
                    socketio_path="/socket.io",
                    transports=["polling"],
                    wait_timeout=10,
                )
                results.append("connected")
                await client.disconnect()
            except socketio.exceptions.ConnectionError:
                pass
        return results

    results = asyncio.run(connections())
    assert results[:PER_ADDRESS] == ["connected"] * PER_ADDRESS
    assert results[PER_ADDRESS:] == [{"message": TOO_FAST}]


def test_telegram_chat_over_the_limit_is_told_once_and_not_answered(limited, telegram_api):
    chat = 88_001
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    url = f"{limited.base}/webhooks/telegram/webhook"
    answers = [
        http_post(url, json.dumps(text_update(88_100 + n, chat, "你好")).encode(), headers, timeout=60)
        for n in range(PER_SENDER + 2)
    ]
    assert [answer.status for answer in answers] == [200] * (PER_SENDER + 2)
    assert [answer.body for answer in answers[PER_SENDER:]] == [{"ok": True, "limited": True}] * 2
    texts = telegram_api.texts(chat)
    assert texts.count(TOO_FAST) == 1 and len(texts) >= PER_SENDER + 1


def test_slack_user_over_the_limit_is_told_once_and_not_answered(limited, slack_api):
    user, channel = "ULIMIT", "DLIMIT"
    url = f"{limited.base}/webhooks/slack/webhook"
    for n in range(PER_SENDER + 2):
        body = message_event(f"Ev-limit-{n}-{time.time()}", user, "你好", channel)
        assert http_post(url, body, signed(body), timeout=60).status == 200
    wait_for(lambda: TOO_FAST in slack_api.texts(channel))
    time.sleep(2)  # Slack messages are answered after the acknowledgement
    assert slack_api.texts(channel).count(TOO_FAST) == 1
