from datetime import date

import pytest

from zhiyin.services.dates import AFTERNOON, MORNING, parse_day, parse_window

FRIDAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    "text, day",
    [
        ("明天", date(2026, 11, 28)),
        ("后天上午", date(2026, 11, 29)),
        ("大后天", date(2026, 11, 30)),
        ("周六", date(2026, 11, 28)),
        ("这周日下午", date(2026, 11, 29)),
        ("星期五", FRIDAY),
        ("下周三", date(2026, 12, 2)),
        ("下下周一", date(2026, 12, 7)),
        ("礼拜一", date(2026, 11, 30)),
        ("12月3日", date(2026, 12, 3)),
        ("12月3号送", date(2026, 12, 3)),
        ("3号", date(2026, 12, 3)),
        ("30号", date(2026, 11, 30)),
        ("1月5日", date(2027, 1, 5)),
        ("2026-12-05", date(2026, 12, 5)),
        ("2026年12月5日", date(2026, 12, 5)),
        ("３天后", date(2026, 11, 30)),
        ("两天以后", date(2026, 11, 29)),
        ("随便哪天", None),
        ("2月30日", None),
        ("", None),
    ],
)
def test_days_customers_name(text, day):
    assert parse_day(text, FRIDAY) == day


@pytest.mark.parametrize(
    "text, window",
    [("明天上午", MORNING), ("早上九点", MORNING), ("下午", AFTERNOON), ("周六下午3点", AFTERNOON), ("明天", None)],
)
def test_time_of_day(text, window):
    assert parse_window(text) == window
