"""The tracker store encrypts every event at rest and gives Rasa plain events back."""

from __future__ import annotations

import asyncio
import json

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text

from channels.tracker_store import EncryptedSQLTrackerStore
from zhiyin import crypto, tracker_events

PHONE = "13987654321"
DOMAIN = Domain.from_dict({"slots": {"phone_number": {"type": "text", "mappings": [{"type": "custom"}]}}})


def store_at(path):
    return EncryptedSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(path))


def conversation(sender="customer-7"):
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(UserUttered(f"我的电话是{PHONE}", {"name": "inform", "confidence": 0.9}))
    tracker.update(SlotSet("phone_number", PHONE))
    tracker.update(BotUttered(f"我们会联系 {PHONE}"))
    return tracker


def test_no_event_is_readable_in_the_database_file(tmp_path):
    path = tmp_path / "tracker.db"
    asyncio.run(store_at(path).save(conversation()))
    raw = path.read_bytes()
    assert PHONE.encode() not in raw and "我的电话".encode() not in raw
    with create_engine(f"sqlite:///{path}").connect() as connection:
        stored = [row[0] for row in connection.execute(text("SELECT data FROM events"))]
    assert stored and all(crypto.is_encrypted(value) for value in stored)


def test_rasa_reads_the_conversation_back_whole(tmp_path):
    store = store_at(tmp_path / "tracker.db")
    asyncio.run(store.save(conversation()))
    tracker = asyncio.run(store.retrieve("customer-7"))
    assert tracker.get_slot("phone_number") == PHONE
    assert tracker.latest_message.text == f"我的电话是{PHONE}"
    # Saving again adds only the new event, and the stored ones stay encrypted.
    tracker.update(BotUttered("还有别的问题吗"))
    asyncio.run(store.save(tracker))
    again = asyncio.run(store.retrieve("customer-7"))
    assert [e.text for e in again.events if isinstance(e, BotUttered)] == [f"我们会联系 {PHONE}", "还有别的问题吗"]


def test_events_written_before_encryption_still_read(tmp_path):
    path = tmp_path / "tracker.db"
    store = store_at(path)
    asyncio.run(store.save(conversation("new-one")))
    legacy = {"event": "user", "timestamp": 1.0, "text": "老的消息", "parse_data": {"intent": {"name": "greet"}}}
    with create_engine(f"sqlite:///{path}").begin() as connection:
        connection.execute(
            text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES ('old-one', 'user', 1.0, :d)"),
            {"d": json.dumps(legacy)},
        )
    assert asyncio.run(store.retrieve("old-one")).latest_message.text == "老的消息"
    senders = {sender for _, sender, _ in tracker_events.rows(create_engine(f"sqlite:///{path}"))}
    assert senders == {"new-one", "old-one"}
