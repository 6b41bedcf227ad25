"""Fixtures of tests/smoke: the running stack (see stack.py), shared by every test module."""

from tests.smoke.stack import engine, slack_api, stack, team, telegram_api  # noqa: F401  (pytest fixtures)
