"""Audio in: recognise the container from its bytes, decode to 16 kHz mono, bounded in length.

Browsers and apps label audio unreliably (Firefox sends no type at all), so the format is
sniffed from the content. Decoding uses PyAV (installed with faster-whisper) and stops as
soon as the audio is longer than allowed, so a small file that expands to hours of samples
cannot exhaust memory.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Optional

import av
import numpy as np

from asr_channel import replies

SAMPLE_RATE = 16_000


class AudioError(ValueError):
    """Audio that cannot be used: a reason for the customer (Chinese), one for developers
    (English), and the HTTP status to answer with."""

    def __init__(self, customer: str, detail: str, status: int) -> None:
        super().__init__(f"{customer} / {detail}")
        self.customer = customer
        self.status = status


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    format: str

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def sniff(data: bytes) -> Optional[str]:
    """The container format from its magic bytes: wav, webm, ogg, mp3, m4a, flac; else None."""
    head = data[:16]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"fLaC":
        return "flac"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def decode(data: bytes, max_seconds: float) -> Audio:
    """Decode any supported container to 16 kHz mono float32."""
    kind = sniff(data)
    if kind is None:
        raise AudioError(replies.UNSUPPORTED_FORMAT, "unsupported audio format", 415)
    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    limit = int((max_seconds + 0.5) * SAMPLE_RATE)
    chunks, total = [], 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(replies.NO_AUDIO_STREAM, "no audio stream", 422)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1)
                    chunks.append(samples)
                    total += len(samples)
                if total > limit:
                    raise AudioError(
                        replies.TOO_LONG.format(max_seconds=max_seconds), f"audio longer than {max_seconds:.0f} s", 422
                    )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except AudioError:
        raise
    except (av.error.FFmpegError, ValueError, IndexError) as error:
        raise AudioError(replies.CORRUPT, f"corrupt audio: {error}", 422) from error
    if not chunks:
        raise AudioError(replies.EMPTY, "empty audio", 422)
    samples = np.concatenate(chunks).astype(np.float32) / 32768.0
    return Audio(samples, kind)
