"""Each channel test starts with fresh rate limits (zhiyin.ratelimit keeps one set per process)."""

import pytest

from zhiyin import ratelimit


@pytest.fixture(autouse=True)
def fresh_rate_limits(monkeypatch):
    monkeypatch.setattr(ratelimit, "_shared", {})
