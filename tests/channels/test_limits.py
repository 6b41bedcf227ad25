"""Rate limits, client addresses and customer tokens on the public channels: REST and the
platform webhooks in a real Sanic server, socket.io through its wrapped handlers."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any, Dict, List
from urllib.parse import urlencode

import pytest
from sanic import Sanic
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from channels import replies
from channels import rest as rest_module
from channels.rest import MAX_MESSAGE_CHARS, ValidatingRestInput
from channels.slack import SlackInput
from channels.socketio import SocketIOInput
from channels.telegram import SECRET_HEADER, TelegramInput
from tests.channels.webhook_server import Dialogue, serve_channel
from tests.fakes.slack_api import SIGNING_SECRET, FakeSlackAPI, message_event, signed
from tests.fakes.slack_api import TOKEN as SLACK_TOKEN
from tests.fakes.telegram_api import TOKEN as TELEGRAM_TOKEN
from tests.fakes.telegram_api import FakeTelegramAPI, text_update
from zhiyin.ratelimit import ClientLimits
from zhiyin.serve import free_port

# --- REST ----------------------------------------------------------------------------------


@pytest.fixture
def no_desk_messages(monkeypatch):
    monkeypatch.setattr(rest_module.desk, "take_undelivered", lambda channel, sender: [])


def rest(limits: ClientLimits, *bodies: Dict[str, Any], headers: Dict[str, str] = None):
    requests = [(json.dumps(body).encode(), headers or {}) for body in bodies]
    return asyncio.run(serve_channel(ValidatingRestInput(limits), "/webhooks/rest", requests))


def say(sender: str, text: str = "你好", **extra: Any) -> Dict[str, Any]:
    return {"sender": sender, "message": text, **extra}


def test_rest_sender_over_the_limit_gets_429_with_retry_after(no_desk_messages):
    answers, dialogue = rest(ClientLimits(per_address=100, per_sender=2), *[say("u1")] * 3, say("u2"))
    assert [status for status, _, _ in answers] == [200, 200, 429, 200]
    status, body, headers = answers[2]
    assert body["status"] == 429 and "频繁" in body["error"] and "too many requests" in body["error"]
    assert headers["Retry-After"] == "30"
    assert [m.sender_id for m in dialogue.messages] == ["u1", "u1", "u2"]


def test_rest_address_over_the_limit_gets_429_whatever_the_sender(no_desk_messages):
    answers, dialogue = rest(ClientLimits(per_address=2, per_sender=100), say("a"), say("b"), say("c"))
    assert [status for status, _, _ in answers] == [200, 200, 429]
    assert int(answers[2][2]["Retry-After"]) == 30 and len(dialogue.messages) == 2


def test_rest_bad_requests_count_against_the_address_not_the_sender(no_desk_messages):
    bad = [{"sender": "u1"}, {"sender": "u1", "message": "x", "metadata": "token"}]
    answers, _ = rest(ClientLimits(per_address=3, per_sender=1), *bad, say("u1"), say("u2"))
    assert [status for status, _, _ in answers] == [400, 400, 200, 429]
    answers, _ = rest(ClientLimits(per_address=100, per_sender=1), *bad, say("u1"), say("u1"))
    assert [status for status, _, _ in answers] == [400, 400, 200, 429]


def nested(depth: int) -> Dict[str, Any]:
    value: Dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    "metadata, word",
    [
        ("token", "对象"),
        ([{"customer_token": "t"}], "对象"),
        (7, "对象"),
        ({"customer_token": "x" * 9000}, "过大"),
        (nested(17), "过大"),
        ({"a": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}, "过大"),
    ],
)
def test_rest_metadata_that_cannot_be_stored_is_refused(metadata, word):
    body = json.dumps(say("u1", metadata=metadata)).encode()
    status, reason = rest_module.request_problem(SimpleNamespace(body=body))
    assert status == 400 and word in reason and "metadata" in reason


@pytest.mark.parametrize("metadata", [{}, {"customer_token": "x" * 4000}, nested(16), {"a": [1, {"b": [2]}]}])
def test_rest_metadata_that_can_be_stored_passes(metadata):
    body = json.dumps(say("u1", metadata=metadata)).encode()
    assert rest_module.request_problem(SimpleNamespace(body=body)) is None


def test_rest_json_nested_too_deep_for_python_is_not_json():
    status, reason = rest_module.request_problem(SimpleNamespace(body=b"[" * 100_000 + b"]" * 100_000))
    assert status == 400 and "JSON" in reason


def test_rest_metadata_passes_through_with_the_servers_client_address(no_desk_messages):
    metadata = {"customer_token": "eyJ.shop.token", "client_address": "6.6.6.6", "page": "/cart"}
    answers, dialogue = rest(ClientLimits(10, 10), say("u1", metadata=metadata), say("u2"))
    assert [status for status, _, _ in answers] == [200, 200]
    first, second = dialogue.messages
    assert first.metadata == {"customer_token": "eyJ.shop.token", "client_address": "127.0.0.1", "page": "/cart"}
    assert second.metadata == {"client_address": "127.0.0.1"}


def test_rest_behind_a_proxy_the_forwarded_address_counts(no_desk_messages, monkeypatch):
    forwarded = {"X-Forwarded-For": "203.0.113.7, 10.0.0.2"}
    # Without a trusted proxy a client's X-Forwarded-For is ignored.
    _, dialogue = rest(ClientLimits(10, 10), say("u1"), headers=forwarded)
    assert dialogue.messages[0].metadata["client_address"] == "127.0.0.1"
    monkeypatch.setenv("SANIC_PROXIES_COUNT", "1")  # what zhiyin.serve sets from FORWARDED_PROXIES=1
    answers, dialogue = rest(ClientLimits(1, 10), say("u1"), say("u2"), headers=forwarded)
    assert dialogue.messages[0].metadata["client_address"] == "10.0.0.2"
    assert [status for status, _, _ in answers] == [200, 429]


def test_rest_channel_restores_sanic_limits_rasa_overrides(monkeypatch):
    monkeypatch.setenv("SANIC_RESPONSE_TIMEOUT", "120")
    monkeypatch.setenv("SANIC_KEEP_ALIVE_TIMEOUT", "15")

    async def started():
        Sanic.test_mode = True
        app = Sanic(f"rest_config_{free_port()}")
        app.blueprint(ValidatingRestInput(ClientLimits(1, 1)).blueprint(Dialogue()), url_prefix="/webhooks/rest")
        app.config.RESPONSE_TIMEOUT, app.config.KEEP_ALIVE_TIMEOUT = 3600, 120  # as rasa.core.run sets them
        server = await app.create_server(host="127.0.0.1", port=free_port(), return_asyncio_server=True)
        await server.startup()
        await server.before_start()
        config = (app.config.RESPONSE_TIMEOUT, app.config.KEEP_ALIVE_TIMEOUT)
        server.close()
        await server.wait_closed()
        return config

    assert asyncio.run(started()) == (120, 15)


# --- socket.io -----------------------------------------------------------------------------


class FakeSio:
    """What the wrapped handlers use of python-socketio's server: emits are recorded."""

    def __init__(self, address: str = "203.0.113.9") -> None:
        self.emitted: List[Any] = []
        self.environ = {"sanic.request": SimpleNamespace(remote_addr="", ip=address)}

    def get_environ(self, sid: str, namespace: str = None) -> Dict[str, Any]:
        return self.environ

    async def emit(self, event: str, data: Any = None, room: str = None, **_: Any) -> None:
        self.emitted.append((event, data, room))

    def enter_room(self, sid: str, room: str, namespace: str = None) -> None:
        pass


