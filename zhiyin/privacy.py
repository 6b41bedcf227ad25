"""A customer's personal data: forgotten or exported on request, purged after the retention
period, and kept under fresh keys (`python -m zhiyin privacy …`, zhiyin/__main__.py).

What counts as the customer's personal data is what they gave us in a conversation: the
conversation itself (Rasa's tracker store, every event), the words and phone number of their
tickets, the internal notes on those tickets (a note may quote them), what agents wrote to them,
and the order verifications and failed verifications of their conversations. Shop data is not:
`orders` (phone number, address, payment) belong to the shop's order records, as do invoice
requests, installation bookings and order actions made from a conversation; those are left in
place, only their link to the forgotten conversation (`sender`) is removed.

A forgotten or expired ticket keeps its row (number, kind, status, dates, rating, order, product)
so that the team's figures stay true: its text becomes a marker, its phone number and sender are
removed, the text of its notes becomes the marker (author and time stay, as the ticket's
history), and the agent messages of its conversation are deleted. Its change history holds no
personal data (statuses, assignees, ratings, who viewed the phone number) and stays.

Deleted rows can outlive their deletion in a database file's free pages: after deleting, SQLite
databases are compacted (VACUUM), so that a legacy unencrypted row leaves no trace; on PostgreSQL
autovacuum clears dead rows, and what they held was encrypted (retiring the old key after a
rotation makes any copy of it unreadable, backups included).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Table, column, delete, func, or_, select, table, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from zhiyin import crypto, settings, tracker_events
from zhiyin.db import (
    AgentMessage,
    Base,
    InstallationBooking,
    InvoiceRequest,
    LoginFailure,
    OrderAction,
    OrderVerification,
    PrivacyAudit,
    Staff,
    Ticket,
    TicketNote,
    VerificationFailure,
)
from zhiyin.services.tickets import extract_phone

logger = logging.getLogger(__name__)

FORGOTTEN = "[已按客户要求删除]"  # the text of a ticket or note whose customer asked to be forgotten
EXPIRED = "[已过保留期限删除]"  # the text of a finished ticket past the retention period
ERASED_TEXTS = (FORGOTTEN, EXPIRED)
REDACTED = "[已删除]"  # a forgotten phone number quoted in someone else's ticket, note or message
FINISHED = ("resolved", "closed")  # ticket statuses the retention period runs from
# Verifications and failed verifications are short-lived by nature (a conversation proves the
# order is theirs; guesses are throttled over minutes): a day after, they are removed.
VERIFICATION_KEEP = timedelta(days=1)
LOGIN_FAILURE_KEEP = timedelta(days=1)
BATCH = 500


class PrivacyError(ValueError):
    """A request that cannot be carried out as asked (no customer named, a bad number or key)."""


@dataclass
class ForgetResult:
    conversations: int = 0
    events: int = 0
    tickets: int = 0
    agent_messages: int = 0
    notes: int = 0
    verifications: int = 0  # order verifications and failed verifications of the conversations
    redacted: int = 0  # other tickets, notes and agent messages that quoted the phone number
    order_records: int = 0  # order actions, invoice requests, bookings unlinked from the conversations
    compacted: bool = True  # SQLite files vacuumed (False: busy, deleted bytes may linger)

    def counts(self) -> Dict[str, int]:
        return {key: value for key, value in asdict(self).items() if key != "compacted"}


@dataclass
class PurgeResult:
    conversations: int = 0
    events: int = 0
    tickets: int = 0
    notes: int = 0
    agent_messages: int = 0
    order_verifications: int = 0
    verification_failures: int = 0
    login_failures: int = 0
    dry_run: bool = False

    def counts(self) -> Dict[str, int]:
        return {key: value for key, value in asdict(self).items() if key != "dry_run"}


@dataclass
class RotateResult:
    source: str  # "file" (var/data-keys, changed here) or "environment" (ZHIYIN_DATA_KEYS)
    reencrypted: bool
    keys_value: str = ""  # environment: the ZHIYIN_DATA_KEYS value to set everywhere
    counts: Dict[str, int] = field(default_factory=dict)  # re-encrypted rows per table, and events


@dataclass
class RetireResult:
    source: str
    retired: int  # keys dropped
    checked: int  # stored tokens verified to open with the newest key
    plain: int  # stored values not encrypted at all (rows from before encryption)
    keys_value: str = ""  # environment: the ZHIYIN_DATA_KEYS value to set everywhere


@dataclass
class _Customer:
    """The records a forget or export request is about."""

    phone: Optional[str]
    sender: Optional[str]
    subject: Optional[str]  # lookup_hash of the phone or of the sender id
    senders: List[str]  # their conversations
    ticket_ids: List[int]


# ---------------------------------------------------------------------------------------------
# Finding a customer's records


def normalise_phone(value: str) -> str:
    """The mainland mobile number in `value` as 11 digits ("+86 138-1234-5678" -> 13812345678)."""
    phone = extract_phone(value)
    if not phone:
        raise PrivacyError(f"not a mainland mobile number: {value!r}")
    return phone


def phone_pattern(phone: str) -> re.Pattern[str]:
    """The number as people write it: separators, a +86 prefix, full-width digits."""
    digits = [f"[{digit}{chr(ord(digit) + 0xFEE0)}]" for digit in phone]
    return re.compile(r"(?<![\d０-９])(?:\+?86[-‐－\s]?)?" + r"[-‐－\s]?".join(digits) + r"(?![\d０-９])")


def conversations_mentioning(tracker: Engine, phone: str) -> List[str]:
    """Conversations in which the number appears in any event (a message, a slot, an entity),
    however it was written: "138-1234-5678" and "+86 138…" too. Every event is decrypted and
    searched, so nothing is missed."""
    pattern = phone_pattern(phone)
    found: Dict[str, None] = {}
    for _, sender, event in tracker_events.rows(tracker):
        if sender not in found and pattern.search(json.dumps(event, ensure_ascii=False)):
            found[sender] = None
    return list(found)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), BATCH):
        yield values[start : start + BATCH]


def _find(session: Session, tracker: Engine, phone: Optional[str], sender: Optional[str]) -> _Customer:
    if bool(phone) == bool(sender):
        raise PrivacyError("name the customer by a phone number or by a sender id (one of them)")
    senders: Dict[str, None] = {}
    ticket_ids: Set[int] = set()
    if phone:
        phone = normalise_phone(phone)
        subject = crypto.lookup_hash(phone)
        for ticket_id, ticket_sender in session.execute(
            select(Ticket.id, Ticket.sender).where(Ticket.phone_hash == subject)
        ):
            ticket_ids.add(ticket_id)
            if ticket_sender:
                senders[ticket_sender] = None
        senders.update(dict.fromkeys(conversations_mentioning(tracker, phone)))
    else:
        assert sender is not None
        subject = crypto.lookup_hash(sender)
        senders[sender] = None
    for chunk in _chunks(list(senders)):
        ticket_ids.update(session.scalars(select(Ticket.id).where(Ticket.sender.in_(chunk))))
    return _Customer(phone, sender, subject, list(senders), sorted(ticket_ids))


def _tickets(session: Session, ids: Sequence[int]) -> List[Ticket]:
    found: List[Ticket] = []
    for chunk in _chunks(ids):
        found.extend(session.scalars(select(Ticket).where(Ticket.id.in_(chunk))))
    return sorted(found, key=lambda ticket: ticket.id)


# ---------------------------------------------------------------------------------------------
# Erasing


def _erase_tickets(session: Session, ids: Sequence[int], marker: str) -> Tuple[int, int, int]:
    """The tickets' personal data removed, their rows kept; (tickets, notes, agent messages)."""
    tickets = _tickets(session, ids)
    for ticket in tickets:
        ticket.text = marker
        ticket.phone = None  # the validator clears phone_hash with it
        ticket.sender = None
    notes = agent_messages = 0
    for chunk in _chunks(ids):
        for note in session.scalars(select(TicketNote).where(TicketNote.ticket_id.in_(chunk))):
            if note.text != marker:
                note.text = marker
                notes += 1
        deleted = session.execute(delete(AgentMessage).where(AgentMessage.ticket_id.in_(chunk)))
        agent_messages += int(deleted.rowcount or 0)
    session.flush()
    return len(tickets), notes, agent_messages


