"""One speech recogniser per process, shared by every channel that takes voice.

Recognition is CPU-bound. The voice webhook and Telegram voice notes draw on the same engine
(loaded once) and the same bounded thread pool, so together they never run more than
`max_in_flight` transcriptions; beyond that a caller gets `RecognizerBusy` at once instead of
queueing behind minutes of audio.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Optional, Tuple

from asr_channel import replies
from asr_channel.audio import AudioError, decode
from asr_channel.engine import SpeechEngine, Transcription, build_engine
from zhiyin import metrics

logger = logging.getLogger(__name__)

MAX_BYTES, MAX_SECONDS, MAX_IN_FLIGHT, RETRY_AFTER_S = 10 * 1024 * 1024, 60.0, 2, 5
LIMIT_DEFAULTS: Dict[str, Any] = {
    "max_bytes": MAX_BYTES,
    "max_seconds": MAX_SECONDS,
    "max_in_flight": MAX_IN_FLIGHT,
    "retry_after_s": RETRY_AFTER_S,
}


class RecognizerBusy(Exception):
    """Every recognition slot is taken; try again in `retry_after_s`."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"recogniser busy, retry after {retry_after_s}s")
        self.retry_after_s = retry_after_s


class Recognizer:
    def __init__(
        self,
        engine: SpeechEngine,
        max_bytes: int = MAX_BYTES,
        max_seconds: float = MAX_SECONDS,
        max_in_flight: int = MAX_IN_FLIGHT,
        retry_after_s: int = RETRY_AFTER_S,
    ) -> None:
        self.engine = engine
        self.max_bytes = int(max_bytes)
        self.max_seconds = float(max_seconds)
        self.max_in_flight = int(max_in_flight)
        self.retry_after_s = int(retry_after_s)
        self.in_flight = 0
        self.pool = ThreadPoolExecutor(max_workers=self.max_in_flight, thread_name_prefix="asr")

    @property
    def max_megabytes(self) -> int:
        return self.max_bytes // (1024 * 1024)

    def too_large(self, size: int) -> Optional[AudioError]:
        if size <= self.max_bytes:
            return None
        return AudioError(replies.TOO_LARGE.format(max_megabytes=self.max_megabytes), "audio too large", 413)

    def _recognise(self, data: bytes) -> Tuple[Transcription, str]:
        started = time.perf_counter()
        audio = decode(data, self.max_seconds)
        transcription = self.engine.transcribe(audio.samples)
        metrics.record_recognition(time.perf_counter() - started, transcription.duration_s)
        return transcription, audio.format

    async def transcribe(self, data: bytes) -> Tuple[Transcription, str]:
        """(transcription, container format); raises AudioError or RecognizerBusy."""
        problem = self.too_large(len(data))
        if problem:
            raise problem
        if self.in_flight >= self.max_in_flight:
            raise RecognizerBusy(self.retry_after_s)
        self.in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, self._recognise, data)
        finally:
            self.in_flight -= 1


_shared: Dict[str, Recognizer] = {}


def shared_recognizer(settings: Optional[Dict[str, Any]] = None) -> Recognizer:
    """The process's recogniser for these settings (engine options plus limits).

    With no settings, the one already configured (by the voice channel in credentials.yml),
    else one with the defaults: a channel that merely accepts voice does not load a second model.
    """
    if settings is None and _shared:
        return next(iter(_shared.values()))
    key = json.dumps(settings or {}, sort_keys=True, default=str)
    if key not in _shared:
        options = {**LIMIT_DEFAULTS, **(settings or {})}
        limits = {name: options.pop(name) for name in LIMIT_DEFAULTS}
        _shared[key] = Recognizer(build_engine(options), **limits)
        logger.info("speech recogniser ready (%s)", key)
    return _shared[key]
