"""Topic model over complaint and suggestion texts (scikit-learn NMF on TF-IDF).

The number of topics is chosen by coherence: for each candidate k, the mean normalised
pointwise mutual information (NPMI) of each topic's top words, counted over the same
documents, times topic diversity (the share of distinct words among all topics' top words).
Coherence alone rewards splitting one theme into two near-identical topics; diversity
penalises that. Both are standard (Bouma 2009; Dieng et al. 2020, "topic quality").
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import numpy as np
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer

TOP_WORDS = 8
EXAMPLES_PER_TOPIC = 3
# Fewer documents than this make no topic model worth reading.
MIN_DOCUMENTS = 6


@dataclass
class Topic:
    index: int
    words: List[str]
    examples: List[str]
    size: int = 0

    @property
    def name(self) -> str:
        """A topic is called by its three strongest words, e.g. "快递 / 物流 / 太慢"."""
        return " / ".join(self.words[:3])


@dataclass
class Selection:
    k: int
    coherence: float
    diversity: float

    @property
    def quality(self) -> float:
        return self.coherence * self.diversity


@dataclass
class TopicModel:
    topics: List[Topic]
    # Dominant topic of each document, or None for a document without any known word.
    dominant: List[Optional[int]]
    selection: List[Selection] = field(default_factory=list)

    @property
    def k(self) -> int:
        return len(self.topics)


def npmi_coherence(top_words: Sequence[str], documents: Sequence[frozenset]) -> float:
    """Mean NPMI over pairs of top words, by document co-occurrence (-1 .. 1, higher is better)."""
    n = len(documents)
    scores = []
    for a, b in itertools.combinations(top_words, 2):
        p_a = sum(a in d for d in documents) / n
        p_b = sum(b in d for d in documents) / n
        p_ab = sum(a in d and b in d for d in documents) / n
        if p_ab == 0:
            scores.append(-1.0)
        elif p_ab == 1:
            scores.append(1.0)
        else:
            scores.append(math.log(p_ab / (p_a * p_b)) / -math.log(p_ab))
    return float(np.mean(scores)) if scores else 0.0


def _fit(matrix, k: int, seed: int) -> NMF:
    return NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=500).fit(matrix)


def _top_words(model: NMF, vocabulary: np.ndarray, n: int) -> List[List[str]]:
    return [[vocabulary[i] for i in np.argsort(row)[::-1][:n] if row[i] > 0] for row in model.components_]


def fit_topics(
    token_lists: Sequence[Sequence[str]],
    texts: Sequence[str],
    k_range: Sequence[int] = range(2, 9),
    seed: int = 0,
) -> Optional[TopicModel]:
    """Topics of the documents (token lists from insight.cleaning.tokens), or None if too few.

    ``texts`` are the original documents, shown as each topic's examples.
    """
    usable = [i for i, tokens in enumerate(token_lists) if tokens]
    if len(usable) < MIN_DOCUMENTS:
        return None
    vectorizer = TfidfVectorizer(analyzer=lambda tokens: tokens, sublinear_tf=True)
    matrix = vectorizer.fit_transform([token_lists[i] for i in usable])
    vocabulary = vectorizer.get_feature_names_out()
    documents = [frozenset(token_lists[i]) for i in usable]
    candidates = [k for k in k_range if 2 <= k < min(len(usable), len(vocabulary))]
    if not candidates:
        return None

    selection = []
    for k in candidates:
        words = _top_words(_fit(matrix, k, seed), vocabulary, TOP_WORDS)
        coherence = float(np.mean([npmi_coherence(w, documents) for w in words]))
        distinct = len({w for topic in words for w in topic})
        diversity = distinct / max(sum(len(topic) for topic in words), 1)
        selection.append(Selection(k, coherence, diversity))
    best = max(selection, key=lambda s: (s.quality, -s.k))

    model = _fit(matrix, best.k, seed)
    weights = model.transform(matrix)
    dominant: List[Optional[int]] = [None] * len(token_lists)
    for row, i in zip(weights, usable, strict=True):
        if row.max() > 0:
            dominant[i] = int(row.argmax())
    topics: List[Topic] = []
    for index, top_words in enumerate(_top_words(model, vocabulary, TOP_WORDS)):
        rows = [row for row, i in enumerate(usable) if dominant[i] == index]
        rows.sort(key=lambda row: -weights[row, index])
        examples = list(dict.fromkeys(texts[usable[row]] for row in rows))[:EXAMPLES_PER_TOPIC]
        topics.append(Topic(index, top_words, examples, size=len(rows)))
    return TopicModel(topics, dominant, selection)
