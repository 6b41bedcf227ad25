"""Text normalisation shared by matching and validation."""
from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Fold full-width characters to half-width (NFKC), lowercase, drop white space.

    Customers and speech recognisers write the same name many ways ("ＩＰｈｏｎｅ 15",
    "iphone15"); comparing normalised forms makes those equal.
    """
    return _SPACES.sub("", unicodedata.normalize("NFKC", text or "")).lower()
