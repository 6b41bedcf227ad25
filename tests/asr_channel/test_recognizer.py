import asyncio

import pytest

from asr_channel import recognizer as module
from asr_channel.audio import AudioError
from asr_channel.engine import Transcription
from asr_channel.recognizer import Recognizer, RecognizerBusy, shared_recognizer
from tests.asr_channel.audio_helpers import tone, wav_bytes


class CountingEngine:
    """Records what it was asked to transcribe (the real engine is tested in test_text_and_engine)."""

    def __init__(self):
        self.calls = 0

    def transcribe(self, samples):
        self.calls += 1
        return Transcription("你好", "你好", "zh", len(samples) / 16_000, 0.01)


def test_decodes_then_transcribes_off_the_event_loop():
    engine = CountingEngine()
    transcription, kind = asyncio.run(Recognizer(engine).transcribe(wav_bytes(tone(1.0))))
    assert (transcription.text, kind, engine.calls) == ("你好", "wav", 1)
    assert transcription.duration_s == pytest.approx(1.0)


def test_refuses_oversized_audio_before_decoding():
    engine = CountingEngine()
    with pytest.raises(AudioError) as problem:
        asyncio.run(Recognizer(engine, max_bytes=1000).transcribe(wav_bytes(tone(1.0))))
    assert problem.value.status == 413 and "过大" in problem.value.customer and engine.calls == 0


def test_full_pool_is_busy_not_queued():
    recognizer = Recognizer(CountingEngine(), max_in_flight=1, retry_after_s=7)
    recognizer.in_flight = 1
    with pytest.raises(RecognizerBusy) as busy:
        asyncio.run(recognizer.transcribe(wav_bytes(tone(1.0))))
    assert busy.value.retry_after_s == 7


def test_in_flight_is_released_after_a_failure():
    recognizer = Recognizer(CountingEngine())
    with pytest.raises(AudioError):
        asyncio.run(recognizer.transcribe(b"RIFF\x00\x00\x00\x00WAVEgarbage"))
    assert recognizer.in_flight == 0


def test_channels_share_one_recogniser(monkeypatch):
    built = []
    monkeypatch.setattr(module, "_shared", {})
    monkeypatch.setattr(module, "build_engine", lambda options: built.append(options) or CountingEngine())
    voice = shared_recognizer({"beam_size": 5, "max_in_flight": 3})
    assert voice.max_in_flight == 3 and built == [{"beam_size": 5}]
    assert shared_recognizer() is voice  # Telegram takes the voice channel's
    assert shared_recognizer({"max_in_flight": 3, "beam_size": 5}) is voice
    assert len(built) == 1