def _redact_elsewhere(session: Session, phone: str, skip_tickets: Set[int]) -> int:
    """The number removed from other customers' tickets, notes and agent messages that quote it
    (their own words stay); how many rows changed. Every row is decrypted and searched."""
    pattern = phone_pattern(phone)
    changed = 0
    rows: List[Any] = [
        *(ticket for ticket in session.scalars(select(Ticket)) if ticket.id not in skip_tickets),
        *session.scalars(select(TicketNote)),
        *session.scalars(select(AgentMessage)),
    ]
    for row in rows:
        if row.text and pattern.search(row.text):
            row.text = pattern.sub(REDACTED, row.text)
            changed += 1
    session.flush()
    return changed


def _audit(
    session: Session,
    action: str,
    subject: Optional[str],
    detail: Dict[str, Any],
    operator: Optional[str],
    now: datetime,
) -> None:
    session.add(PrivacyAudit(action=action, subject=subject, detail=detail, operator=operator, at=now))


def compact(engine: Engine) -> bool:
    """A SQLite database rewritten without free pages, so deleted rows leave no bytes behind
    (other databases: nothing to do here). False when it was busy (another process in it)."""
    if engine.dialect.name != "sqlite":
        return True
    try:
        with engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.exec_driver_sql("VACUUM")
            autocommit.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    except OperationalError as error:
        logger.warning("could not compact %s (%s): deleted data stays in free pages until reused", engine.url, error)
        return False
    return True


