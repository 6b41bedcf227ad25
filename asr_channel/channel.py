"""`voice` input channel: audio in, Whisper transcript through the same dialogue, JSON out.

POST /webhooks/voice/webhook with multipart form data (`file`, `sender`, optionally the shop's
`customer_token`, which goes into the message's metadata) or a raw audio body (`?sender=...`).
The reply carries the transcript and the bot's messages as the REST channel returns them. Recognition runs in a thread pool with a bounded number in flight; beyond that
the client gets 503 with Retry-After instead of waiting indefinitely. Beyond the rate limits
per client address and per sender (zhiyin.ratelimit) it gets 429 with Retry-After, before any
decoding. The message's metadata carries `client_address`, as the server sees it.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.headers import parse_content_header
from sanic.request import Request
from sanic.response import HTTPResponse

from asr_channel import replies
from asr_channel.audio import AudioError
from asr_channel.recognizer import Recognizer, RecognizerBusy, shared_recognizer
from zhiyin.http import client_address, json_error, metadata_problem, sender_problem, too_many_requests
from zhiyin.ratelimit import ClientLimits, shared_limits
from zhiyin.services import desk

logger = logging.getLogger(__name__)


class VoiceInput(InputChannel):
    def __init__(self, recognizer: Recognizer, limits: Optional[ClientLimits] = None) -> None:
        self.recognizer = recognizer
        self.limits = limits or shared_limits()

    @classmethod
    def name(cls) -> str:
        return "voice"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> VoiceInput:
        return cls(shared_recognizer(dict(credentials or {})))

    @staticmethod
    def _multipart(request: Request) -> bool:
        """Whether the body is multipart form data Sanic can parse (without a boundary it would
        log a traceback and find nothing)."""
        kind, options = parse_content_header(request.content_type)
        return kind == "multipart/form-data" and bool(options.get("boundary"))

    @classmethod
    def _upload(cls, request: Request) -> Tuple[Optional[bytes], Optional[str]]:
        """(audio bytes, sender) from multipart form data or a raw body."""
        if request.content_type.startswith("multipart/form-data"):
            if not cls._multipart(request):
                return None, None
            upload = request.files.get("file")
            return (upload.body if upload else None), request.form.get("sender")
        return request.body or None, request.args.get("sender")

    @classmethod
    def _customer_token(cls, request: Request) -> Optional[str]:
        """The shop's customer token, a form field next to the audio (the web widget sends it)."""
        return (request.form.get("customer_token") or None) if cls._multipart(request) else None

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
            # Every request counts against its address, before the body is even parsed; the
            # sender's limit once it is known.
            address = client_address(request)
            refusal = self.limits.check(self.name(), address)
            if refusal:
                return too_many_requests(refusal.retry_after_s)
            data, sender = self._upload(request)
            if not data:
                return json_error(400, replies.NO_AUDIO_ERROR)
            token = self._customer_token(request)
            reason = sender_problem(sender) or (metadata_problem({"customer_token": token}) if token else None)
            if reason:
                return json_error(400, reason)
            refusal = self.limits.check(self.name(), None, str(sender))
            if refusal:
                return too_many_requests(refusal.retry_after_s)
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
            metadata = {"voice": {"format": kind, "duration_s": result["duration_s"]}, "client_address": address}
            if token:
                metadata["customer_token"] = token
            await on_new_message(
                UserMessage(transcription.text, collector, str(sender), input_channel=self.name(), metadata=metadata)
            )
            # What a person on the desk wrote since the last call comes first (zhiyin.services.desk).
            result["responses"] = [*desk.take_undelivered(self.name(), str(sender)), *collector.messages]
            return response.json(result)

        return voice
