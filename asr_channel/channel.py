"""`voice` input channel: audio in, Whisper transcript through the same dialogue, JSON out.

POST /webhooks/voice/webhook with multipart form data (`file`, `sender`) or a raw audio body
(`?sender=...`). The reply carries the transcript and the bot's messages as the REST channel
returns them. Recognition runs in a thread pool with a bounded number in flight; beyond that
the client gets 503 with Retry-After instead of waiting indefinitely.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from asr_channel import replies
from asr_channel.audio import AudioError
from asr_channel.recognizer import Recognizer, RecognizerBusy, shared_recognizer
from zhiyin.http import json_error, sender_problem
from zhiyin.services import desk

logger = logging.getLogger(__name__)


class VoiceInput(InputChannel):
    def __init__(self, recognizer: Recognizer) -> None:
        self.recognizer = recognizer

    @classmethod
    def name(cls) -> str:
        return "voice"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> VoiceInput:
        return cls(shared_recognizer(dict(credentials or {})))

    @staticmethod
    def _upload(request: Request) -> Tuple[Optional[bytes], Optional[str]]:
        """(audio bytes, sender) from multipart form data or a raw body."""
        if request.content_type.startswith("multipart/form-data"):
            upload = request.files.get("file")
            return (upload.body if upload else None), request.form.get("sender")
        return request.body or None, request.args.get("sender")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        voice = Blueprint("voice_webhook", __name__)

        @voice.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "in_flight": self.recognizer.in_flight})

        @voice.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            too_large = self.recognizer.too_large(len(request.body or b""))
            if too_large:
                return json_error(too_large.status, str(too_large))
            data, sender = self._upload(request)
            if not data:
                return json_error(400, replies.NO_AUDIO_ERROR)
            reason = sender_problem(sender)
            if reason:
                return json_error(400, reason)
            try:
                transcription, kind = await self.recognizer.transcribe(data)
            except RecognizerBusy as busy:
                return json_error(503, replies.BUSY_ERROR, **{"Retry-After": str(busy.retry_after_s)})
            except AudioError as problem:
                logger.warning("voice message from %s rejected: %s", sender, problem)
                return json_error(problem.status, str(problem))
            logger.info(
                "voice %s from %s: %.1fs audio, recognised in %.2fs: %r",
                kind,
                sender,
                transcription.duration_s,
                transcription.seconds,
                transcription.text,
            )
            result = {
                "transcript": transcription.text,
                "heard": transcription.heard,
                "language": transcription.language,
                "duration_s": round(transcription.duration_s, 2),
            }
            if not transcription.text:
                result["responses"] = [{"recipient_id": sender, "text": replies.NO_SPEECH}]
                return response.json(result)
            collector = CollectingOutputChannel()
            metadata = {"voice": {"format": kind, "duration_s": result["duration_s"]}}
            await on_new_message(
                UserMessage(transcription.text, collector, str(sender), input_channel=self.name(), metadata=metadata)
            )
            # What a person on the desk wrote since the last call comes first (zhiyin.services.desk).
            result["responses"] = [*desk.take_undelivered(self.name(), str(sender)), *collector.messages]
            return response.json(result)

        return voice
