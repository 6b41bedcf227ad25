"""Correct homophone errors in transcripts against the shop's own vocabulary.

Whisper writes what it heard with the characters it finds likeliest: 快地 for 快递, 包有 for
包邮, 克服 for 客服, 每的空调 for 美的空调. Those are the same syllables, so a span whose toneless
pinyin equals that of a catalog name, brand or service word is replaced by that word. Only
Chinese spans of two or more characters are touched; everything else is left as heard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Tuple

from pypinyin import lazy_pinyin

# Words customers say that a general model tends to mishear (订单 → 定单, 客服 → 克服).
DOMAIN_WORDS = ("订单", "订单号", "快递", "物流", "客服", "人工", "投诉", "建议", "包邮", "退货", "退款", "发货")

_HAN = re.compile(r"[\u4e00-\u9fff]+")
MIN_WORD_CHARS = 2


def _key(text: str) -> Tuple[str, ...]:
    return tuple(lazy_pinyin(text))


@dataclass
class HomophoneCorrector:
    by_sound: Dict[Tuple[str, ...], str]
    longest: int

    @classmethod
    def from_words(cls, words: Iterable[str]) -> HomophoneCorrector:
        by_sound: Dict[Tuple[str, ...], str] = {}
        for word in words:
            if len(word) >= MIN_WORD_CHARS and _HAN.fullmatch(word):
                by_sound.setdefault(_key(word), word)
        return cls(by_sound, max((len(k) for k in by_sound), default=0))

    def correct(self, text: str) -> str:
        return _HAN.sub(lambda match: self._correct_run(match.group(0)), text)

    def _correct_run(self, run: str) -> str:
        """Greedy left-to-right, longest vocabulary word first."""
        out: List[str] = []
        syllables = lazy_pinyin(run)
        i = 0
        while i < len(run):
            for size in range(min(self.longest, len(run) - i), MIN_WORD_CHARS - 1, -1):
                word = self.by_sound.get(tuple(syllables[i : i + size]))
                if word is not None:
                    out.append(word)
                    i += size
                    break
            else:
                out.append(run[i])
                i += 1
        return "".join(out)


def shop_vocabulary() -> List[str]:
    """Chinese names and aliases of products and brands from the seed catalog, plus service words."""
    from zhiyin.seed import load_catalog  # the database layer loads only when a corrector is built

    catalog = load_catalog()
    words = list(DOMAIN_WORDS)
    for item in [*catalog["products"], *catalog["companies"]]:
        words += [item["name"], *map(str, item.get("aliases", []))]
    return words
