"""Word frequencies and keywords (jieba.analyse TF-IDF and TextRank) for groups of texts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

import jieba.analyse

from insight.cleaning import fold_variants, is_word, pos_tokenizer, stopwords, tokenizer, tokens

TOP_K = 10
# Parts of speech TextRank links: nouns (also jieba's nz for the catalog's names), verbs,
# adjectives; jieba's default leaves out nz and adjectives ("慢", "差" matter in complaints).
TEXTRANK_POS = ("n", "nz", "nr", "ns", "nt", "vn", "v", "a", "an")


@dataclass
class Keywords:
    frequencies: List[Tuple[str, int]]
    tfidf: List[Tuple[str, float]]
    textrank: List[Tuple[str, float]]


@lru_cache(maxsize=1)
def _tfidf() -> jieba.analyse.TFIDF:
    extractor = jieba.analyse.TFIDF()
    extractor.tokenizer, extractor.postokenizer = tokenizer(), pos_tokenizer()
    extractor.stop_words = set(stopwords())
    return extractor


@lru_cache(maxsize=1)
def _textrank() -> jieba.analyse.TextRank:
    extractor = jieba.analyse.TextRank()
    extractor.tokenizer = extractor.postokenizer = pos_tokenizer()
    extractor.stop_words = set(stopwords())
    return extractor


def word_frequencies(texts: Iterable[str], top: int = TOP_K) -> List[Tuple[str, int]]:
    """The most frequent meaningful words (insight.cleaning.tokens) over all texts."""
    counts = Counter(token for text in texts for token in tokens(text))
    return counts.most_common(top)


def keywords(texts: Sequence[str], top: int = TOP_K) -> Keywords:
    """Frequencies plus jieba's TF-IDF and TextRank keywords of the texts taken as one document.

    Texts are normalised first (full width, traditional characters) and lower-cased, so
    the catalog dictionary recognises product names however they were typed.
    """
    document = "\n".join(fold_variants(text).lower() for text in texts)
    tfidf = _tfidf().extract_tags(document, topK=2 * top, withWeight=True)
    textrank = _textrank().textrank(document, topK=2 * top, withWeight=True, allowPOS=TEXTRANK_POS)
    return Keywords(word_frequencies(texts, top), _meaningful(tfidf, top), _meaningful(textrank, top))


def _meaningful(scored: List[Tuple[str, float]], top: int) -> List[Tuple[str, float]]:
    """Like insight.cleaning.tokens: no bare numbers (order and phone numbers are not topics)."""
    return [(word, round(score, 4)) for word, score in scored if is_word(word) and not word.isdigit()][:top]


def keywords_by_group(groups: Mapping[str, Sequence[str]], top: int = TOP_K) -> Dict[str, Keywords]:
    """Keywords of each group (e.g. each intent, each ticket kind), largest group first."""
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return {name: keywords(texts, top) for name, texts in ordered if texts}
