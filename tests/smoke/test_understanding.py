"""Catalog names however customers write them, and models we do not sell, through the running stack."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.servers


@pytest.mark.parametrize(
    "message, answer",
    [
        ("xiaomi 14多少钱", "小米14（小米）售价"),
        ("ＸＩＡＯＭＩ１４ 多少钱", "小米14（小米）售价"),
        ("小米14多少錢", "小米14（小米）售价"),
        ("Apple Watch 9 多少钱", "AppleWatch9（苹果）售价"),
        ("华为 nova 12 多少钱", "华为nova12（华为）售价"),
    ],
)
def test_a_catalog_name_in_any_spelling_is_answered(stack, message, answer):
    assert answer in stack.texts(f"smoke-spelling-{abs(hash(message))}", message)


def test_a_model_we_do_not_sell_is_named_with_the_closest_we_do(stack):
    [reply] = stack.say("smoke-pro-max", "iPhone 15 Pro Max多少钱")
    assert "没有找到“iPhone 15 Pro Max”这款商品" in reply["text"]
    assert reply["buttons"][0]["title"] == "iPhone15Pro"


def test_a_brand_we_do_not_sell_is_said_so(stack):
    assert "没有找到“诺基亚N95”这款商品" in stack.texts("smoke-nokia", "诺基亚N95多少钱")