def forget(
    engine: Engine,
    tracker: Engine,
    *,
    phone: Optional[str] = None,
    sender: Optional[str] = None,
    operator: Optional[str] = None,
    now: Optional[datetime] = None,
) -> ForgetResult:
    """Remove a customer's conversations and personal data (the right to be forgotten).

    By phone number: the tickets that carry it (found by its keyed hash), the conversations of
    those tickets and every conversation that mentions the number. By sender id: that
    conversation and its tickets. The conversations are deleted from the tracker store, with
    their agent messages, order verifications and failed verifications; the tickets keep their
    rows, anonymised (module docstring); a number quoted in other tickets, notes or agent
    messages is redacted there. `orders.phone` is the shop's order data, not something the
    customer told us in a conversation: orders are left alone. The audit row names the customer
    by keyed hash only.
    """
    now = now or datetime.now()
    factory = sessionmaker(bind=engine, future=True, expire_on_commit=False)
    with factory() as session:
        customer = _find(session, tracker, phone, sender)
    result = ForgetResult(conversations=len(customer.senders))
    # The conversations first: while the tickets still carry the number, a failure before the
    # end leaves everything findable for a second run.
    result.events = tracker_events.delete_conversations(tracker, customer.senders)
    with factory.begin() as session:
        result.tickets, result.notes, result.agent_messages = _erase_tickets(session, customer.ticket_ids, FORGOTTEN)
        for chunk in _chunks(customer.senders):
            deleted = session.execute(delete(AgentMessage).where(AgentMessage.sender.in_(chunk)))
            result.agent_messages += int(deleted.rowcount or 0)
            for model in (OrderVerification, VerificationFailure):
                deleted = session.execute(delete(model).where(model.sender.in_(chunk)))
                result.verifications += int(deleted.rowcount or 0)
            for record in (OrderAction, InvoiceRequest, InstallationBooking):
                unlinked = session.execute(update(record).where(record.sender.in_(chunk)).values(sender=None))
                result.order_records += int(unlinked.rowcount or 0)
        if customer.phone:
            result.redacted = _redact_elsewhere(session, customer.phone, set(customer.ticket_ids))
        _audit(session, "forget", customer.subject, result.counts(), operator, now)
    result.compacted = compact(engine) & compact(tracker)
    return result


# ---------------------------------------------------------------------------------------------
# Export


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat(timespec="seconds") if value else None


