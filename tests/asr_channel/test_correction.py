import pytest

from asr_channel.correction import HomophoneCorrector, shop_vocabulary


@pytest.fixture(scope="module")
def corrector():
    return HomophoneCorrector.from_words(shop_vocabulary())


@pytest.mark.parametrize(
    "heard, meant",
    [
        ("发的什么快地", "发的什么快递"),
        ("你们包有吗", "你们包邮吗"),
        ("我要投诉你们克服", "我要投诉你们客服"),
        ("顶单到哪了", "订单到哪了"),
        ("每的空调多少钱", "美的空调多少钱"),
        ("海儿热水气有货吗", "海尔热水器有货吗"),
        ("隔离空调多少钱", "格力空调多少钱"),
    ],
)
def test_homophones_of_shop_words_are_corrected(corrector, heard, meant):
    assert corrector.correct(heard) == meant


@pytest.mark.parametrize(
    "text",
    ["我认为跑步最重要的就是给我带来了身体健康", "iPhone15多少钱", "订单202611016468到哪了", "", "好"],
)
def test_everything_else_is_left_as_heard(corrector, text):
    assert corrector.correct(text) == text


def test_vocabulary_comes_from_the_catalog():
    words = shop_vocabulary()
    assert {"美的空调", "海尔", "快递", "华为Mate60"} <= set(words)