def socket_channel(limits: ClientLimits, address: str = "203.0.113.9", **credentials: Any):
    """The channel with its handlers wrapped, talking to a FakeSio; (channel, dialogue, sio, handlers)."""
    settings = {"session_persistence": True, **credentials}
    channel = SocketIOInput.from_credentials(settings)
    channel.limits = limits
    dialogue = Dialogue()
    channel.blueprint(dialogue)
    handlers = channel.sio.handlers["/"]
    fake = FakeSio(address)
    for name in ("get_environ", "emit", "enter_room"):
        setattr(channel.sio, name, getattr(fake, name))
    return channel, dialogue, fake, handlers


def utter(handlers, *payloads: Any, sid: str = "sid-1") -> None:
    async def send():
        for payload in payloads:
            await handlers["user_uttered"](sid, payload)

    asyncio.run(send())


def test_socketio_keeps_rasas_name_and_defaults_to_customdata():
    channel = SocketIOInput.from_credentials({"session_persistence": True})
    assert channel.name() == "socketio" and channel.metadata_key == "customData" and channel.session_persistence
    assert SocketIOInput.from_credentials({"metadata_key": "metadata"}).metadata_key == "metadata"


def test_socketio_stamps_client_address_and_passes_the_customer_token():
    _, dialogue, _, handlers = socket_channel(ClientLimits(10, 10))
    custom = {"customer_token": "eyJ.shop.token", "client_address": "6.6.6.6"}
    utter(
        handlers,
        {"message": "我的订单", "session_id": "s1", "customData": custom},
        {"message": "你好", "session_id": "s1", "customData": json.dumps({"customer_token": "t2"})},
        {"message": "在吗", "session_id": "s1"},
    )
    assert [(m.text, m.sender_id, m.input_channel) for m in dialogue.messages] == [
        ("我的订单", "s1", "socketio"),
        ("你好", "s1", "socketio"),
        ("在吗", "s1", "socketio"),
    ]
    assert [m.metadata for m in dialogue.messages] == [
        {"customer_token": "eyJ.shop.token", "client_address": "203.0.113.9"},
        {"customer_token": "t2", "client_address": "203.0.113.9"},
        {"client_address": "203.0.113.9"},
    ]


