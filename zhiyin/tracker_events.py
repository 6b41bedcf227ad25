"""Rasa's SQL tracker store read and changed directly: for analytics, privacy requests and
retention, without loading trackers one by one.

The store is Rasa's SQLTrackerStore schema (an ``events`` table: sender_id, type_name,
timestamp, intent/action name, data as JSON). zhiyin's tracker store
(channels.tracker_store) writes `data` encrypted (zhiyin.crypto); `event_data` reads both
encrypted and older plain rows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import URL, make_url

from zhiyin import crypto
from zhiyin.paths import PROJECT_ROOT

# Rasa's SQLTrackerStore table, declared here for reading and deleting.
events = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

BATCH = 500


def tracker_store_url(url: Optional[str] = None) -> URL:
    """The tracker store zhiyin writes (endpoints.yml): TRACKER_DB_URL, else dialect + db."""
    explicit = url or os.environ.get("TRACKER_DB_URL")
    if explicit:
        return make_url(explicit)
    dialect = os.environ.get("TRACKER_DB_DIALECT", "sqlite")
    database = os.environ.get("TRACKER_DB", "var/tracker.db")
    if dialect == "sqlite" and not Path(database).is_absolute():
        database = str(PROJECT_ROOT / database)
    return URL.create(dialect, database=database)


def tracker_engine(url: Optional[str] = None) -> Engine:
    return create_engine(tracker_store_url(url), future=True)


def has_events(engine: Engine) -> bool:
    return inspect(engine).has_table("events")


def event_data(stored: str) -> Dict[str, Any]:
    """An event as Rasa wrote it, from the stored (encrypted or plain) `data` column."""
    return dict(json.loads(crypto.decrypt(stored)))


def rows(engine: Engine, sender: Optional[str] = None) -> Iterator[Tuple[int, str, Dict[str, Any]]]:
    """(id, sender, event) of every stored event, or of one conversation, in order."""
    if not has_events(engine):
        return
    query = select(events.c.id, events.c.sender_id, events.c.data).order_by(events.c.id)
    if sender is not None:
        query = query.where(events.c.sender_id == sender)
    with engine.connect() as connection:
        for row_id, sender_id, data in connection.execute(query):
            yield row_id, sender_id, event_data(data)


def delete_conversations(engine: Engine, senders: List[str]) -> int:
    """Every event of these conversations removed; the number of events."""
    if not senders or not has_events(engine):
        return 0
    with engine.begin() as connection:
        return int(connection.execute(delete(events).where(events.c.sender_id.in_(senders))).rowcount or 0)


def delete_before(engine: Engine, timestamp: float) -> Tuple[int, int]:
    """Conversations whose last event is older than `timestamp` removed whole (a conversation
    still going on keeps its beginning); (conversations, events)."""
    if not has_events(engine):
        return 0, 0
    last = select(events.c.sender_id).group_by(events.c.sender_id).having(func.max(events.c.timestamp) < timestamp)
    with engine.begin() as connection:
        senders = [row[0] for row in connection.execute(last)]
        removed = 0
        for start in range(0, len(senders), BATCH):
            chunk = senders[start : start + BATCH]
            removed += int(connection.execute(delete(events).where(events.c.sender_id.in_(chunk))).rowcount or 0)
    return len(senders), removed


def reencrypt(engine: Engine) -> int:
    """Every stored event re-encrypted under the newest data key (plain ones encrypted); how many."""
    if not has_events(engine):
        return 0
    changed = 0
    with engine.begin() as connection:
        for row_id, data in connection.execute(select(events.c.id, events.c.data)).all():
            if data is None:
                continue
            rotated = crypto.rotate(data)
            if rotated != data:
                connection.execute(events.update().where(events.c.id == row_id).values(data=rotated))
                changed += 1
    return changed
