"""Word frequencies and jieba.analyse keywords on texts whose answer is known."""

from __future__ import annotations

from insight.keywords import keywords, keywords_by_group, word_frequencies

DELIVERY = [
    "快递太慢了，三天还没到",
    "物流一直不更新，快递太慢",
    "快递员态度很差，包裹被压坏了",
    "快递太慢，包裹丢了",
]
QUALITY = ["華為Mate60屏幕有划痕", "屏幕有坏点，质量太差", "屏幕碎了"]


def test_word_frequencies_count_meaningful_words():
    assert word_frequencies(DELIVERY, top=3) == [("快递", 3), ("太慢", 3), ("包裹", 2)]


def test_keywords_of_a_known_text():
    found = keywords(DELIVERY, top=5)
    assert found.tfidf[0][0] == "快递" and "太慢" in [w for w, _ in found.tfidf]
    assert "快递" in [w for w, _ in found.textrank]
    assert all(w not in {"了", "还", "，"} for w, _ in found.tfidf + found.textrank)
    scores = [s for _, s in found.tfidf]
    assert scores == sorted(scores, reverse=True)


def test_catalog_names_are_keywords_however_typed():
    found = keywords(QUALITY, top=5)
    assert found.frequencies[0] == ("屏幕", 3)
    assert "华为mate60" in [w for w, _ in found.tfidf]


def test_keywords_by_group_largest_group_first_and_empty_groups_left_out():
    groups = keywords_by_group({"quality": QUALITY, "delivery": DELIVERY, "none": []}, top=3)
    assert list(groups) == ["delivery", "quality"]
    assert groups["quality"].tfidf[0][0] == "屏幕"


def test_numbers_are_never_keywords():
    found = keywords(["我的电话13812345678", "订单202611028313还没到", "电话13812345678"], top=5)
    words = [w for w, _ in found.frequencies + found.tfidf + found.textrank]
    assert words and not any(w.isdigit() for w in words)
