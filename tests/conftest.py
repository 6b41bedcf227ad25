"""Shared fixtures: a real temporary database, a dispatcher and a tracker factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import MetaData, Table
from sqlalchemy.engine import Engine

from tests.helpers import user_event
from zhiyin import db
from zhiyin.paths import PROJECT_ROOT
from zhiyin.redis_server import RedisServer, redis_binary
from zhiyin.seed import seed_database
from zhiyin.serve import free_port

POSTGRES_URL_VARIABLE = "ZHIYIN_TEST_POSTGRES_URL"

# Keys for personal data at rest (zhiyin.crypto): fixed for the tests, so that no test creates
# key files in var/ or depends on a developer's own keys.
TEST_DATA_KEY = "emhpeWluLXRlc3RzLWRhdGEta2V5LTAxMjM0NTY3ODk="
os.environ["ZHIYIN_DATA_KEYS"] = TEST_DATA_KEY
os.environ["ZHIYIN_LOOKUP_KEY"] = "zhiyin-tests-lookup-key"


def empty_database(engine: Engine) -> None:
    """Drop zhiyin's tables and the migration history, so the next upgrade starts from nothing."""
    db.Base.metadata.drop_all(engine)
    Table("alembic_version", MetaData()).drop(engine, checkfirst=True)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on 127.0.0.1 for the session (`make redis` installs it)."""
    if redis_binary() is None:
        pytest.skip("redis-server not installed: `make redis`")
    server = RedisServer(tmp_path_factory.mktemp("redis"), free_port(), password="zhiyin-tests").start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The URL of the session's Redis, emptied before each test."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield redis_server.url
    client.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """An empty database, used by every action via DATABASE_URL.

    Each test runs on SQLite (a file in a temporary folder) and on PostgreSQL (the server that
    `make unit` starts with tools/pg-test-server and names in ZHIYIN_TEST_POSTGRES_URL).
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'zhiyin.db'}"
    else:
        url = os.environ.get(POSTGRES_URL_VARIABLE)
        if not url:
            pytest.skip(f"PostgreSQL not configured: set {POSTGRES_URL_VARIABLE} (make unit does)")
    monkeypatch.setenv("DATABASE_URL", url)
    db.get_engine.cache_clear()
    engine = db.get_engine()
    empty_database(engine)
    yield engine
    empty_database(engine)
    engine.dispose()
    db.get_engine.cache_clear()


@pytest.fixture
def database(empty_engine: Engine) -> Engine:
    """A freshly migrated and seeded database (SQLite and PostgreSQL, as empty_engine)."""
    seed_database(empty_engine)
    return empty_engine


@pytest.fixture
def session(database: Engine) -> Iterator[Any]:
    with db.session_scope(database) as session:
        yield session


@pytest.fixture
def unreachable_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """DATABASE_URL pointing at a PostgreSQL port where nothing listens."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://zhiyin:secret@127.0.0.1:9/zhiyin?connect_timeout=2")
    db.get_engine.cache_clear()
    yield
    db.get_engine.cache_clear()


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    with (PROJECT_ROOT / "domain.yml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


TrackerFactory = Callable[..., Tracker]


@pytest.fixture
def make_tracker() -> TrackerFactory:
    """Build a tracker whose latest message is (text, intent, entities) after earlier events."""

    def factory(
        text: str = "",
        intent: str = "inform",
        entities: Optional[List[Dict[str, Any]]] = None,
        slots: Optional[Dict[str, Any]] = None,
        history: Optional[List[Dict[str, Any]]] = None,
        sender_id: str = "customer-1",
        metadata: Optional[Dict[str, Any]] = None,
    ) -> Tracker:
        latest = user_event(text, intent, entities, metadata)
        events = [*(history or []), latest]
        return Tracker(
            sender_id=sender_id,
            slots=dict(slots or {}),
            latest_message=latest["parse_data"],
            events=events,
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )

    return factory
