"""What zhiyin's HTTP channels share: one error format and one rule for a valid sender."""
from __future__ import annotations

from typing import Any, Optional

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
