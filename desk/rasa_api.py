"""The desk's client for the Rasa HTTP API, over loopback and always with the API token.

The desk changes conversations only through this API (append events: pause, resume, the
agent's messages), so Rasa's lock store orders them with the customer's own messages.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15


class RasaAPIError(RuntimeError):
    """The Rasa server could not be reached or refused the request."""


class RasaAPI:
    def __init__(self, base_url: str, token: Optional[str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def _url(self, sender: str, suffix: str) -> str:
        return f"{self.base_url}/conversations/{quote(sender, safe='')}/{suffix}"

    def _params(self, **extra: str) -> Dict[str, str]:
        return {**({"token": self.token} if self.token else {}), **extra}

    async def _call(self, method: str, url: str, params: Dict[str, str], body: Any = None) -> Any:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.request(method, url, params=params, json=body) as reply,
            ):
                payload = await reply.json(content_type=None)
                if reply.status >= 400:
                    raise RasaAPIError(f"Rasa answered {reply.status} to {method} {url}: {str(payload)[:300]}")
                return payload
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError) as error:
            raise RasaAPIError(f"Rasa API unreachable ({method} {url}): {error!r}") from error

    async def events(self, sender: str) -> List[Dict[str, Any]]:
        """Every event of the conversation (all sessions)."""
        tracker = await self._call("GET", self._url(sender, "tracker"), self._params(include_events="ALL"))
        return list(tracker.get("events") or [])

    async def append(self, sender: str, events: List[Dict[str, Any]]) -> None:
        await self._call("POST", self._url(sender, "tracker/events"), self._params(), events)
