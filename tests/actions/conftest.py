"""Fixtures of the action tests."""

from __future__ import annotations

import pytest

from zhiyin.services import verification


@pytest.fixture(autouse=True)
def customer_verified(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Most action tests are about what happens to an order its customer asks about: the
    customer has proved every order theirs. Tests marked `unverified` see the real check
    (tests/actions/test_verification.py)."""
    if request.node.get_closest_marker("unverified") is None:
        monkeypatch.setattr(verification, "is_verified", lambda *args, **kwargs: True)
