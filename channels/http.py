"""What zhiyin's HTTP channels share: one error format, one rule for a valid sender, settings from the environment, retry de-duplication."""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Dict, Hashable, Mapping, Optional

from sanic import response
from sanic.response import HTTPResponse

MAX_SENDER_CHARS = 128


def json_error(status: int, reason: str, **headers: str) -> HTTPResponse:
    """A 4xx/5xx answer with a JSON reason (Chinese for the customer / English for developers)."""
    return response.json({"error": reason, "status": status}, status=status, headers=headers or None)


def sender_problem(sender: Any) -> Optional[str]:
    """Why a sender id cannot identify a conversation, or None if it can."""
    if not isinstance(sender, (str, int)) or isinstance(sender, bool) or not str(sender).strip():
        return "缺少 sender（会话标识） / 'sender' is required"
    if len(str(sender)) > MAX_SENDER_CHARS:
        return f"sender 过长（最多 {MAX_SENDER_CHARS} 字符） / 'sender' is too long"
    return None


def settings_from(credentials: Optional[Mapping[str, Any]], environment: Mapping[str, str]) -> Dict[str, Optional[str]]:
    """Each setting from credentials.yml, else from its environment variable (name -> variable)."""
    credentials = credentials or {}
    return {key: credentials.get(key) or os.environ.get(variable) or None for key, variable in environment.items()}


class Deliveries:
    """The last `size` delivery ids a webhook accepted, so a platform's retry is not answered twice."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._seen: "OrderedDict[Hashable, None]" = OrderedDict()

    def first_time(self, key: Optional[Hashable]) -> bool:
        """True the first time `key` is seen (and for deliveries without an id)."""
        if key is None:
            return True
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True
