"""The topic model finds planted topics and picks their number by coherence and diversity."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from insight.cleaning import tokens
from insight.topics import fit_topics, npmi_coherence

THEMES = {
    "delivery": ["快递", "物流", "配送", "包裹", "签收", "快递员", "延迟", "派送", "发货", "运输"],
    "quality": ["屏幕", "划痕", "质量", "故障", "死机", "电池", "发热", "裂缝", "零件", "破损"],
    "service": ["态度", "回复", "服务", "耐心", "等待", "解决", "电话", "售后", "答复", "敷衍"],
}
# Words every theme shares, so the themes are separated by their own words only.
FILLER = ["今天", "真的", "觉得", "非常", "失望", "改进", "问题", "时候"]


def planted_corpus(seed: int, per_theme: int = 20):
    rnd = random.Random(seed)
    texts, themes = [], []
    for theme, words in THEMES.items():
        for _ in range(per_theme):
            chosen = rnd.sample(words, 4) + rnd.sample(FILLER, 2)
            rnd.shuffle(chosen)
            texts.append("，".join(chosen) + "！")
            themes.append(theme)
    return texts, themes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_three_planted_topics_are_recovered(seed):
    texts, themes = planted_corpus(seed)
    model = fit_topics([tokens(t) for t in texts], texts)
    assert model.k == 3
    for topic in model.topics:
        members = [theme for theme, d in zip(themes, model.dominant, strict=True) if d == topic.index]
        theme, count = Counter(members).most_common(1)[0]
        assert count / len(members) >= 0.9, (topic.words, Counter(members))
        assert set(topic.words[:5]) <= set(THEMES[theme])
        assert len(topic.examples) == 3 and all(e in texts for e in topic.examples)
    assert sorted(Counter(model.dominant).values()) == sorted(t.size for t in model.topics)
    assert {s.k for s in model.selection} == set(range(2, 9))
    assert max(model.selection, key=lambda s: s.quality).k == 3


def test_too_few_texts_make_no_model():
    texts = ["快递太慢", "屏幕坏了", "客服态度差"]
    assert fit_topics([tokens(t) for t in texts], texts) is None


def test_documents_without_words_get_no_topic():
    texts, _ = planted_corpus(1, per_theme=4)
    texts = texts + ["！！😀"]
    model = fit_topics([tokens(t) for t in texts], texts)
    assert model.dominant[-1] is None and all(d is not None for d in model.dominant[:-1])


@pytest.mark.parametrize(
    "documents, expected",
    [
        ([{"a", "b"}, {"a", "b"}, {"c"}], 1.0),  # always together
        ([{"a"}, {"b"}, {"c"}], -1.0),  # never together
    ],
)
def test_npmi_bounds(documents, expected):
    assert npmi_coherence(["a", "b"], [frozenset(d) for d in documents]) == pytest.approx(expected)


def test_npmi_of_independent_words_is_zero():
    documents = [frozenset(d) for d in ({"a", "b"}, {"a"}, {"b"}, set())]
    assert npmi_coherence(["a", "b"], documents) == pytest.approx(0.0)
