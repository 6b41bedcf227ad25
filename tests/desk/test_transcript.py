"""Reading a conversation for the desk out of Rasa's tracker events."""

from __future__ import annotations

import re

from desk import transcript
from desk.delivery import PUSHED_CHANNELS


def user(text, intent="inform", entities=(), channel="socketio", metadata=None, at=1_764_300_000.0):
    return {
        "event": "user",
        "text": text,
        "timestamp": at,
        "input_channel": channel,
        "metadata": metadata or {},
        "parse_data": {"intent": {"name": intent, "confidence": 0.91}, "entities": list(entities)},
    }


def bot(text, **metadata):
    return {"event": "bot", "text": text, "timestamp": 1_764_300_001.0, "metadata": metadata}


EVENTS = [
    {"event": "action", "name": "action_session_start"},
    user("/greet", "greet"),
    bot("您好，我是智音客服"),
    user("小米14的订单到哪了", "check_order_status", [{"entity": "product", "value": "小米14"}]),
    {"event": "slot", "name": "order_id", "value": "202611016468"},
    {"event": "slot", "name": "phone_number", "value": "13812345678"},
    user("转人工", "request_human", channel="voice", metadata={"voice": {"format": "webm"}}),
    {"event": "pause"},
    bot("您好，客服小王已加入对话", desk="joined", agent="小王"),
    bot("请稍等，我查一下", desk="reply", agent="小王"),
    {"event": "bot", "text": "请打分", "data": {"buttons": [{"title": "5 非常满意", "payload": "/rate_service"}]}},
]


def test_messages_tell_customer_bot_agent_and_desk_notices_apart():
    shown = transcript.messages(EVENTS)
    assert [(m["who"], m["text"]) for m in shown] == [
        ("bot", "您好，我是智音客服"),
        ("customer", "小米14的订单到哪了"),
        ("customer", "转人工"),
        ("system", "您好，客服小王已加入对话"),
        ("agent", "请稍等，我查一下"),
        ("bot", "请打分"),
    ]
    assert shown[2]["voice"] is True and shown[1]["voice"] is False
    assert (shown[1]["intent"], shown[1]["confidence"]) == ("check_order_status", 0.91)
    assert shown[4]["agent"] == "小王" and shown[5]["buttons"][0]["title"] == "5 非常满意"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", shown[1]["time"])  # with its offset


def test_what_the_bot_understood():
    assert transcript.understood(EVENTS) == {"intent": "request_human", "product": "小米14", "order_id": "202611016468"}
    assert transcript.slots(EVENTS)["phone_number"] == "13812345678"
    assert transcript.understood([]) == {"intent": None, "product": None, "order_id": None}


def test_a_web_chat_customer_who_last_spoke_is_still_reached_over_socketio():
    assert transcript.reachable_channel(EVENTS, PUSHED_CHANNELS, "voice") == "socketio"
    rest_only = [user("转人工", channel="rest")]
    assert transcript.reachable_channel(rest_only, PUSHED_CHANNELS, "rest") == "rest"
