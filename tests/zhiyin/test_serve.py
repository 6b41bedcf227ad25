"""zhiyin.serve helpers shared by the demo, the benchmarks and the smoke tests."""
from __future__ import annotations

from sqlalchemy import func, select

from zhiyin import db
from zhiyin.db import Product
from zhiyin.serve import isolated_env


def test_isolated_env_seeds_its_own_database_and_turns_chat_clouds_off(tmp_path, monkeypatch):
    monkeypatch.setenv("TELEGRAM_ACCESS_TOKEN", "real-token")
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-real")
    env = isolated_env(tmp_path)
    assert env["DATABASE_URL"] == f"sqlite:///{tmp_path / 'zhiyin.db'}"
    assert (env["TRACKER_DB_DIALECT"], env["TRACKER_DB"]) == ("sqlite", str(tmp_path / "tracker.db"))
    assert "TELEGRAM_ACCESS_TOKEN" not in env and "SLACK_TOKEN" not in env
    with db.session_scope(db.get_engine(env["DATABASE_URL"])) as session:
        assert session.scalar(select(func.count()).select_from(Product)) > 10