def test_socketio_over_the_sender_limit_is_told_to_slow_down_and_dropped():
    _, dialogue, sio, handlers = socket_channel(ClientLimits(per_address=100, per_sender=2))
    utter(handlers, *[{"message": f"第{n}条", "session_id": "s1"} for n in range(4)])
    utter(handlers, {"message": "另一个会话", "session_id": "s2"}, sid="sid-2")
    assert [m.text for m in dialogue.messages] == ["第0条", "第1条", "另一个会话"]
    notices = [(data, room) for event, data, room in sio.emitted if data == {"text": replies.TOO_FAST}]
    assert notices == [({"text": replies.TOO_FAST}, "sid-1")] * 2
    assert all(event == "bot_uttered" for event, _, _ in sio.emitted)


def test_socketio_over_the_address_limit_whatever_the_session():
    _, dialogue, sio, handlers = socket_channel(ClientLimits(per_address=2, per_sender=100))
    utter(handlers, *[{"message": "你好", "session_id": f"s{n}"} for n in range(3)])
    assert len(dialogue.messages) == 2 and sio.emitted[-1] == ("bot_uttered", {"text": replies.TOO_FAST}, "sid-1")


def test_socketio_unusable_payloads_count_against_the_address():
    _, dialogue, sio, handlers = socket_channel(ClientLimits(per_address=2, per_sender=100))
    utter(handlers, None, {"message": 5}, {"message": "你好", "session_id": "s1"})
    assert dialogue.messages == [] and sio.emitted == [("bot_uttered", {"text": replies.TOO_FAST}, "sid-1")]


