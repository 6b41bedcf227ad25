"""Text cleaning for analysis: normalise, segment with the catalog dictionary, drop noise.

Customers type full-width letters, traditional characters, emoji and punctuation; analysis
wants the words that carry meaning. The NLU pipeline has its own tokenizer (Rasa's
JiebaTokenizer); this one serves counting, keywords, topics and de-duplication.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import FrozenSet, List, Tuple

import jieba
import jieba.posseg
import stopwordsiso

from zhiyin.paths import PROJECT_ROOT
from zhiyin.text import normalize, to_simplified

jieba.setLogLevel(logging.WARNING)

USER_DICTIONARY = PROJECT_ROOT / "nlu_resources" / "jieba" / "userdict.txt"
# Customer-service words jieba's general dictionary splits ("快递员" -> "快递" + "员").
DOMAIN_WORDS = Path(__file__).parent / "resources" / "domain_words.txt"
DOMAIN_STOPWORDS = Path(__file__).parent / "resources" / "domain_stopwords.txt"
_SPACES = re.compile(r"\s+")


# Full-width letters and digits (Ａ, ｍ, ６) and the ideographic space; Chinese punctuation stays
# full-width, as in the training data.
_FULL_WIDTH_ALNUM = re.compile(r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000]")


def fold_variants(text: str) -> str:
    """Full-width letters and digits to half-width, traditional to simplified, spaces collapsed.

    What a reviewer reads: the message as written, minus variant forms of the same text
    (punctuation and case kept, unlike zhiyin.text.normalize, which matches names).
    """
    folded = _FULL_WIDTH_ALNUM.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text or "")
    return _SPACES.sub(" ", to_simplified(folded)).strip()


def dedup_key(text: str) -> str:
    """Letters and digits only, lower case: "华为Mate60多少钱？" and "华为 mate60 多少钱" agree."""
    return "".join(ch for ch in normalize(to_simplified(text or "")) if _is_word_character(ch))


def _is_word_character(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LN"


def is_word(token: str) -> bool:
    """A token with at least one letter or digit: not punctuation, emoji, symbols or space."""
    return any(_is_word_character(ch) for ch in token)


@lru_cache(maxsize=1)
def stopwords() -> FrozenSet[str]:
    """stopwords-iso's Chinese list (maintained upstream) plus zhiyin's domain words."""
    domain = {
        line.strip()
        for line in DOMAIN_STOPWORDS.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    return frozenset(stopwordsiso.stopwords("zh")) | frozenset(domain)


@lru_cache(maxsize=1)
def tokenizer() -> jieba.Tokenizer:
    """A jieba tokenizer of its own, with the catalog's names and a few domain words."""
    own = jieba.Tokenizer()
    for dictionary in (USER_DICTIONARY, DOMAIN_WORDS):
        if dictionary.exists():
            own.load_userdict(str(dictionary))
    return own


@lru_cache(maxsize=1)
def pos_tokenizer() -> jieba.posseg.POSTokenizer:
    return jieba.posseg.POSTokenizer(tokenizer())


def segment(text: str) -> List[str]:
    """All jieba words of the normalised, lower-cased text (punctuation included)."""
    return [token for token in tokenizer().cut(fold_variants(text).lower()) if token.strip()]


def tokens(text: str) -> List[str]:
    """The words that carry meaning: no stop words, punctuation, emoji or bare numbers.

    Numbers go because they are order and phone numbers (identifiers, and personal data),
    not topics; names with digits such as "mate60" stay.
    """
    return list(_meaningful_tokens(text))


@lru_cache(maxsize=65536)
def _meaningful_tokens(text: str) -> Tuple[str, ...]:
    """Cached: a report segments the same messages for its word counts and its keyword tables."""
    stop = stopwords()
    return tuple(token for token in segment(text) if is_word(token) and not token.isdigit() and token not in stop)
