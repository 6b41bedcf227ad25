"""zhiyin.serve helpers shared by the demo, the benchmarks and the smoke tests."""

from __future__ import annotations

import sys

import pytest
from sqlalchemy import func, select

from zhiyin import db
from zhiyin.db import Product
from zhiyin.serve import HOST, Server, StartFailed, free_port, isolated_env, start_group


def test_isolated_env_seeds_its_own_database_and_turns_chat_clouds_off(tmp_path, monkeypatch):
    monkeypatch.setenv("TELEGRAM_ACCESS_TOKEN", "real-token")
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-real")
    env = isolated_env(tmp_path)
    assert env["DATABASE_URL"] == f"sqlite:///{tmp_path / 'zhiyin.db'}"
    assert (env["TRACKER_DB_DIALECT"], env["TRACKER_DB"]) == ("sqlite", str(tmp_path / "tracker.db"))
    assert "TELEGRAM_ACCESS_TOKEN" not in env and "SLACK_TOKEN" not in env
    with db.session_scope(db.get_engine(env["DATABASE_URL"])) as session:
        assert session.scalar(select(func.count()).select_from(Product)) > 10


def http_server(name: str, port: int) -> Server:
    """A stand-in server: Python's own HTTP server, healthy when it answers on its port."""
    command = [sys.executable, "-m", "http.server", str(port), "--bind", HOST]
    return Server(name, command, f"http://{HOST}:{port}/")


def test_start_group_waits_until_every_server_is_healthy_and_stops_them(tmp_path):
    group = [http_server("first", free_port()), http_server("second", free_port())]
    try:
        ready = start_group(group, timeout=60, log_dir=tmp_path)
        assert set(ready) == {"first", "second"} and all(seconds >= 0 for seconds in ready.values())
        assert all(server.healthy() for server in group)
    finally:
        for server in group:
            server.stop()
    assert not any(server.running() for server in group)
    assert (tmp_path / "first.log").exists()


def test_a_server_that_exits_during_start_up_fails_the_start_and_stops_the_rest(tmp_path):
    healthy = http_server("healthy", free_port())
    crashing = Server("crashing", [sys.executable, "-c", "raise SystemExit(3)"], f"http://{HOST}:{free_port()}/")
    with pytest.raises(StartFailed, match="crashing exited with code 3"):
        start_group([healthy, crashing], timeout=60, log_dir=tmp_path)
    assert not healthy.running()


def test_a_server_that_never_answers_times_out(tmp_path):
    silent = Server("silent", [sys.executable, "-c", "import time; time.sleep(60)"], f"http://{HOST}:{free_port()}/")
    with pytest.raises(StartFailed, match="silent not healthy after 1s"):
        start_group([silent], timeout=1, log_dir=tmp_path)
    assert not silent.running()