def _event_time(event: Dict[str, Any]) -> Optional[str]:
    stamp = event.get("timestamp")
    if not isinstance(stamp, (int, float)):
        return None
    return datetime.fromtimestamp(stamp).astimezone().isoformat(timespec="seconds")


def conversation_messages(tracker: Engine, sender: str) -> List[Dict[str, Any]]:
    """What was said in a conversation: (time, who: customer / assistant / agent, text)."""
    said: List[Dict[str, Any]] = []
    for _, _, event in tracker_events.rows(tracker, sender):
        kind = event.get("event")
        text = event.get("text")
        if kind not in ("user", "bot") or not text:
            continue
        if kind == "user":
            who = "customer"
        else:
            who = "agent" if (event.get("metadata") or {}).get("desk") == "reply" else "assistant"
        said.append({"time": _event_time(event), "who": who, "text": text})
    return said


def export(
    engine: Engine,
    tracker: Engine,
    *,
    phone: Optional[str] = None,
    sender: Optional[str] = None,
    operator: Optional[str] = None,
    now: Optional[datetime] = None,
) -> Dict[str, Any]:
    """Everything stored about a customer (the right of access), found as `forget` finds it:
    their tickets, their conversations' messages and what agents wrote to them."""
    now = now or datetime.now()
    factory = sessionmaker(bind=engine, future=True, expire_on_commit=False)
    with factory.begin() as session:
        customer = _find(session, tracker, phone, sender)
        tickets = _tickets(session, customer.ticket_ids)
        numbers = {ticket.id: ticket.number for ticket in tickets}
        messages: List[AgentMessage] = []
        condition = [AgentMessage.ticket_id.in_(customer.ticket_ids)] if customer.ticket_ids else []
        if customer.senders:
            condition.append(AgentMessage.sender.in_(customer.senders))
        if condition:
            messages = list(session.scalars(select(AgentMessage).where(or_(*condition)).order_by(AgentMessage.id)))
        agents = {staff.id: staff.display_name for staff in session.scalars(select(Staff))}
        data: Dict[str, Any] = {
            "customer": {"phone": customer.phone} if customer.phone else {"sender": customer.sender},
            "exported_at": _iso(now),
            "tickets": [
                {
                    "number": ticket.number,
                    "kind": ticket.kind,
                    "status": ticket.status,
                    "created_at": _iso(ticket.created_at),
                    "text": ticket.text,
                    "phone": ticket.phone,
                    "order_id": ticket.order_id,
                    "product": ticket.product,
                    "rating": ticket.rating,
                }
                for ticket in tickets
            ],
            "conversations": [
                {"sender": conversation, "messages": conversation_messages(tracker, conversation)}
                for conversation in customer.senders
            ],
            "agent_messages": [
                {
                    "time": _iso(message.created_at),
                    "ticket": numbers.get(message.ticket_id),
                    "agent": agents.get(message.agent_id) if message.agent_id else None,
                    "text": message.text,
                }
                for message in messages
            ],
        }
        detail = {
            "tickets": len(data["tickets"]),
            "conversations": len(data["conversations"]),
            "messages": sum(len(c["messages"]) for c in data["conversations"]),
            "agent_messages": len(data["agent_messages"]),
        }
        _audit(session, "export", customer.subject, detail, operator, now)
    return data


