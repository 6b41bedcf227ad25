"""The voice webhook in a real Sanic server, with a stand-in engine: rate limits, the client's
address and the shop's customer token in the message's metadata."""

from __future__ import annotations

import asyncio
import uuid
from typing import Dict, Tuple

import pytest

from asr_channel import channel as channel_module
from asr_channel.channel import VoiceInput
from asr_channel.engine import Transcription
from asr_channel.recognizer import Recognizer
from tests.asr_channel.audio_helpers import tone, wav_bytes
from tests.channels.webhook_server import serve_channel
from zhiyin.ratelimit import ClientLimits


class FixedEngine:
    def transcribe(self, samples):
        return Transcription("你好", "你好", "zh", len(samples) / 16_000, 0.01)


@pytest.fixture(autouse=True)
def no_desk_messages(monkeypatch):
    monkeypatch.setattr(channel_module.desk, "take_undelivered", lambda channel, sender: [])


def multipart(sender: str, audio: bytes, **fields: str) -> Tuple[bytes, Dict[str, str]]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in {"sender": sender, **fields}.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="voice.wav"\r\n'
        f"Content-Type: audio/wav\r\n\r\n".encode()
        + audio
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def voice(limits: ClientLimits, *requests):
    channel = VoiceInput(Recognizer(FixedEngine()), limits)
    return asyncio.run(serve_channel(channel, "/webhooks/voice", list(requests)))


AUDIO = wav_bytes(tone(0.5))


def test_sender_over_the_limit_gets_429_before_recognition():
    answers, dialogue = voice(ClientLimits(per_address=100, per_sender=2), *[multipart("v1", AUDIO)] * 3)
    assert [status for status, _, _ in answers] == [200, 200, 429]
    _, body, headers = answers[2]
    assert body["status"] == 429 and "频繁" in body["error"] and headers["Retry-After"] == "30"
    assert len(dialogue.messages) == 2


def test_address_over_the_limit_gets_429_whatever_the_sender():
    answers, dialogue = voice(
        ClientLimits(per_address=1, per_sender=100), multipart("v1", AUDIO), multipart("v2", AUDIO)
    )
    assert [status for status, _, _ in answers] == [200, 429] and len(dialogue.messages) == 1


def test_metadata_has_the_client_address_and_the_customer_token():
    answers, dialogue = voice(
        ClientLimits(10, 10),
        multipart("v1", AUDIO, customer_token="eyJ.shop.token", client_address="6.6.6.6"),
        multipart("v1", AUDIO),
    )
    assert [status for status, _, _ in answers] == [200, 200]
    first, second = (message.metadata for message in dialogue.messages)
    assert first["client_address"] == "127.0.0.1" and first["customer_token"] == "eyJ.shop.token"
    assert first["voice"]["format"] == "wav"
    assert second["client_address"] == "127.0.0.1" and "customer_token" not in second


def test_a_customer_token_too_large_to_store_is_refused():
    answers, dialogue = voice(ClientLimits(10, 10), multipart("v1", AUDIO, customer_token="x" * 9000))
    assert answers[0][0] == 400 and "metadata" in answers[0][1]["error"] and dialogue.messages == []


def test_multipart_without_a_boundary_has_no_audio():
    answers, _ = voice(ClientLimits(10, 10), (b"--x\r\n\r\n", {"Content-Type": "multipart/form-data"}))
    assert answers[0][0] == 400 and "音频" in answers[0][1]["error"]


def test_every_request_counts_against_the_address_before_its_body_is_parsed():
    broken = (b"--x\r\n\r\n", {"Content-Type": "multipart/form-data; boundary=x"})
    answers, dialogue = voice(ClientLimits(per_address=2, per_sender=100), broken, broken, multipart("v1", AUDIO))
    assert [status for status, _, _ in answers] == [400, 400, 429] and dialogue.messages == []
