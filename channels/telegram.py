"""Telegram: text, buttons (inline keyboard) and voice notes, against any Bot API server.

Rasa's own Telegram channel ignores voice notes (RasaHQ/rasa#5864, #9952), calls getMe on
every update to check the bot's name, and fails start-up when its webhook cannot be set.
This one transcribes voice notes with the process's shared recogniser (asr_channel),
authenticates Telegram by the webhook secret token, answers every well-formed update with
200 so Telegram does not resend it, ignores an update it has already handled, and takes the
Bot API base URL from its settings (tests run against a fake server on 127.0.0.1).

A chat over its rate limit (zhiyin.ratelimit, per chat id: the address is Telegram's) is
acknowledged with 200 and not answered, and told once a minute to slow down. A 429 would make
Telegram resend the update later and hold back the chat's later updates until then.

Settings (credentials.yml or environment): access_token / TELEGRAM_ACCESS_TOKEN,
webhook_url / TELEGRAM_WEBHOOK_URL, secret_token / TELEGRAM_SECRET_TOKEN,
api_url / TELEGRAM_API_URL. Without a token the channel is off and says so in the log.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

import aiohttp
from aiogram import Bot
from aiogram.bot.api import TelegramAPIServer
from aiogram.utils.exceptions import TelegramAPIError, ValidationError
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.telegram import TelegramOutput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from asr_channel import replies as voice_replies
from asr_channel.audio import AudioError
from asr_channel.recognizer import Recognizer, RecognizerBusy, shared_recognizer
from channels import replies
from channels.rest import MAX_MESSAGE_CHARS
from zhiyin.http import Deliveries, json_error
from zhiyin.ratelimit import ClientLimits, RateLimiter, shared_limits
from zhiyin.settings import settings_from

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.telegram.org"
SETTINGS_ENV = {
    "access_token": "TELEGRAM_ACCESS_TOKEN",
    "webhook_url": "TELEGRAM_WEBHOOK_URL",
    "secret_token": "TELEGRAM_SECRET_TOKEN",
    "api_url": "TELEGRAM_API_URL",
}
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class TelegramBot(TelegramOutput):
    """Rasa's Telegram output (text, images, inline keyboards) bound to a chosen Bot API server."""

    def __init__(self, access_token: str, api_url: str = DEFAULT_API_URL) -> None:
        Bot.__init__(self, access_token, server=TelegramAPIServer.from_base(api_url))

    async def fetch_file(self, file_id: str, max_bytes: int) -> bytes:
        """A file's bytes (getFile, then download); stops reading past `max_bytes`."""
        telegram_file = await self.get_file(file_id)
        async with self.session.get(self.get_file_url(telegram_file.file_path)) as reply:
            if reply.status != 200:
                raise aiohttp.ClientResponseError(
                    reply.request_info, (), status=reply.status, message="file download failed"
                )
            data = await reply.content.read(max_bytes + 1)
        return data

    async def close_session(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def chat_of(message: Dict[str, Any]) -> int:
    """The chat id of a Telegram message (always an integer); TypeError if it is something else."""
    chat_id = message["chat"]["id"]
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        raise TypeError("chat.id is not an integer")
    return chat_id


class TelegramInput(InputChannel):
    def __init__(
        self,
        access_token: Optional[str],
        api_url: Optional[str] = None,
        webhook_url: Optional[str] = None,
        secret_token: Optional[str] = None,
        recognizer: Optional[Recognizer] = None,
    ) -> None:
        self.webhook_url = webhook_url
        self.secret_token = secret_token
        self.recognizer = recognizer
        self.limits: ClientLimits = shared_limits()
        self.slow_down_notices = RateLimiter(1)  # one "please slow down" per chat and minute
        self.bot: Optional[TelegramBot] = None
        self.deliveries = Deliveries.from_settings("telegram")  # Telegram resends what it thinks failed
        if access_token:
            try:
                self.bot = TelegramBot(access_token, api_url or DEFAULT_API_URL)
            except ValidationError as error:
                raise RasaException(f"TELEGRAM_ACCESS_TOKEN is not a Telegram bot token: {error}") from error

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> TelegramInput:
        settings = settings_from(credentials, SETTINGS_ENV)
        if not settings["access_token"]:
            logger.info("Telegram channel off: set TELEGRAM_ACCESS_TOKEN to enable it")
            return cls(None)
        return cls(recognizer=shared_recognizer(), **settings)

    def get_output_channel(self) -> Optional[TelegramBot]:
        return self.bot

    @property
    def live_bot(self) -> TelegramBot:
        """The bot, where code runs only while the channel is on (the webhook answers 503 when off)."""
        if self.bot is None:
            raise RuntimeError("Telegram channel is off: set TELEGRAM_ACCESS_TOKEN")
        return self.bot

    @staticmethod
    def parse(update: Dict[str, Any]) -> Optional[Tuple[int, str, Any]]:
        """(chat id, kind, content) with kind text / button / voice / other; None for updates
        that need no answer (edits, channel posts). KeyError, TypeError, AttributeError or
        ValueError: malformed update."""
        if "callback_query" in update:
            query = update["callback_query"]
            if not isinstance(query.get("data"), (str, type(None))):
                raise TypeError("callback_query.data is not text")
            return chat_of(query["message"]), "button", query
        if "message" not in update:
            return None
        message = update["message"]
        chat_id = chat_of(message)
        if isinstance(message.get("text"), str):
            if len(message["text"]) > MAX_MESSAGE_CHARS:  # Telegram's own limit is 4,096
                raise ValueError("text too long")
            return chat_id, "text", message["text"]
        media = message.get("voice") or message.get("audio")
        if media:
            if not isinstance(media.get("file_id"), str):
                raise KeyError("file_id")
            return chat_id, "voice", media
        return chat_id, "other", None

    async def handle(
        self, parsed: Tuple[int, str, Any], on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """Turn one parsed update into a user message (or a direct answer when there is nothing to say)."""
        chat_id, kind, content = parsed
        metadata: Dict[str, Any] = {}
        if kind == "button":
            text = content.get("data")
            await self._acknowledge(content["id"])
        elif kind == "text":
            text = "/greet" if content.strip() == "/start" else content
        elif kind == "voice":
            text, metadata = await self._transcribe(chat_id, content)
        else:
            await self.live_bot.send_text_message(chat_id, replies.UNSUPPORTED_MESSAGE)
            return
        if text:
            await on_new_message(
                UserMessage(text, self.bot, str(chat_id), input_channel=self.name(), metadata=metadata)
            )

    async def _slow_down(self, chat_id: int) -> None:
        """Tell a chat over its rate limit to slow down, at most once a minute."""
        if not self.slow_down_notices.allow(str(chat_id)):
            return
        try:
            await self.live_bot.send_text_message(chat_id, replies.TOO_FAST)
        except (TelegramAPIError, aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.warning("Telegram rate-limit notice to %s failed: %s", chat_id, error)

    async def _acknowledge(self, query_id: str) -> None:
        """Stop the button's loading spinner; a failure here must not lose the answer."""
        try:
            await self.live_bot.answer_callback_query(query_id)
        except (TelegramAPIError, aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.warning("answerCallbackQuery failed: %s", error)

    async def _transcribe(self, chat_id: int, media: Dict[str, Any]):
        """(transcript, metadata) of a voice note; on any problem the customer is told why."""
        recognizer = self.recognizer or shared_recognizer()
        reply, transcription = None, None
        problem = recognizer.too_large(int(media.get("file_size") or 0))
        if problem is None and float(media.get("duration") or 0) > recognizer.max_seconds:
            problem = AudioError(
                voice_replies.TOO_LONG.format(max_seconds=recognizer.max_seconds), "voice note too long", 422
            )
        try:
            if problem:
                raise problem
            data = await self.live_bot.fetch_file(media["file_id"], recognizer.max_bytes)
            transcription, kind = await recognizer.transcribe(data)
        except AudioError as error:
            logger.warning("Telegram voice note from %s rejected: %s", chat_id, error)
            reply = voice_replies.REJECTED.format(reason=error.customer)
        except RecognizerBusy:
            logger.warning("Telegram voice note from %s: recogniser busy", chat_id)
            reply = voice_replies.BUSY
        except (TelegramAPIError, aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.error("Telegram voice note from %s could not be downloaded: %s", chat_id, error)
            reply = voice_replies.DOWNLOAD_FAILED
        if transcription is not None and not transcription.text:
            reply = voice_replies.NO_SPEECH
        if reply or transcription is None:
            await self.live_bot.send_text_message(chat_id, reply or voice_replies.NO_SPEECH)
            return None, {}
        logger.info("Telegram voice note from %s (%.1fs): %r", chat_id, transcription.duration_s, transcription.text)
        # Show the customer what was understood, so a misheard word is visible at once.
        await self.live_bot.send_text_message(chat_id, voice_replies.HEARD.format(text=transcription.text))
        return transcription.text, {"voice": {"format": kind, "duration_s": round(transcription.duration_s, 2)}}

    async def set_webhook(self) -> bool:
        payload = {"url": self.webhook_url, "allowed_updates": json.dumps(["message", "callback_query"])}
        if self.secret_token:
            payload["secret_token"] = self.secret_token
        try:
            await self.live_bot.request("setWebhook", payload)
        except (TelegramAPIError, aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.error(
                "Telegram setWebhook(%s) failed: %s; updates will not arrive until it is set", self.webhook_url, error
            )
            return False
        logger.info("Telegram webhook set to %s", self.webhook_url)
        return True

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        telegram = Blueprint("telegram_webhook", __name__)

        @telegram.listener("after_server_start")
        async def register_webhook(_app: Any, _loop: Any) -> None:
            if self.bot and self.webhook_url:
                await self.set_webhook()

        @telegram.listener("before_server_stop")
        async def close(_app: Any, _loop: Any) -> None:
            if self.bot:
                await self.bot.close_session()

        @telegram.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.bot else "off"})

        @telegram.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if self.bot is None:
                return json_error(503, replies.TELEGRAM_OFF)
            if self.secret_token and not hmac.compare_digest(request.headers.get(SECRET_HEADER, ""), self.secret_token):
                logger.warning("Telegram update with a wrong secret token from %s", request.ip)
                return json_error(401, replies.WRONG_SECRET)
            try:
                update = json.loads(request.body)
            except ValueError:
                return json_error(400, replies.NOT_JSON)
            if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
                return json_error(400, replies.NOT_AN_UPDATE)
            if not self.deliveries.first_time(update["update_id"]):
                logger.info("Telegram update %s already handled, ignored", update["update_id"])
                return response.json({"ok": True, "duplicate": True})
            try:
                parsed = self.parse(update)
            except (KeyError, TypeError, AttributeError, ValueError) as error:
                return json_error(400, replies.MALFORMED_UPDATE.format(error=repr(error)))
            if parsed is None:
                logger.debug("ignored Telegram update %s with %s", update["update_id"], sorted(update))
                return response.json({"ok": True})
            if self.limits.check(self.name(), None, str(parsed[0])):
                await self._slow_down(parsed[0])
                return response.json({"ok": True, "limited": True})
            try:
                await self.handle(parsed, on_new_message)
            except Exception:  # answered 200 anyway: a resend would fail the same way
                logger.exception("Telegram update %s failed", update["update_id"])
            return response.json({"ok": True})

        return telegram
