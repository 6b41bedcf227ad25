import pytest

from zhiyin.text import normalize


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("ＩＰｈｏｎｅ１５", "iphone15"),
        ("iPhone 15 Pro", "iphone15pro"),
        ("  华为 Mate60\t", "华为mate60"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_folds_width_case_and_spaces(raw, expected):
    assert normalize(raw) == expected
