"""Audio test material: the real clips, the synthesised utterances, and re-encoding via PyAV."""
from __future__ import annotations

import io
from typing import Dict

import av
import numpy as np

from actions.db import PROJECT_ROOT
from asr_channel.audio import SAMPLE_RATE
from asr_channel.text import read_references

REAL_DIR = PROJECT_ROOT / "tests" / "audio" / "real"
SPEECH_DIR = PROJECT_ROOT / "var" / "speech"
# container -> (PyAV format, codec)
ENCODINGS = {"webm": ("webm", "libopus"), "ogg": ("ogg", "libopus"), "mp3": ("mp3", "libmp3lame"), "m4a": ("mp4", "aac")}


def real_transcripts() -> Dict[str, str]:
    return read_references(REAL_DIR / "transcripts.tsv")


def speech(utterance_id: str) -> bytes:
    path = SPEECH_DIR / f"{utterance_id}.wav"
    assert path.exists(), f"{path} missing: run `make speech` (make test does)"
    return path.read_bytes()


def encode(samples: np.ndarray, container: str) -> bytes:
    """Encode 16 kHz mono float samples as a browser or phone would send them."""
    fmt, codec = ENCODINGS[container]
    rate = 48_000 if codec == "libopus" else SAMPLE_RATE
    if rate != SAMPLE_RATE:
        positions = np.linspace(0, len(samples) - 1, int(len(samples) * rate / SAMPLE_RATE))
        samples = np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        frame_size = stream.codec_context.frame_size or 1024
        for start in range(0, len(pcm), frame_size):
            frame = av.AudioFrame.from_ndarray(pcm[start : start + frame_size].reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


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
