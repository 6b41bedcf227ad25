"""Text normalisation shared by matching, validation, speech and analytics."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Fold full-width characters to half-width (NFKC), lowercase, drop white space.

    Customers and speech recognisers write the same name many ways ("ＩＰｈｏｎｅ 15",
    "iphone15"); comparing normalised forms makes those equal.
    """
    return _SPACES.sub("", unicodedata.normalize("NFKC", text or "")).lower()


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional to simplified characters (OpenCC t2s): what customers read and the NLU learnt.

    Whisper base often writes Mandarin in traditional characters, and some customers type them.
    """
    return str(_t2s().convert(text))


def yuan(fen: int) -> str:
    """An amount in fen as customers read it in yuan: 3599, or 3599.50 when it has cents."""
    whole, cents = divmod(int(fen), 100)
    return f"{whole}" if cents == 0 else f"{whole}.{cents:02d}"