def test_socketio_connect_is_refused_beyond_the_address_limit():
    _, _, sio, handlers = socket_channel(ClientLimits(per_address=2, per_sender=100))

    async def connect():
        return [await handlers["connect"](f"sid-{n}", sio.environ, None) for n in range(2)]

    assert asyncio.run(connect()) == [True, True]
    with pytest.raises(SocketRefused) as refused:
        asyncio.run(handlers["connect"]("sid-3", sio.environ, None))
    assert replies.TOO_FAST in str(refused.value.error_args)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "你好",
        42,
        ["你好"],
        {"message": 5, "session_id": "s1"},
        {"message": {"text": "你好"}, "session_id": "s1"},
        {"message": "你好"},
        {"message": "你好", "session_id": ""},
        {"message": "你好", "session_id": {"id": 1}},
        {"message": "你好", "session_id": "x" * 500},
        {"message": "你好", "session_id": "s1", "customData": "{not json"},
        {"message": "你好", "session_id": "s1", "customData": [1, 2]},
        {"message": "你好", "session_id": "s1", "customData": 7},
        {"message": "你好", "session_id": "s1", "customData": {"customer_token": "x" * 9000}},
        {"message": "你好", "session_id": "s1", "customData": json.dumps(nested(40))},
        {"message": "你好", "session_id": "s1", "customData": "[" * 100_000},
    ],
)
def test_socketio_unusable_payloads_are_dropped_quietly(payload):
    _, dialogue, sio, handlers = socket_channel(ClientLimits(10, 10))
    utter(handlers, payload)
    assert dialogue.messages == [] and sio.emitted == []


def test_socketio_message_over_the_rest_channels_maximum_is_refused_politely():
    _, dialogue, sio, handlers = socket_channel(ClientLimits(10, 10))
    utter(
        handlers,
        {"message": "好" * (MAX_MESSAGE_CHARS + 1), "session_id": "s1"},
        {"message": "好" * MAX_MESSAGE_CHARS, "session_id": "s1"},
    )
    assert [len(m.text) for m in dialogue.messages] == [MAX_MESSAGE_CHARS]
    too_long = replies.CHAT_MESSAGE_TOO_LONG.format(max_chars=MAX_MESSAGE_CHARS)
    assert sio.emitted[0] == ("bot_uttered", {"text": too_long}, "sid-1")


@pytest.mark.parametrize("data", [None, "s1", {"session_id": ["x"]}, {"session_id": 3.5}, {"session_id": ""}])
def test_socketio_session_request_with_an_unusable_id_gets_a_new_one(data):
    _, _, sio, handlers = socket_channel(ClientLimits(10, 10))
    asyncio.run(handlers["session_request"]("sid-1", data))
    [(event, session_id, room)] = sio.emitted
    assert event == "session_confirm" and room == "sid-1" and isinstance(session_id, str) and len(session_id) == 32


def test_socketio_session_request_keeps_a_good_id():
    _, _, sio, handlers = socket_channel(ClientLimits(10, 10))
    asyncio.run(handlers["session_request"]("sid-1", {"session_id": "abc123"}))
    assert sio.emitted == [("session_confirm", "abc123", "sid-1")]


# --- Telegram and Slack: the platform's address, limits per chat / user ---------------------


def test_telegram_chat_over_the_limit_is_acknowledged_and_told_once():
    async def scenario():
        api = FakeTelegramAPI()
        await api.start()
        channel = TelegramInput(TELEGRAM_TOKEN, api_url=api.url, secret_token="s3cret")
        channel.limits = ClientLimits(per_address=1, per_sender=2)
        requests = [
            (json.dumps(text_update(100 + n, chat, f"第{n}条")).encode(), {SECRET_HEADER: "s3cret"})
            for n, chat in enumerate([7, 7, 7, 7, 8])
        ]
        try:
            answers, dialogue = await serve_channel(channel, "/webhooks/telegram", requests)
        finally:
            await channel.bot.close_session()
            await api.stop()
        return api, answers, dialogue

    api, answers, dialogue = asyncio.run(scenario())
    assert [status for status, _, _ in answers] == [200] * 5
    assert [body for _, body, _ in answers][2:4] == [{"ok": True, "limited": True}] * 2
    assert [(m.text, m.sender_id) for m in dialogue.messages] == [("第0条", "7"), ("第1条", "7"), ("第4条", "8")]
    assert api.texts(7).count(replies.TOO_FAST) == 1


