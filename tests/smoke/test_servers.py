"""Smoke tests against the real servers (tests/smoke/stack.py): REST, robustness, voice, Telegram."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.fakes.telegram_api import button_update, text_update, voice_update
from tests.smoke.stack import MODEL, START_TIMEOUT, TELEGRAM_SECRET, Stack, http_get, post
from zhiyin import db
from zhiyin.db import Product, Ticket
from zhiyin.http import http_post
from zhiyin.paths import PROJECT_ROOT
from zhiyin.serve import free_port

pytestmark = pytest.mark.servers


def test_complaint_over_rest_creates_ticket(stack, engine):
    sender = "smoke-complaint"
    assert "订单号" in stack.texts(sender, "我要投诉")
    assert "描述" in stack.texts(sender, "202611028313")
    assert "手机号" in stack.texts(sender, "收到的手机屏幕有划痕")
    confirmation = stack.say(sender, "13812345678")
    assert "确认提交吗" in confirmation[0]["text"]
    assert [b["payload"] for b in confirmation[0]["buttons"]] == ["/affirm", "/deny"]
    done = stack.texts(sender, "确认")
    with db.session_scope(engine) as session:
        [ticket] = session.scalars(select(Ticket).where(Ticket.sender == sender)).all()
        assert (ticket.kind, ticket.order_id, ticket.text, ticket.phone, ticket.channel) == (
            "complaint",
            "202611028313",
            "收到的手机屏幕有划痕",
            "13812345678",
            "rest",
        )
        assert ticket.number in done
    # slots were reset: a second complaint starts by asking for the order again
    assert "订单号" in stack.texts(sender, "我还要投诉")


def test_price_comes_from_the_database(stack, engine):
    with db.session_scope(engine) as session:
        session.scalar(select(Product).where(Product.name == "戴森V12")).price_fen = 399900
    assert "售价 3999 元" in stack.texts("smoke-price", "戴森V12多少钱")


@pytest.mark.parametrize(
    "text",
    ["", "   ", "😀😀😀", "'; DROP TABLE products; --", "iphone15 price多少", "质量" * 2500],
    ids=["empty", "blank", "emoji", "sql", "mixed", "5000-chars"],
)
def test_awkward_messages_get_a_polite_answer(stack, engine, text):
    replies = stack.say(f"smoke-robust-{len(text)}-{hash(text) % 1000}", text)
    assert replies and all(r.get("text") for r in replies)
    with db.session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 44


@pytest.mark.parametrize(
    "body, status, reason",
    [
        (b"{bad json", 400, "JSON"),
        (b"[1, 2]", 400, "JSON"),
        (json.dumps({"message": "你好"}).encode(), 400, "sender"),
        (json.dumps({"sender": "x", "message": 42}).encode(), 400, "message"),
        (json.dumps({"sender": "x", "message": "好" * 20001}).encode(), 413, "message"),
    ],
)
def test_bad_requests_get_json_errors(stack, body, status, reason):
    got_status, payload = post(f"{stack.base}/webhooks/rest/webhook", body)
    assert got_status == status
    assert reason in payload["error"]


def test_action_gateway_reports_the_action_server_it_forwards_to(stack):
    with urllib.request.urlopen(f"{stack.base}/webhooks/actions/", timeout=10) as reply:
        assert json.loads(reply.read())["action_server"] == f"http://127.0.0.1:{stack.action_port}/webhook"


def test_action_server_down_apologises_and_conversation_survives(stack):
    sender = "smoke-action-down"
    stack.action_server.stop()
    try:
        assert "系统开小差" in stack.texts(sender, "华为Mate60多少钱")
    finally:
        stack.restart(stack.action_server)
    # The product named while the action server was down is remembered.
    assert "华为Mate60 目前有货" in stack.texts(sender, "有货吗")


def test_unreachable_database_gets_a_clear_answer(stack):
    broken = {**stack.env, "DATABASE_URL": "postgresql://zhiyin:x@127.0.0.1:9/zhiyin?connect_timeout=2"}
    stack.restart(stack.action_server, broken)
    try:
        assert "系统暂时无法查询" in stack.texts("smoke-db-down", "小米14多少钱")
    finally:
        stack.restart(stack.action_server)
    assert "小米14（小米）售价" in stack.texts("smoke-db-down", "小米14多少钱")


def test_conversation_survives_a_rasa_server_restart(stack):
    sender = "smoke-restart"
    stack.say(sender, "iPhone15Pro多少钱")
    stack.restart(stack.rasa_server)
    tracker = stack.tracker(sender)
    assert "iPhone15Pro多少钱" in [e.get("text") for e in tracker["events"] if e["event"] == "user"]
    assert "iPhone15Pro 目前有货" in stack.texts(sender, "有货吗")


def test_serve_prints_where_to_talk_and_stops_on_sigterm(tmp_path):
    """What `make run` does: start both, report readiness, stop both on SIGTERM."""
    rasa_port, action_port = free_port(), free_port()
    env = {
        **os.environ,
        "TRACKER_DB": str(tmp_path / "tracker.db"),
        "TRACKER_DB_DIALECT": "sqlite",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'z.db'}",
        "RASA_API_TOKEN": "smoke-serve-token",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zhiyin.serve",
            "--rasa-port",
            str(rasa_port),
            "--action-port",
            str(action_port),
            "--model",
            str(MODEL),
            "--log-dir",
            str(tmp_path / "logs"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C to stop" in line:
                break
        output = "".join(lines)
        assert f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook" in output, output
        # A fresh install: the desk's first lead account is shown once, and it opens the desk.
        assert f"http://127.0.0.1:{rasa_port}/agent/" in output
        username, password = re.search(r"username (\S+)  password (\S+)", output).groups()
        login = http_post(
            f"http://127.0.0.1:{rasa_port}/agent/api/login",
            json.dumps({"username": username, "password": password}).encode(),
            {"Content-Type": "application/json"},
        )
        assert login.status == 200 and login.body["staff"]["role"] == "lead"
        # The Rasa HTTP API answers only with the token.
        assert http_get(f"http://127.0.0.1:{rasa_port}/status")[0] == 401
        assert http_get(f"http://127.0.0.1:{rasa_port}/status?token=smoke-serve-token")[0] == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
        for port in (rasa_port, action_port):
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
    finally:
        if process.poll() is None:
            process.kill()


# --- voice channel (asr_channel) ---------------------------------------------------------


def post_voice(stack: Stack, data: bytes, sender: str, multipart: bool = True, content_type: str = ""):
    """POST audio the way the web widget (multipart) or a raw client (body) would."""
    url = f"{stack.base}/webhooks/voice/webhook"
    if multipart:
        boundary = "zhiyinboundary"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="sender"\r\n\r\n{sender}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="voice"\r\n'
            f"Content-Type: {content_type or 'application/octet-stream'}\r\n\r\n".encode()
            + data
            + b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
        body, headers = b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    else:
        body, headers = data, ({"Content-Type": content_type} if content_type else {})
        url += f"?sender={sender}"
    return http_post(url, body, headers)[:2]


def test_spoken_complaint_creates_the_same_ticket(stack, engine):
    from tests.asr_channel.audio_helpers import speech

    sender = "smoke-voice-complaint"
    status, first = post_voice(stack, speech("complaint_1"), sender)
    assert status == 200 and "投诉" in first["transcript"] and first["language"] == "zh"
    assert "订单号" in first["responses"][0]["text"]
    status, second = post_voice(stack, speech("deny_1"), sender, multipart=False, content_type="audio/wav")
    assert status == 200 and "手机号" in second["responses"][0]["text"]
    stack.say(sender, "13812345678")
    done = stack.texts(sender, "确认")
    with db.session_scope(engine) as session:
        [ticket] = session.scalars(select(Ticket).where(Ticket.sender == sender)).all()
        assert (ticket.kind, ticket.order_id, ticket.text) == ("complaint", None, first["transcript"])
        assert ticket.number in done


def test_spoken_price_question_in_webm_without_content_type(stack):
    from asr_channel.audio import decode
    from tests.asr_channel.audio_helpers import encode, speech

    webm = encode(decode(speech("price_1"), 60).samples, "webm")
    status, reply = post_voice(stack, webm, "smoke-voice-price", multipart=False)
    assert status == 200, reply
    assert "美的空调" in reply["transcript"]  # homophones (每的空调) corrected against the catalog
    assert "heard" in reply
    assert "售价 2899 元" in reply["responses"][0]["text"]


def test_silence_asks_to_repeat_without_entering_the_dialogue(stack):
    from tests.asr_channel.audio_helpers import wav_bytes

    sender = "smoke-voice-silence"
    status, reply = post_voice(stack, wav_bytes(np.zeros(16_000 * 2, dtype=np.float32)), sender)
    assert status == 200 and reply["transcript"] == ""
    assert "再说一遍" in reply["responses"][0]["text"]
    assert [e for e in stack.tracker(sender)["events"] if e["event"] == "user"] == []


def test_voice_errors_are_4xx_with_a_reason(stack):
    from tests.asr_channel.audio_helpers import speech, tone, wav_bytes

    cases = [
        (b"", "smoke-voice-errors", 400, "音频"),
        (b"not audio at all", "smoke-voice-errors", 415, "格式"),
        (b"RIFF\x00\x00\x00\x00WAVE" + bytes(500), "smoke-voice-errors", 422, "损坏"),
        (wav_bytes(tone(61.0)), "smoke-voice-errors", 422, "60 秒"),
        (b"RIFF" + bytes(10 * 1024 * 1024 + 1), "smoke-voice-errors", 413, "过大"),
        (speech("greet_1"), "", 400, "sender"),
    ]
    for data, sender, status, word in cases:
        got, reply = post_voice(stack, data, sender, multipart=False)
        assert (got, word in reply.get("error", "")) == (status, True), (status, reply)


def test_busy_recogniser_answers_503_with_retry_after(stack):
    """Two long messages occupy both recognition slots; a third is turned away at once."""
    import threading

    from asr_channel.audio import decode
    from tests.asr_channel.audio_helpers import speech, wav_bytes

    long_speech = wav_bytes(np.tile(decode(speech("complaint_1"), 60).samples, 12)[: 16_000 * 55])
    results = {}

    def send(key):
        results[key] = post_voice(stack, long_speech, f"smoke-voice-busy-{key}", multipart=False)

    workers = [threading.Thread(target=send, args=(key,)) for key in ("a", "b")]
    for worker in workers:
        worker.start()
    time.sleep(1.5)
    refused = http_post(f"{stack.base}/webhooks/voice/webhook?sender=smoke-voice-busy-c", long_speech, timeout=30)
    for worker in workers:
        worker.join(300)
    assert refused.status == 503
    assert refused.headers["Retry-After"] == "5"
    assert "繁忙" in refused.body["error"]
    assert [results[key][0] for key in ("a", "b")] == [200, 200]


def telegram(stack, update) -> int:
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    return http_post(f"{stack.base}/webhooks/telegram/webhook", json.dumps(update).encode(), headers).status


def test_telegram_registers_its_webhook_at_start(stack, telegram_api):
    registration = telegram_api.sent("setWebhook")[0]
    assert registration["url"] == f"{stack.base}/webhooks/telegram/webhook"
    assert registration["secret_token"] == TELEGRAM_SECRET


def test_telegram_voice_note_round_trip(stack, telegram_api):
    from asr_channel.audio import decode
    from tests.asr_channel.audio_helpers import encode, speech

    chat = 9001
    voice = encode(decode(speech("price_1"), 60).samples, "ogg")
    file_id = telegram_api.add_file(voice)
    assert telegram(stack, voice_update(100, chat, file_id, len(voice))) == 200
    echo, answer = telegram_api.texts(chat)
    assert echo.startswith("🎤") and "美的空调" in echo
    assert "售价 2899 元" in answer


def test_telegram_complaint_confirmed_with_a_button(stack, telegram_api, engine):
    chat = 9002
    for update_id, text in enumerate(["我要投诉", "202611028313", "快递员态度很差", "13812345678"], start=200):
        assert telegram(stack, text_update(update_id, chat, text)) == 200
    question = telegram_api.sent()[-1]
    assert "确认提交吗" in question["text"]
    keyboard = [b["callback_data"] for row in question["reply_markup"]["inline_keyboard"] for b in row]
    assert keyboard == ["/affirm", "/deny"]
    assert telegram(stack, button_update(210, chat, "/affirm")) == 200
    assert telegram(stack, button_update(210, chat, "/affirm")) == 200  # Telegram resends: no second ticket
    with db.session_scope(engine) as session:
        [ticket] = session.scalars(select(Ticket).where(Ticket.sender == str(chat))).all()
        assert (ticket.kind, ticket.channel, ticket.text) == ("complaint", "telegram", "快递员态度很差")
        assert ticket.number in telegram_api.texts(chat)[-1]
