"""Transcript clean-up and the character error rate used to judge it."""
from __future__ import annotations

import re
from functools import lru_cache

import opencc
from rapidfuzz.distance import Levenshtein

_NOT_WORD = re.compile(r"[^\w]", re.UNICODE)


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Whisper base often writes Mandarin in traditional characters; customers read simplified."""
    return _t2s().convert(text)


def clean_transcript(text: str) -> str:
    """Simplified characters, no spaces between Chinese segments, trimmed."""
    text = to_simplified(text).strip()
    return re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", text)


def for_scoring(text: str) -> str:
    """Characters only (no punctuation or spaces), simplified: what CER compares."""
    return _NOT_WORD.sub("", to_simplified(text))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: edit distance over reference length."""
    ref, hyp = for_scoring(reference), for_scoring(hypothesis)
    return Levenshtein.distance(ref, hyp) / max(len(ref), 1)
