"""A real Rasa SQL tracker store with known conversations, and tickets in the test database."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import URL, make_url

from tests.conftest import POSTGRES_URL_VARIABLE
from zhiyin import db
from zhiyin.services.tickets import create_ticket

DAY_1 = datetime(2026, 11, 20, 10, 0)
DAY_2 = datetime(2026, 11, 21, 15, 30)


@dataclass
class Said:
    sender: str
    text: str
    intent: str
    confidence: float
    time: datetime
    channel: str = "rest"
    entities: Optional[List[Dict]] = None
    voice: bool = False


CONVERSATIONS = [
    Said("alice", "你好", "greet", 0.99, DAY_1),
    Said(
        "alice",
        "华为Mate60多少钱",
        "ask_price",
        0.97,
        DAY_1,
        entities=[{"entity": "product", "value": "华为Mate60", "start": 0, "end": 8}],
    ),
    Said("alice", "阿巴阿巴", "nlu_fallback", 0.3, DAY_1),
    Said("bob", "我要投诉", "file_complaint", 0.95, DAY_2, channel="voice", voice=True),
    Said("bob", "屏幕有划痕", "inform", 0.8, DAY_2, channel="voice", voice=True),
    Said(
        "bob",
        "13812345678",
        "inform",
        0.9,
        DAY_2,
        channel="voice",
        voice=True,
        entities=[{"entity": "phone_number", "value": "13812345678", "start": 0, "end": 11}],
    ),
    Said("carol", "<script>alert(1)</script> 我的电话是 139-1234-5678", "out_of_scope", 0.6, DAY_2, channel="socketio"),
]


def _event(said: Said):
    from rasa.shared.core.events import UserUttered

    parse_data = {
        "intent": {"name": said.intent, "confidence": said.confidence},
        "entities": said.entities or [],
        "text": said.text,
    }
    return UserUttered(
        said.text,
        intent=parse_data["intent"],
        entities=said.entities or [],
        parse_data=parse_data,
        input_channel=said.channel,
        metadata={"voice": {"format": "wav", "duration_s": 1.5}} if said.voice else {},
        timestamp=said.time.timestamp(),
    )


def write_tracker_store(url: URL, conversations: List[Said]) -> str:
    """Save the conversations with Rasa's own SQLTrackerStore; returns the SQLAlchemy URL."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(
        Domain.empty(),
        dialect=url.get_backend_name(),
        host=url.host,
        port=url.port,
        db=url.database,
        username=url.username,
        password=url.password,
    )
    for sender in dict.fromkeys(s.sender for s in conversations):
        events = [_event(s) for s in conversations if s.sender == sender]
        asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
    store.engine.dispose()
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A tracker store written by Rasa, on SQLite and on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield write_tracker_store(make_url(f"sqlite:///{tmp_path / 'tracker.db'}"), CONVERSATIONS)
        return
    server = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_URL_VARIABLE} (make unit does)")
    url = write_tracker_store(make_url(server), CONVERSATIONS)
    yield url
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS events"))
    engine.dispose()


@pytest.fixture
def tickets(database: Engine) -> Engine:
    """The seeded test database with three tickets (bob's complaint and two more)."""
    with db.session_scope(database) as session:
        complaint = create_ticket(
            session,
            "complaint",
            "屏幕有划痕",
            order_id="202611028313",
            product="iPhone15",
            phone="13812345678",
            channel="voice",
            sender="bob",
        )
        complaint.created_at = DAY_2
        suggestion = create_ticket(session, "suggestion", "希望支持分期付款", channel="rest", sender="alice")
        suggestion.created_at = DAY_1
        handoff = create_ticket(session, "handoff", "转人工", channel="socketio", sender="carol")
        handoff.created_at, handoff.status = DAY_2, "closed"
    return database