def test_slack_user_over_the_limit_is_acknowledged_and_told_once():
    async def scenario():
        api = FakeSlackAPI()
        await api.start()
        try:
            channel = SlackInput(SLACK_TOKEN, SIGNING_SECRET, api.url, limits=ClientLimits(1, 2))
            bodies = [
                message_event(f"Ev{n}", user, f"第{n}条") for n, user in enumerate(["U1", "U1", "U1", "U1", "U2"])
            ]
            answers, dialogue = await serve_channel(
                channel, "/webhooks/slack", [(body, signed(body)) for body in bodies], settle=1.0
            )
        finally:
            await api.stop()
        return api, answers, dialogue

    api, answers, dialogue = asyncio.run(scenario())
    assert [status for status, _, _ in answers] == [200] * 5
    assert [(m.text, m.sender_id) for m in dialogue.messages] == [("第0条", "U1"), ("第1条", "U1"), ("第4条", "U2")]
    assert api.texts("D0ZHIYIN").count(replies.TOO_FAST) == 1


JSON, FORM = "application/json", "application/x-www-form-urlencoded"
IM = {"type": "message", "user": "U1", "channel": "D1", "channel_type": "im"}


def form(payload: Any) -> bytes:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)}).encode()


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"[]", JSON),
        (b'"event"', JSON),
        (json.dumps({"event": "message"}).encode(), JSON),
        (json.dumps({"event": {**IM, "text": 5}}).encode(), JSON),
        (json.dumps({"event": {**IM, "text": "你好", "user": ["U1"]}}).encode(), JSON),
        (json.dumps({"event": {**IM, "text": "你好"}, "authorizations": 5}).encode(), JSON),
        (json.dumps({"event": {**IM, "text": "你好"}, "authorizations": ["U0BOT"]}).encode(), JSON),
        (b"", FORM),
        (form("not json"), FORM),
        (form([1]), FORM),
        (form({}), FORM),
        (form({"actions": [{"type": "unknown"}], "user": {"id": "U1"}}), FORM),
        (form({"actions": ["button"], "user": {"id": "U1"}}), FORM),
        (form({"actions": [{"type": "button", "value": {"x": 1}}], "user": {"id": "U1"}}), FORM),
        (form({"actions": [{"type": "button", "value": "/affirm"}], "user": "U1"}), FORM),
    ],
)
def test_slack_signed_requests_rasa_would_fail_on_get_400(body, content_type):
    channel = SlackInput(SLACK_TOKEN, SIGNING_SECRET, "http://127.0.0.1:9/api/", limits=ClientLimits(10, 10))
    answers, dialogue = asyncio.run(
        serve_channel(channel, "/webhooks/slack", [(body, signed(body, content_type=content_type))])
    )
    [(status, reason, _)] = answers
    assert status == 400 and "Slack" in reason["error"] and dialogue.messages == []


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1, "message": {"chat": {"id": "7"}, "text": "你好"}},
        {"update_id": 2, "message": {"chat": {"id": True}, "text": "你好"}},
        {"update_id": 3, "message": {"chat": {"id": 7}, "voice": "file"}},
        {"update_id": 4, "callback_query": {"id": "q", "data": {"x": 1}, "message": {"chat": {"id": 7}}}},
        {"update_id": 5, "callback_query": "button"},
    ],
)
def test_telegram_updates_of_the_wrong_shape_get_400(update):
    channel = TelegramInput(TELEGRAM_TOKEN, api_url="http://127.0.0.1:9", secret_token="s3cret")

    async def scenario():
        try:
            body = json.dumps(update).encode()
            return await serve_channel(channel, "/webhooks/telegram", [(body, {SECRET_HEADER: "s3cret"})])
        finally:
            await channel.bot.close_session()

    answers, dialogue = asyncio.run(scenario())
    assert answers[0][0] == 400 and "update" in answers[0][1]["error"] and dialogue.messages == []


def test_a_rest_client_cannot_pose_as_another_channel(no_desk_messages):
    """The conversation of a Telegram chat id is reachable over REST (ids are shared), but as
    REST: its order verifications, kept per channel, do not carry over."""
    answers, dialogue = rest(ClientLimits(10, 10), {**say("123456789"), "input_channel": "telegram"})
    assert [status for status, _, _ in answers] == [200]
    assert [m.input_channel for m in dialogue.messages] == ["rest"]
