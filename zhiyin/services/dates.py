"""The day and time of day a customer names in Chinese: 明天, 后天, 周六, 下周三, 12月3日, 3号, 2026-12-05, 上午.

Delivery changes and installation visits are booked by day. Customers name days relative to
today, by weekday or by date, rarely in one fixed format; dateparser's Chinese support misses
dates like 12月3日 and 下周三, so the few forms that matter are parsed here.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Optional

from zhiyin.text import normalize

_RELATIVE = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEKDAY = re.compile(r"(下下|下个?|这个?|本)?(?:周|星期|礼拜)([一二三四五六日天末])")
_ISO = re.compile(r"(20\d\d)[-/.年](\d{1,2})[-/.月](\d{1,2})")
_MONTH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})[日号]?")
_DAY_OF_MONTH = re.compile(r"(?<![\d月])(\d{1,2})[日号]")
_IN_DAYS = re.compile(r"(\d{1,2}|[一两二三四五六七八九十])天(?:后|以后|之后)")
_CHINESE_NUMBERS = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}

MORNING, AFTERNOON = "morning", "afternoon"


def parse_day(text: Optional[str], today: date) -> Optional[date]:
    """The day a message names, on or after today; None when it names none (or an impossible one)."""
    compact = normalize(text or "")
    for word in sorted(_RELATIVE, key=len, reverse=True):
        if word in compact:
            return today + timedelta(days=_RELATIVE[word])
    match = _IN_DAYS.search(compact)
    if match:
        count = match.group(1)
        return today + timedelta(days=int(count) if count.isdigit() else _CHINESE_NUMBERS[count])
    match = _WEEKDAY.search(compact)
    if match:
        return _weekday(today, match.group(1) or "", _WEEKDAYS[match.group(2)])
    for pattern, build in ((_ISO, _iso), (_MONTH_DAY, _month_day), (_DAY_OF_MONTH, _day_of_month)):
        match = pattern.search(compact)
        if match:
            return build(match, today)
    return None


def parse_window(text: Optional[str]) -> Optional[str]:
    """morning (上午, 早上, 9–12 点) or afternoon (下午, 14–18 点); None when the message says neither."""
    compact = normalize(text or "")
    if re.search(r"上午|早上|早晨|中午前|[9９]点|十点|十一点", compact):
        return MORNING
    if re.search(r"下午|傍晚|午后|[2-6]点|两点|三点|四点|五点", compact):
        return AFTERNOON
    return None


def _weekday(today: date, prefix: str, weekday: int) -> date:
    """这周六 / 周六: the next such day from today (today included); 下周六: the one in next week."""
    if prefix.startswith("下"):
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=2 if prefix.startswith("下下") else 1)
        return monday + timedelta(days=weekday)
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def _iso(match: re.Match, today: date) -> Optional[date]:
    return _safe_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def _month_day(match: re.Match, today: date) -> Optional[date]:
    month, day = int(match.group(1)), int(match.group(2))
    this_year = _safe_date(today.year, month, day)
    if this_year is not None and this_year >= today:
        return this_year
    return _safe_date(today.year + 1, month, day)


def _day_of_month(match: re.Match, today: date) -> Optional[date]:
    day = int(match.group(1))
    this_month = _safe_date(today.year, today.month, day)
    if this_month is not None and this_month >= today:
        return this_month
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return _safe_date(year, month, day)


def _safe_date(year: int, month: int, day: int) -> Optional[date]:
    try:
        return date(year, month, day)
    except ValueError:
        return None
