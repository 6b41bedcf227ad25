"""Audio test material: the real clips, the synthesised utterances, and re-encoding via PyAV."""

from __future__ import annotations

import io
from typing import Dict

import numpy as np

from asr_channel.audio import SAMPLE_RATE
from asr_channel.text import read_references
from tools.synth_speech import ENCODINGS, encode  # noqa: F401  (re-exported for the tests)
from zhiyin.paths import PROJECT_ROOT, VAR_DIR

REAL_DIR = PROJECT_ROOT / "tests" / "audio" / "real"
SPEECH_DIR = VAR_DIR / "speech"


def real_transcripts() -> Dict[str, str]:
    return read_references(REAL_DIR / "transcripts.tsv")


def speech(utterance_id: str) -> bytes:
    path = SPEECH_DIR / f"{utterance_id}.wav"
    assert path.exists(), f"{path} missing: run `make speech` (make test does)"
    return path.read_bytes()


def wav_bytes(samples: np.ndarray) -> bytes:
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def tone(seconds: float, frequency: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
