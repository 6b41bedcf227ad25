"""The Telegram channel against a fake Bot API on 127.0.0.1, with the real speech recogniser.

The dialogue is replaced by a recorder that answers through the channel's own output (so
what reaches the fake API is what the bot sent); tests/smoke runs the same channel inside
the real Rasa server.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict

import numpy as np
import pytest

from asr_channel.audio import decode
from asr_channel.recognizer import Recognizer
from asr_channel.replies import BUSY as BUSY_REPLY
from asr_channel.replies import DOWNLOAD_FAILED as DOWNLOAD_FAILED_REPLY
from asr_channel.replies import NO_SPEECH as NO_SPEECH_REPLY
from channels.replies import UNSUPPORTED_MESSAGE as UNSUPPORTED_REPLY
from channels.telegram import SECRET_HEADER, TelegramInput
from tests.asr_channel.audio_helpers import encode, speech, wav_bytes
from tests.channels.webhook_server import Dialogue, serve_channel
from tests.fakes.telegram_api import TOKEN, FakeTelegramAPI, button_update, text_update, voice_update

CHAT = 4242


async def serve_channel_at(channel, requests):
    answers, dialogue = await serve_channel(channel, "/webhooks/telegram", requests)
    return [(status, body) for status, body, _ in answers], dialogue


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    from asr_channel.engine import build_engine

    return Recognizer(build_engine({"cpu_threads": 2}), max_bytes=200_000, max_seconds=20)


async def run_updates(
    recognizer: Recognizer, *updates: Dict[str, Any], api: FakeTelegramAPI = None, files: Dict[str, bytes] = None
):
    api = api or FakeTelegramAPI()
    await api.start()
    channel = TelegramInput(TOKEN, api_url=api.url, recognizer=recognizer)
    dialogue = Dialogue()
    try:
        for update in updates:
            await channel.handle(channel.parse(update), dialogue)
    finally:
        await channel.bot.close_session()
        await api.stop()
    return api, dialogue


def ogg_of(utterance: str) -> bytes:
    return encode(decode(speech(utterance), 60).samples, "ogg")


def test_text_goes_to_the_dialogue_and_buttons_become_an_inline_keyboard(recognizer):
    api, dialogue = asyncio.run(run_updates(recognizer, text_update(1, CHAT, "小米14多少钱")))
    [message] = dialogue.messages
    assert (message.text, message.sender_id, message.input_channel) == ("小米14多少钱", str(CHAT), "telegram")
    [sent] = api.sent()
    assert sent["text"] == "收到：小米14多少钱"
    keyboard = sent["reply_markup"]["inline_keyboard"]
    assert [(b["text"], b["callback_data"]) for row in keyboard for b in row] == [
        ("确认", "/affirm"),
        ("取消", "/deny"),
    ]


def test_start_command_greets(recognizer):
    _, dialogue = asyncio.run(run_updates(recognizer, text_update(1, CHAT, "/start")))
    assert dialogue.messages[0].text == "/greet"


def test_button_press_sends_its_payload_and_stops_the_spinner(recognizer):
    api, dialogue = asyncio.run(run_updates(recognizer, button_update(7, CHAT, "/affirm")))
    assert dialogue.messages[0].text == "/affirm" and dialogue.messages[0].sender_id == str(CHAT)
    assert api.sent("answerCallbackQuery") == [{"callback_query_id": "cb-7"}]


def test_voice_note_is_transcribed_echoed_and_answered(recognizer):
    api = FakeTelegramAPI()
    voice = ogg_of("price_1")
    file_id = api.add_file(voice)
    api, dialogue = asyncio.run(run_updates(recognizer, voice_update(3, CHAT, file_id, len(voice)), api=api))
    [message] = dialogue.messages
    assert "美的空调" in message.text and "钱" in message.text
    assert message.metadata["voice"]["format"] == "ogg" and message.metadata["voice"]["duration_s"] > 1
    echo, answer = api.texts(CHAT)
    assert echo == f"🎤 {message.text}" and answer == f"收到：{message.text}"
    assert api.sent("getFile") == [{"file_id": file_id}]


@pytest.mark.parametrize(
    "audio, reply",
    [
        (wav_bytes(np.zeros(16_000 * 2, dtype=np.float32)), NO_SPEECH_REPLY),
        (b"OggS" + bytes(range(200)), "抱歉，音频文件已损坏或无法解码。您也可以直接输入文字。"),
        (b"not audio at all", "抱歉，不支持的音频格式（支持 WAV、WebM、Ogg、MP3、M4A）。您也可以直接输入文字。"),
    ],
    ids=["silence", "corrupt", "not-audio"],
)
def test_unusable_voice_note_is_explained_and_not_sent_to_the_dialogue(recognizer, audio, reply):
    api = FakeTelegramAPI()
    file_id = api.add_file(audio)
    api, dialogue = asyncio.run(run_updates(recognizer, voice_update(4, CHAT, file_id, len(audio)), api=api))
    assert dialogue.messages == [] and api.texts(CHAT) == [reply]


@pytest.mark.parametrize("size, duration, word", [(300_000, 5, "过大"), (1_000, 25, "过长")])
def test_too_large_or_long_voice_note_is_refused_without_downloading(recognizer, size, duration, word):
    api, dialogue = asyncio.run(run_updates(recognizer, voice_update(5, CHAT, "file-big", size, duration)))
    assert dialogue.messages == [] and api.sent("getFile") == []
    [reply] = api.texts(CHAT)
    assert word in reply


def test_voice_note_that_cannot_be_downloaded_gets_an_apology(recognizer, caplog):
    api, dialogue = asyncio.run(run_updates(recognizer, voice_update(6, CHAT, "file-unknown", 1000)))
    assert dialogue.messages == [] and api.texts(CHAT) == [DOWNLOAD_FAILED_REPLY]
    assert "could not be downloaded" in caplog.text


def test_busy_recogniser_asks_to_send_later(recognizer):
    api = FakeTelegramAPI()
    voice = ogg_of("greet_1")
    file_id = api.add_file(voice)
    recognizer.in_flight = recognizer.max_in_flight
    try:
        api, dialogue = asyncio.run(run_updates(recognizer, voice_update(8, CHAT, file_id, len(voice)), api=api))
    finally:
        recognizer.in_flight = 0
    assert dialogue.messages == [] and api.texts(CHAT) == [BUSY_REPLY]


def test_sticker_gets_told_what_is_supported(recognizer):
    update = text_update(9, CHAT, "")
    update["message"].pop("text")
    update["message"]["sticker"] = {"file_id": "s1"}
    api, dialogue = asyncio.run(run_updates(recognizer, update))
    assert dialogue.messages == [] and api.texts(CHAT) == [UNSUPPORTED_REPLY]


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1, "message": {"text": "你好"}},
        {"update_id": 1, "message": "你好"},
        {"update_id": 1, "callback_query": {"id": "x", "data": "/affirm"}},
        {"update_id": 1, "message": {"chat": {"id": 1}, "voice": {"duration": 3}}},
    ],
)
def test_malformed_updates_are_refused(update):
    with pytest.raises((KeyError, TypeError)):
        TelegramInput.parse(update)


def test_edits_and_channel_posts_need_no_answer():
    assert TelegramInput.parse({"update_id": 1, "edited_message": text_update(1, CHAT, "改了")["message"]}) is None
    assert TelegramInput.parse({"update_id": 2, "channel_post": {}}) is None


def test_settings_come_from_the_environment(monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    monkeypatch.delenv("TELEGRAM_ACCESS_TOKEN", raising=False)
    off = TelegramInput.from_credentials(None)
    assert off.bot is None and "TELEGRAM_ACCESS_TOKEN" in caplog.text
    monkeypatch.setenv("TELEGRAM_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:9")
    on = TelegramInput.from_credentials({"secret_token": "s3cret"})
    assert on.bot.get_file_url("voice/a.oga") == f"http://127.0.0.1:9/file/bot{TOKEN}/voice/a.oga"
    assert on.secret_token == "s3cret"


def test_webhook_checks_secret_json_and_duplicates_and_registers_itself(recognizer):
    good = {SECRET_HEADER: "s3cret"}
    hello = json.dumps(text_update(21, CHAT, "你好")).encode()
    requests = [
        (hello, {SECRET_HEADER: "wrong"}),
        (hello, {}),
        (b"{not json", good),
        (b'{"message": {}}', good),
        (b'{"update_id": 22, "message": {"text": "no chat"}}', good),
        (hello, good),
        (hello, good),
    ]

    async def scenario():
        api = FakeTelegramAPI()
        await api.start()
        channel = TelegramInput(
            TOKEN,
            api_url=api.url,
            webhook_url="https://shop.example/webhooks/telegram/webhook",
            secret_token="s3cret",
            recognizer=recognizer,
        )
        try:
            answers, dialogue = await serve_channel_at(channel, requests)
        finally:
            await api.stop()
        return api, answers, dialogue

    api, answers, dialogue = asyncio.run(scenario())
    assert [status for status, _ in answers] == [401, 401, 400, 400, 400, 200, 200]
    assert all("error" in body for _, body in answers[:5])
    assert answers[6][1] == {"ok": True, "duplicate": True}
    assert [m.text for m in dialogue.messages] == ["你好"]
    [registration] = api.sent("setWebhook")
    assert (
        registration["url"] == "https://shop.example/webhooks/telegram/webhook"
        and registration["secret_token"] == "s3cret"
    )


def test_channel_without_token_answers_503():
    answers, _ = asyncio.run(
        serve_channel_at(TelegramInput(None), [(json.dumps(text_update(1, CHAT, "你好")).encode(), {})])
    )
    [(status, body)] = answers
    assert status == 503 and "TELEGRAM_ACCESS_TOKEN" in body["error"]


def test_failed_webhook_registration_is_logged_not_fatal(recognizer, caplog):
    async def scenario():
        api = FakeTelegramAPI(fail_methods={"setWebhook": 500})
        await api.start()
        channel = TelegramInput(TOKEN, api_url=api.url, webhook_url="https://shop.example/hook", recognizer=recognizer)
        try:
            return await channel.set_webhook()
        finally:
            await channel.bot.close_session()
            await api.stop()

    assert asyncio.run(scenario()) is False
    assert "setWebhook" in caplog.text and "failed" in caplog.text


def test_failed_send_is_logged_and_the_update_still_acknowledged(recognizer, caplog):
    requests = [(json.dumps(text_update(31, CHAT, "你好")).encode(), {})]

    async def scenario():
        api = FakeTelegramAPI(fail_methods={"sendMessage": 500})
        await api.start()
        try:
            return await serve_channel_at(TelegramInput(TOKEN, api_url=api.url, recognizer=recognizer), requests)
        finally:
            await api.stop()

    answers, dialogue = asyncio.run(scenario())
    assert answers == [(200, {"ok": True})] and len(dialogue.messages) == 1
    assert "Telegram update 31 failed" in caplog.text
