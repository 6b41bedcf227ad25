"""Transcript clean-up and the character error rate used to judge it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, Tuple

from rapidfuzz.distance import Levenshtein

from zhiyin.text import to_simplified

_NOT_WORD = re.compile(r"[^\w]", re.UNICODE)


_FULL_WIDTH = {",": "，", "?": "？", "!": "！", ":": "：", ";": "；"}
_ASCII_PUNCTUATION_AFTER_HAN = re.compile(r"(?<=[\u4e00-\u9fff])\s*([,?!:;])\s*")


def clean_transcript(text: str) -> str:
    """Simplified characters, no spaces between Chinese segments, Chinese punctuation, trimmed.

    Whisper writes ASCII commas between Chinese words; the NLU was trained on typed Chinese
    with full-width punctuation, and "好的,谢谢" should read like "好的，谢谢".
    """
    text = to_simplified(text).strip()
    text = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", text)
    return _ASCII_PUNCTUATION_AFTER_HAN.sub(lambda m: _FULL_WIDTH[m.group(1)], text)


def for_scoring(text: str) -> str:
    """Characters only (no punctuation or spaces), simplified: what CER compares."""
    return _NOT_WORD.sub("", to_simplified(text))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: edit distance over reference length."""
    ref, hyp = for_scoring(reference), for_scoring(hypothesis)
    return Levenshtein.distance(ref, hyp) / max(len(ref), 1)


def corpus_cer(pairs: Iterable[Tuple[str, str]]) -> float:
    """CER over many (reference, hypothesis) pairs: total edits over total reference characters."""
    edits = characters = 0
    for reference, hypothesis in pairs:
        ref = for_scoring(reference)
        edits += Levenshtein.distance(ref, for_scoring(hypothesis))
        characters += len(ref)
    return edits / max(characters, 1)


def read_references(path: Path) -> Dict[str, str]:
    """Reference transcripts from a TSV with a header row: file name, tab, transcript."""
    rows = path.read_text(encoding="utf-8").splitlines()[1:]
    return dict(row.split("\t", 1) for row in rows if row.strip())
