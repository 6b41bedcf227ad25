"""Personal data encrypted at rest, and keyed hashes to find it again.

Phone numbers and free text in tickets, notes and agent replies, and the tracker store's
events, are written as Fernet tokens (AES-128-CBC + HMAC-SHA256: authenticated, so a changed
byte is detected, not decrypted into garbage) under the data keys of `zhiyin.settings`. Every
key listed decrypts and the first encrypts, so keys rotate without downtime:
`python -m zhiyin privacy rotate-key` adds a key and re-encrypts everything under it.

A phone number is also stored as a keyed hash (HMAC-SHA256 under the lookup key), so the desk
can find a customer's earlier tickets and `privacy forget --phone` can find their records
without any readable copy of the number.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import Any, Optional

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.types import Text, TypeDecorator

from zhiyin.settings import data_keys, lookup_key

# Every Fernet token starts with its version byte 0x80, base64-encoded: "gAAAAA".
TOKEN_PREFIX = "gAAAAA"


class UndecryptableData(ValueError):
    """A stored token that none of the configured keys opens (a key was lost or retired early)."""


@lru_cache(maxsize=1)
def cipher() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in data_keys()])


@lru_cache(maxsize=1)
def _lookup_key() -> bytes:
    return lookup_key()


def forget_keys() -> None:
    """Read the keys again (after a rotation, or a test that changes them)."""
    cipher.cache_clear()
    _lookup_key.cache_clear()


def is_encrypted(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def encrypt(text: str) -> str:
    return cipher().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(value: str) -> str:
    """The plain text of a stored value; a value written before encryption was switched on
    (not a token) is returned as it is."""
    if not is_encrypted(value):
        return value
    try:
        return cipher().decrypt(value.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise UndecryptableData("stored data cannot be decrypted with the configured data keys") from None


def rotate(value: str) -> str:
    """The value re-encrypted under the newest key (plain values get encrypted)."""
    if not is_encrypted(value):
        return encrypt(value)
    try:
        return cipher().rotate(value.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise UndecryptableData("stored data cannot be decrypted with the configured data keys") from None


def lookup_hash(phone: Optional[str]) -> Optional[str]:
    """The keyed hash a phone number is found by (None for no number)."""
    if not phone:
        return None
    return hmac.new(_lookup_key(), phone.encode("utf-8"), hashlib.sha256).hexdigest()


class EncryptedText(TypeDecorator):
    """A text column stored encrypted; the application reads and writes plain text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Optional[str]:
        return None if value is None else encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> Optional[str]:
        return None if value is None else decrypt(str(value))
