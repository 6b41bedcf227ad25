"""What customers said and filed: user messages from Rasa's SQL tracker store, and tickets.

Reads Rasa's own ``events`` table (SQLTrackerStore schema: sender_id, type_name, timestamp,
data as JSON), so it works on the store a running zhiyin writes, SQLite or PostgreSQL,
without loading trackers one by one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any, Dict, List, Optional, Tuple

from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME as FALLBACK_INTENT
from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from zhiyin.db import Ticket, session_scope
from zhiyin.privacy import ERASED_TEXTS
from zhiyin.tracker_events import event_data, events


@dataclass
class Message:
    """One customer message and what the NLU made of it."""

    time: datetime
    sender: str
    channel: str
    text: str
    voice: bool
    intent: Optional[str]
    confidence: Optional[float]
    entities: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def is_fallback(self) -> bool:
        return self.intent == FALLBACK_INTENT


@dataclass
class AgentReply:
    """What a person on the desk wrote to a customer (a bot event with the agent in its metadata)."""

    time: datetime
    sender: str
    agent: str
    text: str


@dataclass
class TicketRecord:
    number: str
    kind: str
    status: str
    created_at: datetime
    channel: Optional[str]
    sender: Optional[str]
    order_id: Optional[str]
    product: Optional[str]
    phone: Optional[str]
    text: str


@dataclass(frozen=True)
class Period:
    """Whole days from ``since`` to ``until``, both included; None leaves that end open."""

    since: Optional[date] = None
    until: Optional[date] = None

    def bounds(self) -> Tuple[Optional[datetime], Optional[datetime]]:
        start = datetime.combine(self.since, time.min) if self.since else None
        end = datetime.combine(self.until + timedelta(days=1), time.min) if self.until else None
        return start, end

    def __str__(self) -> str:
        if not (self.since or self.until):
            return "全部"
        return f"{self.since or '最早'} 至 {self.until or '最新'}"


def read_messages(engine: Engine, period: Period = Period()) -> List[Message]:
    """Every user message in the period, oldest first; an empty store gives an empty list."""
    if not inspect(engine).has_table("events"):
        return []
    start, end = period.bounds()
    query = select(events.c.sender_id, events.c.data).where(events.c.type_name == "user")
    if start:
        query = query.where(events.c.timestamp >= start.timestamp())
    if end:
        query = query.where(events.c.timestamp < end.timestamp())
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(events.c.timestamp, events.c.id)).all()
    return [_message(sender, event_data(data)) for sender, data in rows]


def read_agent_replies(engine: Engine, period: Period = Period()) -> List[AgentReply]:
    """Every desk reply in the period, oldest first (desk/ stores them as bot events)."""
    if not inspect(engine).has_table("events"):
        return []
    start, end = period.bounds()
    query = select(events.c.sender_id, events.c.data).where(events.c.type_name == "bot")
    if start:
        query = query.where(events.c.timestamp >= start.timestamp())
    if end:
        query = query.where(events.c.timestamp < end.timestamp())
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(events.c.timestamp, events.c.id)).all()
    replies = []
    for sender, data in rows:
        event = event_data(data)
        metadata = event.get("metadata") or {}
        if metadata.get("desk") == "reply":
            time_ = datetime.fromtimestamp(event["timestamp"])
            replies.append(AgentReply(time_, sender, str(metadata.get("agent") or ""), event.get("text") or ""))
    return replies


def _message(sender: str, event: Dict[str, Any]) -> Message:
    parse = event.get("parse_data") or {}
    intent = parse.get("intent") or {}
    return Message(
        time=datetime.fromtimestamp(event["timestamp"]),
        sender=sender,
        channel=event.get("input_channel") or "",
        text=event.get("text") or "",
        voice="voice" in (event.get("metadata") or {}),
        intent=intent.get("name"),
        confidence=intent.get("confidence"),
        entities=[
            {key: entity[key] for key in ("entity", "value", "start", "end") if key in entity}
            for entity in parse.get("entities") or []
        ],
    )


def read_tickets(engine: Engine, period: Period = Period()) -> List[TicketRecord]:
    """Every ticket created in the period, oldest first; erased words read as empty."""
    if not inspect(engine).has_table(Ticket.__tablename__):
        return []
    start, end = period.bounds()
    query = select(Ticket).order_by(Ticket.created_at, Ticket.id)
    if start:
        query = query.where(Ticket.created_at >= start)
    if end:
        query = query.where(Ticket.created_at < end)
    names = [f.name for f in fields(TicketRecord)]
    with session_scope(engine) as session:
        records = [TicketRecord(**{name: getattr(t, name) for name in names}) for t in session.scalars(query)]
    # A ticket whose words were erased (privacy forget or retention) still counts, without them.
    return [dataclasses.replace(r, text="") if r.text in ERASED_TEXTS else r for r in records]
