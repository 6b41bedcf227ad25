"""Settings read from the environment, each with its default in one place."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional

from zhiyin.paths import VAR_DIR

DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'zhiyin.db'}"
RASA_API_TOKEN_FILE = VAR_DIR / "rasa-api-token"
ACTION_SERVER_SECRET_FILE = VAR_DIR / "action-server-secret"
DATA_KEYS_FILE = VAR_DIR / "data-keys"
LOOKUP_KEY_FILE = VAR_DIR / "lookup-key"


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


def secret_from(variable: str, file: Path, generate: Callable[[], str]) -> str:
    """A secret from the environment variable when set, else from ``file``, which is generated
    (readable by its owner only) on first use; every process of one install then agrees."""
    value = os.environ.get(variable)
    if value:
        return value
    if file.is_file():
        value = file.read_text(encoding="utf-8").strip()
        if value:
            return value
    file.parent.mkdir(parents=True, exist_ok=True)
    # Written whole to a private file, then linked into place only if no other process got
    # there first: every process ends up with the same value, and nobody reads half a file.
    draft = file.with_name(f".{file.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(generate() + "\n")
    try:
        os.link(draft, file)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return file.read_text(encoding="utf-8").strip()


def rasa_api_token() -> str:
    """The token of the Rasa HTTP API: ``RASA_API_TOKEN`` when set, else the one in
    var/rasa-api-token, generated on first use."""
    return secret_from("RASA_API_TOKEN", RASA_API_TOKEN_FILE, lambda: secrets.token_urlsafe(32))


def action_server_secret() -> str:
    """The secret the Rasa server sends to the action server with every call, which refuses
    calls without it: ``ACTION_SERVER_SECRET``, else var/action-server-secret."""
    return secret_from("ACTION_SERVER_SECRET", ACTION_SERVER_SECRET_FILE, lambda: secrets.token_urlsafe(32))


def action_server_host() -> str:
    """The address the action server listens on: ``ACTION_SERVER_HOST``, default loopback (set
    a private address when the Rasa server runs on another machine)."""
    return os.environ.get("ACTION_SERVER_HOST") or "127.0.0.1"


def data_keys() -> List[str]:
    """Keys that encrypt personal data at rest (Fernet, newest first): ``ZHIYIN_DATA_KEYS``
    (comma-separated), else var/data-keys (one per line). The first encrypts; all decrypt, so a
    rotated-out key keeps working until `python -m zhiyin privacy rotate-key --retire`."""
    from cryptography.fernet import Fernet

    value = secret_from("ZHIYIN_DATA_KEYS", DATA_KEYS_FILE, lambda: Fernet.generate_key().decode())
    return [key.strip() for key in value.replace(",", "\n").splitlines() if key.strip()]


def lookup_key() -> bytes:
    """The key of the keyed hashes that find a customer's records by phone number without
    storing it readable (HMAC-SHA256): ``ZHIYIN_LOOKUP_KEY``, else var/lookup-key. Unlike the
    data keys it is never rotated: the hashes cannot be recomputed without the phone numbers."""
    return secret_from("ZHIYIN_LOOKUP_KEY", LOOKUP_KEY_FILE, lambda: secrets.token_urlsafe(32)).encode()


def customer_token_secret() -> Optional[str]:
    """The secret shared with the shop's own site, which signs the customer tokens (JWT, HS256)
    it gives the web chat for a signed-in customer: ``CUSTOMER_TOKEN_SECRET``. Unset: no token
    is accepted and customers verify with their phone number."""
    return os.environ.get("CUSTOMER_TOKEN_SECRET") or None


def retention_days() -> Dict[str, int]:
    """How long conversations and finished tickets are kept before `privacy purge` deletes them
    (``RETENTION_CONVERSATION_DAYS``, default 180; ``RETENTION_TICKET_DAYS``, default 365)."""
    return {
        "conversations": int(os.environ.get("RETENTION_CONVERSATION_DAYS") or 180),
        "tickets": int(os.environ.get("RETENTION_TICKET_DAYS") or 365),
    }


def rasa_api_url() -> str:
    """Where the desk reaches the Rasa HTTP API: ``RASA_API_URL``, else this server on loopback
    (``RASA_PORT``, default 5005)."""
    return os.environ.get("RASA_API_URL") or f"http://127.0.0.1:{os.environ.get('RASA_PORT') or 5005}"


def rate_limits() -> Dict[str, int]:
    """Messages per minute each public channel accepts from one client address
    (``RATE_LIMIT_PER_ADDRESS``, default 120) and from one sender (``RATE_LIMIT_PER_SENDER``,
    default 30); 0 turns a limit off. Beyond them a client gets 429 or a polite message."""
    return {
        "address": int(os.environ.get("RATE_LIMIT_PER_ADDRESS") or 120),
        "sender": int(os.environ.get("RATE_LIMIT_PER_SENDER") or 30),
    }


def forwarded_proxies() -> int:
    """How many reverse proxies in front of the Rasa server append to X-Forwarded-For
    (``FORWARDED_PROXIES``, default 0: clients connect directly). Passed to Sanic as
    PROXIES_COUNT, so the client address is the one the outermost trusted proxy saw; set it
    behind nginx, or every customer shares the proxy's address (and its rate limit)."""
    return int(os.environ.get("FORWARDED_PROXIES") or 0)


def redis_url() -> Optional[str]:
    """The Redis that replicas share (``REDIS_URL``, e.g. ``redis://:password@host:6379/0``):
    the conversation lock store, rate limits, the dedupe of platform deliveries and socket.io
    delivery across replicas. Unset: each process keeps these in memory (one replica)."""
    return os.environ.get("REDIS_URL") or None
