"""The Slack channel in a real Sanic server, posting to a fake Slack Web API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from channels.slack import SlackInput, SlackOff
from tests.channels.webhook_server import serve_channel
from tests.fakes.slack_api import SIGNING_SECRET, TOKEN, FakeSlackAPI, button_click, message_event, signed

FORM = "application/x-www-form-urlencoded"


def run(requests, settle: float = 1.0):
    async def scenario():
        api = FakeSlackAPI()
        await api.start()
        try:
            channel = SlackInput(TOKEN, SIGNING_SECRET, api.url)
            answers, dialogue = await serve_channel(channel, "/webhooks/slack", requests, settle=settle)
        finally:
            await api.stop()
        return api, answers, dialogue

    return asyncio.run(scenario())


def test_message_is_answered_with_text_and_buttons():
    body = message_event("Ev01", "U123", "小米14多少钱")
    api, answers, dialogue = run([(body, signed(body))])
    assert answers[0][0] == 200
    [message] = dialogue.messages
    assert (message.text, message.sender_id, message.input_channel) == ("小米14多少钱", "U123", "slack")
    [posted] = api.posted
    assert posted["channel"] == "D0ZHIYIN" and posted["text"] == "收到：小米14多少钱"
    buttons = posted["blocks"][1]["elements"]
    assert [(b["text"]["text"], b["value"]) for b in buttons] == [("确认", "/affirm"), ("取消", "/deny")]


def test_button_click_sends_its_value():
    body = button_click("U123", "/affirm", "trigger-1")
    api, answers, dialogue = run([(body, signed(body, content_type=FORM))])
    assert answers[0][0] == 200
    assert [(m.text, m.sender_id) for m in dialogue.messages] == [("/affirm", "U123")]


@pytest.mark.parametrize("reason", ["http_timeout", "http_error", "connection_failed"])
def test_retries_never_answer_twice(reason, caplog):
    caplog.set_level(logging.INFO)
    body = message_event("Ev02", "U123", "我要投诉")
    retry = {**signed(body), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": reason}
    again = {**signed(body), "X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": reason}
    api, answers, dialogue = run([(body, signed(body)), (body, retry), (body, again)])
    assert [status for status, _, _ in answers] == [200, 200, 200]
    assert answers[1][2].get("X-Slack-No-Retry") == "1"
    assert len(dialogue.messages) == 1 and len(api.posted) == 1
    assert "already accepted" in caplog.text


def test_a_click_retried_is_not_answered_twice():
    body = button_click("U123", "/affirm", "trigger-2")
    headers = signed(body, content_type=FORM)
    _, _, dialogue = run(
        [(body, headers), (body, {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"})]
    )
    assert len(dialogue.messages) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        signed(b"something else"),
        signed(b"", secret="not-the-secret"),
        signed(b"", timestamp=int(time.time()) - 600),
    ],
    ids=["unsigned", "other-body", "wrong-secret", "stale"],
)
def test_bad_signature_is_401(headers):
    body = message_event("Ev03", "U123", "你好")
    _, answers, dialogue = run([(body, headers)], settle=0.2)
    status, reason, _ = answers[0]
    assert status == 401 and "signature" in reason["error"].lower()
    assert dialogue.messages == []


def test_url_verification_challenge_is_echoed():
    body = json.dumps(
        {"type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    ).encode()
    _, answers, _ = run([(body, signed(body))], settle=0.1)
    assert answers[0][:2] == (200, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")


def test_bot_messages_are_not_answered():
    event = json.loads(message_event("Ev04", "U0BOT", "收到：你好"))
    event["event"]["bot_id"] = "B0ZHIYIN"
    body = json.dumps(event).encode()
    api, _, dialogue = run([(body, signed(body))], settle=0.3)
    assert dialogue.messages == [] and api.posted == []


def test_without_credentials_the_channel_is_off(monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    monkeypatch.delenv("SLACK_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    channel = SlackInput.from_credentials(None)
    assert isinstance(channel, SlackOff) and "SLACK_TOKEN" in caplog.text
    answers, _ = asyncio.run(serve_channel(channel, "/webhooks/slack", [(b"{}", {})]))
    assert answers[0][0] == 503
    monkeypatch.setenv("SLACK_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    channel = SlackInput.from_credentials({})
    assert (
        isinstance(channel, SlackInput)
        and channel.get_output_channel("D1").client.base_url == "http://127.0.0.1:9/api/"
    )