def export_json(data: Dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------------------------------------
# Retention


def _stale_conversations(tracker: Engine, before: float) -> Tuple[int, int]:
    """(conversations, events) that tracker_events.delete_before would remove."""
    if not tracker_events.has_events(tracker):
        return 0, 0
    events = tracker_events.events
    last = (
        select(events.c.sender_id, func.count().label("n"))
        .group_by(events.c.sender_id)
        .having(func.max(events.c.timestamp) < before)
        .subquery()
    )
    with tracker.connect() as connection:
        conversations, count = connection.execute(select(func.count(), func.coalesce(func.sum(last.c.n), 0))).one()
    return int(conversations), int(count)


def purge(
    engine: Engine,
    tracker: Engine,
    *,
    now: Optional[datetime] = None,
    dry_run: bool = False,
    operator: Optional[str] = None,
    retention: Optional[Dict[str, int]] = None,
) -> PurgeResult:
    """Delete what is past its retention period (settings.retention_days; run daily).

    Conversations whose last event is older than the conversation period are deleted whole.
    Tickets resolved or closed longer ago than the ticket period (closed_at, else their last
    change) are anonymised like forgotten ones, with EXPIRED as their text: the rows stay for
    the figures. Open tickets are kept however old. Order verifications, failed verifications
    and failed desk logins older than a day are deleted. With `dry_run` nothing changes and no
    audit row is written; the counts say what would go.
    """
    now = now or datetime.now()
    days = retention or settings.retention_days()
    result = PurgeResult(dry_run=dry_run)
    conversations_before = (now - timedelta(days=days["conversations"])).timestamp()
    if dry_run:
        result.conversations, result.events = _stale_conversations(tracker, conversations_before)
    else:
        result.conversations, result.events = tracker_events.delete_before(tracker, conversations_before)

    tickets_before = now - timedelta(days=days["tickets"])
    finished_at = func.coalesce(Ticket.closed_at, Ticket.updated_at, Ticket.created_at)
    factory = sessionmaker(bind=engine, future=True, expire_on_commit=False)
    with factory() as session:
        expired = [
            ticket.id
            for ticket in session.scalars(
                select(Ticket).where(Ticket.status.in_(FINISHED), finished_at < tickets_before).order_by(Ticket.id)
            )
            if not (ticket.text in ERASED_TEXTS and ticket.phone is None and ticket.sender is None)
        ]
        result.tickets, result.notes, result.agent_messages = _erase_tickets(session, expired, EXPIRED)
        for model, attribute, keep in (
            (OrderVerification, "order_verifications", VERIFICATION_KEEP),
            (VerificationFailure, "verification_failures", VERIFICATION_KEEP),
            (LoginFailure, "login_failures", LOGIN_FAILURE_KEEP),
        ):
            deleted = session.execute(delete(model).where(model.at < now - keep))
            setattr(result, attribute, int(deleted.rowcount or 0))
        if dry_run:
            session.rollback()
        else:
            _audit(session, "purge", None, {**result.counts(), "retention_days": dict(days)}, operator, now)
            session.commit()
    if not dry_run and any(result.counts().values()):
        compact(engine)
        compact(tracker)
    return result


# ---------------------------------------------------------------------------------------------
# Keys


def encrypted_tables() -> List[Tuple[str, List[str]]]:
    """(table, columns) of every EncryptedText column of the models."""
    found: List[Tuple[str, List[str]]] = []
    for model_table in Base.metadata.sorted_tables:
        columns = [c.name for c in model_table.columns if isinstance(c.type, crypto.EncryptedText)]
        if columns:
            found.append((model_table.name, columns))
    return found


def _raw(name: str, columns: Iterable[str]) -> Any:
    """The table with untyped columns: values as stored (tokens), not decrypted."""
    return table(name, column("id"), *(column(c) for c in columns))


def reencrypt_database(engine: Engine) -> Dict[str, int]:
    """Every encrypted column re-encrypted under the newest data key; rows per table."""
    counts: Dict[str, int] = {}
    for name, columns in encrypted_tables():
        raw = _raw(name, columns)
        changed = 0
        with engine.begin() as connection:
            for row in connection.execute(select(raw)).mappings().all():
                values = {c: crypto.rotate(row[c]) for c in columns if row[c] is not None}
                if values:
                    connection.execute(raw.update().where(raw.c.id == row["id"]).values(**values))
                    changed += 1
        counts[name] = changed
    return counts


def _stored_values(engine: Engine, tracker: Engine) -> Iterator[str]:
    """Every stored encrypted-column value and event, as stored."""
    for name, columns in encrypted_tables():
        raw = _raw(name, columns)
        with engine.connect() as connection:
            for row in connection.execute(select(raw)).mappings():
                yield from (row[c] for c in columns if row[c] is not None)
    if tracker_events.has_events(tracker):
        events: Table = tracker_events.events
        with tracker.connect() as connection:
            yield from (data for (data,) in connection.execute(select(events.c.data)) if data is not None)


def write_keys(path: Path, keys: Sequence[str]) -> None:
    """The key file replaced atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write("\n".join(keys) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _keys_source() -> str:
    return "environment" if os.environ.get("ZHIYIN_DATA_KEYS") else "file"


def _valid_key(key: str) -> str:
    key = key.strip()
    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        raise PrivacyError("not a Fernet key (32 bytes, url-safe base64)") from None
    return key


def rotate_key(
    engine: Engine,
    tracker: Engine,
    *,
    key: Optional[str] = None,
    operator: Optional[str] = None,
    now: Optional[datetime] = None,
) -> RotateResult:
    """A new data key, and everything stored re-encrypted under it.

    Keys in var/data-keys: the new key (`key`, else a generated one) is put first in the file
    and every encrypted column and tracker event is re-encrypted; the servers read the keys when
    they start, so restart them right after. Keys in ZHIYIN_DATA_KEYS, which only the operator
    can change: without `key`, a new key is generated and nothing changes — the result holds
    the value to set everywhere; once every server runs with it, `key` (the new first key)
    re-encrypts. The older keys still decrypt until `retire_keys`. A `key` that is already the
    first re-encrypts without adding one (after an interrupted run, or for rows a server wrote
    under the old key before its restart).
    """
    now = now or datetime.now()
    current = settings.data_keys()
    if _keys_source() == "environment":
        if key is None:
            new = Fernet.generate_key().decode()
            return RotateResult("environment", False, ",".join([new, *current]))
        if _valid_key(key) != current[0]:
            raise PrivacyError(
                "the key must be the first of ZHIYIN_DATA_KEYS: set ZHIYIN_DATA_KEYS=NEW,OLD for every "
                "server and for this command, restart the servers, then re-encrypt"
            )
        result = RotateResult("environment", True, ",".join(current))
    else:
        new = _valid_key(key) if key else Fernet.generate_key().decode()
        write_keys(settings.DATA_KEYS_FILE, [new, *(k for k in current if k != new)])
        result = RotateResult("file", True)
    crypto.forget_keys()
    result.counts = reencrypt_database(engine)
    result.counts["events"] = tracker_events.reencrypt(tracker)
    factory = sessionmaker(bind=engine, future=True, expire_on_commit=False)
    with factory.begin() as session:
        _audit(session, "rotate-key", None, {"keys": len(settings.data_keys()), **result.counts}, operator, now)
    return result


def retire_keys(
    engine: Engine, tracker: Engine, *, operator: Optional[str] = None, now: Optional[datetime] = None
) -> RetireResult:
    """Every key but the newest dropped, after checking that every stored token opens with the
    newest alone (else PrivacyError: rotate first). Keys in ZHIYIN_DATA_KEYS: nothing changes,
    the result holds the value to set. Data encrypted under a retired key — in a backup, in a
    database file's free pages — can no longer be read by anyone."""
    now = now or datetime.now()
    keys = settings.data_keys()
    newest = Fernet(keys[0].encode())
    checked = plain = unreadable = 0
    for value in _stored_values(engine, tracker):
        if not crypto.is_encrypted(value):
            plain += 1
            continue
        checked += 1
        try:
            newest.decrypt(value.encode("ascii"))
        except InvalidToken:
            unreadable += 1
    if unreadable:
        # A server still running with the old keys writes under the old key: restart it first.
        raise PrivacyError(
            f"{unreadable} stored values are still under an older key. Restart every server so it "
            "uses the newest key, re-encrypt with `rotate-key --key NEWEST` (the first key, which adds "
            "no key), then retire"
        )
    source = _keys_source()
    result = RetireResult(source, len(keys) - 1, checked, plain)
    if source == "environment":
        result.keys_value = keys[0]
    elif len(keys) > 1:
        write_keys(settings.DATA_KEYS_FILE, keys[:1])
        crypto.forget_keys()
    factory = sessionmaker(bind=engine, future=True, expire_on_commit=False)
    with factory.begin() as session:
        _audit(
            session, "retire-key", None, {"retired": result.retired, "checked": checked, "plain": plain}, operator, now
        )
    return result
