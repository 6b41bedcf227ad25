"""Normalisation, segmentation with the catalog dictionary, and stop-word / noise removal."""

from __future__ import annotations

import pytest

from insight.cleaning import dedup_key, fold_variants, is_word, segment, stopwords, tokens


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ＩＰｈｏｎｅ１５　多少钱？", "IPhone15 多少钱？"),  # full-width letters, digits, space; punctuation kept
        ("華為手機的螢幕", "华为手机的萤幕"),  # traditional -> simplified (OpenCC t2s)
        ("  你好\n\t请问  ", "你好 请问"),
        ("", ""),
    ],
)
def test_fold_variants(text, expected):
    assert fold_variants(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        # catalog names stay whole, however they are typed
        ("我想買華為Ｍａｔｅ６０", ["买", "华为mate60"]),
        ("iPhone15的屏幕有划痕😡😡！！", ["iphone15", "屏幕", "划痕"]),
        # emoji, punctuation, stop words and bare numbers (order and phone numbers) go
        ("你好👋请问有人在吗？？", ["有人"]),
        ("订单202611028313，电话13812345678", ["订单", "电话"]),
        # mixed scripts: Latin words kept, lower-cased
        ("Mate60 的 battery 不耐用", ["mate60", "battery", "耐用"]),
        ("快递员态度很差", ["快递员", "态度", "很差"]),
        ("！？。…… 😀🎉", []),
        ("", []),
    ],
)
def test_tokens(text, expected):
    assert tokens(text) == expected


def test_segment_keeps_everything_jieba_cut_except_spaces():
    assert segment("我 要 投诉！") == ["我", "要", "投诉", "！"]


@pytest.mark.parametrize("a, b", [("华为Mate60多少钱？", "華為 ｍａｔｅ６０ 多少錢"), ("你好!!", "你好")])
def test_variants_share_a_dedup_key(a, b):
    assert dedup_key(a) == dedup_key(b)


def test_dedup_key_of_punctuation_and_emoji_is_empty():
    assert dedup_key("？！😀 ") == ""


@pytest.mark.parametrize(
    "token, expected", [("华为", True), ("60", True), ("😀", False), ("，", False), ("\u3000", False)]
)
def test_is_word(token, expected):
    assert is_word(token) is expected


def test_stopwords_are_the_maintained_list_plus_domain_words():
    words = stopwords()
    assert {"的", "了", "我们"} <= words  # stopwords-iso
    assert {"请问", "客服", "投诉"} <= words  # insight/resources/domain_stopwords.txt
    assert "快递" not in words and "质量" not in words
