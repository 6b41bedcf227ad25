"""Settings read from the environment, each with its default in one place."""

from __future__ import annotations

import os
import secrets
from typing import Any, Dict, Mapping, Optional

from zhiyin.paths import VAR_DIR

DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'zhiyin.db'}"
RASA_API_TOKEN_FILE = VAR_DIR / "rasa-api-token"


def database_url() -> str:
    """The business database: ``DATABASE_URL`` (any SQLAlchemy URL), else a SQLite file in var/."""
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def settings_from(credentials: Optional[Mapping[str, Any]], environment: Mapping[str, str]) -> Dict[str, Optional[str]]:
    """Each setting from credentials.yml, else from its environment variable (name -> variable)."""
    credentials = credentials or {}
    return {key: credentials.get(key) or os.environ.get(variable) or None for key, variable in environment.items()}


def desk_hours() -> str:
    """When people answer in the desk, ``DESK_HOURS`` as HH:MM-HH:MM (default 09:00-21:00)."""
    return os.environ.get("DESK_HOURS") or "09:00-21:00"


def desk_timezone() -> str:
    """The shop's time zone for service hours (``DESK_TIMEZONE``, default Asia/Shanghai)."""
    return os.environ.get("DESK_TIMEZONE") or "Asia/Shanghai"


def desk_claim_timeout_minutes() -> float:
    """Minutes an agent may hold a conversation without replying before it goes back to the
    queue (``DESK_CLAIM_TIMEOUT_MINUTES``, default 5)."""
    return float(os.environ.get("DESK_CLAIM_TIMEOUT_MINUTES") or 5)


def rasa_api_token() -> str:
    """The token of the Rasa HTTP API: ``RASA_API_TOKEN`` when set, else the one in
    var/rasa-api-token, generated (readable by its owner only) on first use."""
    token = os.environ.get("RASA_API_TOKEN")
    if token:
        return token
    if RASA_API_TOKEN_FILE.is_file():
        token = RASA_API_TOKEN_FILE.read_text(encoding="utf-8").strip()
        if token:
            return token
    RASA_API_TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    descriptor = os.open(RASA_API_TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token + "\n")
    return token


def rasa_api_url() -> str:
    """Where the desk reaches the Rasa HTTP API: ``RASA_API_URL``, else this server on loopback
    (``RASA_PORT``, default 5005)."""
    return os.environ.get("RASA_API_URL") or f"http://127.0.0.1:{os.environ.get('RASA_PORT') or 5005}"
