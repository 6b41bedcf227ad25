"""Privacy requests on real databases: forget, export, purge, key rotation, and the CLI.

The business database is the `database` fixture (SQLite and PostgreSQL); the tracker store is a
SQLite file holding Rasa's `events` table, filled the way zhiyin's encrypted tracker store
writes it (each event's JSON as a Fernet token), plus one plain row from before encryption.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import create_engine, event, func, insert, select
from sqlalchemy.engine import Engine

from tests.conftest import TEST_DATA_KEY
from zhiyin import crypto, privacy, settings, tracker_events
from zhiyin import staff as accounts
from zhiyin.__main__ import main
from zhiyin.db import (
    AgentMessage,
    LoginFailure,
    OrderAction,
    OrderVerification,
    PrivacyAudit,
    Staff,
    Ticket,
    TicketChange,
    TicketNote,
    VerificationFailure,
    session_scope,
)
from zhiyin.services.tickets import create_ticket

# "now" for the functions that take it; the fixture's rows are from a moment before it.
NOW = datetime.now().replace(microsecond=0)
PHONE_A = "13812345678"  # the customer who asks to be forgotten
PHONE_A_LEGACY = "138-1234-5678"  # how she wrote it in a conversation from before encryption
PHONE_B = "13987654321"
PHONE_C = "13700001111"


def user(text: str, at: datetime, entities: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    parse_data = {"text": text, "intent": {"name": "inform", "confidence": 0.9}, "entities": entities or []}
    return {
        "event": "user",
        "timestamp": at.timestamp(),
        "text": text,
        "parse_data": parse_data,
        "input_channel": "rest",
    }


def bot(text: str, at: datetime, metadata: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return {"event": "bot", "timestamp": at.timestamp(), "text": text, "data": {}, "metadata": metadata or {}}


def slot(name: str, value: Any, at: datetime) -> Dict[str, Any]:
    return {"event": "slot", "timestamp": at.timestamp(), "name": name, "value": value}


def add_events(tracker: Engine, sender: str, events: List[Dict[str, Any]], *, plain: bool = False) -> None:
    """Rows as the tracker store writes them: data encrypted (or, for old rows, plain JSON)."""
    with tracker.begin() as connection:
        for event in events:
            data = json.dumps(event)
            connection.execute(
                insert(tracker_events.events).values(
                    sender_id=sender,
                    type_name=event["event"],
                    timestamp=event["timestamp"],
                    intent_name=(event.get("parse_data") or {}).get("intent", {}).get("name"),
                    action_name=None,
                    data=data if plain else crypto.encrypt(data),
                )
            )


def all_events(tracker: Engine) -> List[tuple]:
    return list(tracker_events.rows(tracker))


def file_bytes(engine: Engine) -> bytes:
    assert engine.url.database
    return Path(engine.url.database).read_bytes()


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)

    # Deleted rows stay in the file's free space, as in SQLite builds without SECURE_DELETE
    # (Debian's has it): forget must compact the file itself.
    @event.listens_for(engine, "connect")
    def keep_deleted_bytes(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA secure_delete = OFF")

    tracker_events.events.metadata.create_all(engine)
    yield engine
    engine.dispose()


@dataclass
class Shop:
    tickets: Dict[str, int]  # name -> id
    numbers: Dict[str, str]  # name -> ticket number
    staff_id: int


@pytest.fixture
def shop(database: Engine, tracker: Engine) -> Shop:
    """Customer A (two conversations, a handoff conversation, an old plain one), B, and C whose
    ticket has a note quoting A's number."""
    day = NOW - timedelta(days=2)
    phone_entity = [{"entity": "phone_number", "value": PHONE_A, "start": 5, "end": 16}]
    add_events(
        tracker,
        "web-a1",
        [
            user("我要投诉", day),
            bot("请描述一下您遇到的问题。", day),
            user("屏幕有划痕", day),
            user(f"我的手机是{PHONE_A}", day, phone_entity),
            slot("phone_number", PHONE_A, day),
            bot("您的投诉已提交。", day),
            bot("您好，我是客服小王", day, {"desk": "reply", "agent": "小王"}),
        ],
    )
    add_events(tracker, "tg-a2", [user("138 1234 5678 这个号码能查订单吗", day), bot("请提供订单号。", day)])
    add_events(tracker, "web-a3", [user("转人工", day), bot("正在为您转接人工客服。", day)])
    add_events(tracker, "legacy-a", [user(f"电话 {PHONE_A_LEGACY}", day - timedelta(days=30))], plain=True)
    add_events(
        tracker,
        "web-b",
        [user("发错货了", day), user(PHONE_B, day), slot("phone_number", PHONE_B, day), bot("已提交。", day)],
    )
    with session_scope(database) as session:
        staff = Staff(username="wang", display_name="小王", role="agent", password_hash="-")
        session.add(staff)
        session.flush()
        made = {
            "a1": create_ticket(
                session, "complaint", f"屏幕有划痕，电话{PHONE_A}", phone=PHONE_A, channel="rest", sender="web-a1"
            ),
            "a3": create_ticket(session, "handoff", "转人工", phone=PHONE_A, channel="rest", sender="web-a3"),
            "b": create_ticket(session, "complaint", "发错货了", phone=PHONE_B, channel="rest", sender="web-b"),
            "c": create_ticket(
                session, "suggestion", "希望增加夜间配送", phone=PHONE_C, channel="rest", sender="web-c"
            ),
        }
        session.add_all(
            [
                TicketNote(ticket_id=made["a1"].id, author_id=staff.id, text=f"客户很着急，回电 {PHONE_A}"),
                TicketNote(ticket_id=made["c"].id, author_id=staff.id, text=f"客户说也可以打{PHONE_A_LEGACY}找她"),
                TicketNote(ticket_id=made["b"].id, author_id=staff.id, text="已联系仓库"),
                TicketChange(ticket_id=made["a1"].id, actor_id=staff.id, field="status", old="open", new="resolved"),
                AgentMessage(ticket_id=made["a1"].id, sender="web-a1", agent_id=staff.id, text="您好，我是客服小王"),
                AgentMessage(ticket_id=made["b"].id, sender="web-b", agent_id=staff.id, text="马上为您处理"),
                OrderVerification(sender="web-a1", order_id="202611016468", at=NOW - timedelta(hours=1)),
                VerificationFailure(sender="web-a1", address="10.0.0.1", at=NOW - timedelta(hours=1)),
                OrderVerification(sender="web-b", order_id="202611028313", at=NOW - timedelta(hours=1)),
                OrderAction(order_id="202611016468", kind="urge", detail="", channel="rest", sender="web-a1"),
            ]
        )
        session.flush()
        made["a1"].rating = 2
        return Shop(
            {name: ticket.id for name, ticket in made.items()},
            {name: ticket.number for name, ticket in made.items()},
            staff.id,
        )


def everything_readable(database: Engine, tracker: Engine) -> str:
    """Every stored personal text decrypted, as one string to search."""
    parts = [json.dumps(event, ensure_ascii=False) for _, _, event in all_events(tracker)]
    with session_scope(database) as session:
        for ticket in session.scalars(select(Ticket)):
            parts += [ticket.text, ticket.phone or "", ticket.sender or ""]
        parts += [note.text for note in session.scalars(select(TicketNote))]
        parts += [message.text for message in session.scalars(select(AgentMessage))]
    return "\n".join(parts)


def audits(database: Engine, action: str) -> List[PrivacyAudit]:
    with session_scope(database) as session:
        return list(session.scalars(select(PrivacyAudit).where(PrivacyAudit.action == action)))


# ---------------------------------------------------------------------------------------------
# forget


def test_forget_by_phone_leaves_the_number_nowhere(database, tracker, shop):
    sqlite = database.dialect.name == "sqlite"
    # Encrypted at rest: the number's digits are in neither file before, only the legacy row's
    # plain text is (which shows the byte search finds what is there).
    if sqlite:
        assert PHONE_A.encode() not in file_bytes(database)
        assert PHONE_B.encode() not in file_bytes(database)
    assert PHONE_A.encode() not in file_bytes(tracker)
    assert PHONE_A_LEGACY.encode() in file_bytes(tracker)
    assert PHONE_A in everything_readable(database, tracker)
    with session_scope(database) as session:
        tickets_before = session.scalar(select(func.count()).select_from(Ticket))

    result = privacy.forget(database, tracker, phone="+86 138 1234 5678", operator="li", now=NOW)

    assert (result.conversations, result.events) == (4, 7 + 2 + 2 + 1)
    assert (result.tickets, result.notes, result.agent_messages, result.verifications) == (2, 1, 1, 2)
    assert (result.redacted, result.order_records, result.compacted) == (1, 1, True)
    readable = everything_readable(database, tracker)
    assert PHONE_A not in readable and "1234-5678" not in readable and "1234 5678" not in readable
    assert "屏幕有划痕" not in readable
    assert {sender for _, sender, _ in all_events(tracker)} == {"web-b"}
    assert PHONE_A_LEGACY.encode() not in file_bytes(tracker)  # compacted: no free-page leftovers
    if sqlite:
        assert PHONE_A.encode() not in file_bytes(database)

    with session_scope(database) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == tickets_before
        for name in ("a1", "a3"):
            ticket = session.get(Ticket, shop.tickets[name])
            assert ticket.number == shop.numbers[name]
            assert (ticket.text, ticket.phone, ticket.phone_hash, ticket.sender) == (
                privacy.FORGOTTEN,
                None,
                None,
                None,
            )
            assert ticket.channel == "rest"
        forgotten = session.get(Ticket, shop.tickets["a1"])
        assert (forgotten.kind, forgotten.rating) == ("complaint", 2)
        assert [n.text for n in session.scalars(select(TicketNote).where(TicketNote.ticket_id == forgotten.id))] == [
            privacy.FORGOTTEN
        ]
        assert session.scalar(select(func.count()).select_from(TicketChange)) == 1  # history kept
        # The other customers: untouched, but for A's number in C's note.
        other = session.get(Ticket, shop.tickets["b"])
        assert (other.text, other.phone, other.sender) == ("发错货了", PHONE_B, "web-b")
        assert other.phone_hash == crypto.lookup_hash(PHONE_B)
        assert [m.text for m in session.scalars(select(AgentMessage))] == ["马上为您处理"]
        assert [v.sender for v in session.scalars(select(OrderVerification))] == ["web-b"]
        assert session.scalar(select(func.count()).select_from(VerificationFailure)) == 0
        assert session.scalar(select(OrderAction.sender).where(OrderAction.kind == "urge")) is None
        note = session.scalar(select(TicketNote.text).where(TicketNote.ticket_id == shop.tickets["c"]))
        assert note == f"客户说也可以打{privacy.REDACTED}找她"
        assert session.get(Ticket, shop.tickets["c"]).text == "希望增加夜间配送"
    assert len([e for _, s, e in all_events(tracker) if s == "web-b"]) == 4

    [audit] = audits(database, "forget")
    assert audit.subject == crypto.lookup_hash(PHONE_A) and audit.operator == "li" and audit.at == NOW
    assert audit.detail["conversations"] == 4 and audit.detail["tickets"] == 2
    with session_scope(database) as session:
        logged = [json.dumps([row.subject, row.detail, row.operator]) for row in session.scalars(select(PrivacyAudit))]
    assert PHONE_A not in "".join(logged) and "1234" not in "".join(logged)

    again = privacy.forget(database, tracker, phone=PHONE_A, now=NOW)  # nothing left to find
    assert (again.conversations, again.events, again.tickets) == (0, 0, 0)


def test_forget_by_sender(database, tracker, shop):
    result = privacy.forget(database, tracker, sender="web-b", now=NOW)
    assert (result.conversations, result.events, result.tickets) == (1, 4, 1)
    assert (result.agent_messages, result.notes, result.verifications, result.redacted) == (1, 1, 1, 0)
    assert "web-b" not in {sender for _, sender, _ in all_events(tracker)}
    readable = everything_readable(database, tracker)
    assert PHONE_B not in readable and "发错货了" not in readable and "已联系仓库" not in readable
    with session_scope(database) as session:
        ticket = session.get(Ticket, shop.tickets["b"])
        assert (ticket.number, ticket.text, ticket.phone_hash, ticket.sender) == (
            shop.numbers["b"],
            privacy.FORGOTTEN,
            None,
            None,
        )
        assert session.get(Ticket, shop.tickets["a1"]).phone == PHONE_A  # A untouched
    [audit] = audits(database, "forget")
    assert audit.subject == crypto.lookup_hash("web-b")


@pytest.mark.parametrize("who", [{}, {"phone": PHONE_A, "sender": "web-a1"}, {"phone": "12345"}])
def test_forget_needs_one_valid_customer(database, tracker, who):
    with pytest.raises(privacy.PrivacyError):
        privacy.forget(database, tracker, **who)
    assert audits(database, "forget") == []


@pytest.mark.parametrize(
    "text, found",
    [
        (f"电话{PHONE_A}", True),
        ("+86 138-1234-5678", True),
        ("8613812345678", True),
        ("１３８１２３４５６７８", True),
        ("1 3 8 1 2 3 4 5 6 7 8", True),
        ("213812345678", False),  # a longer number
        ("138123456789", False),
        ("1381234567", False),
        (PHONE_B, False),
    ],
)
def test_the_number_is_recognised_however_it_is_written(text, found):
    assert bool(privacy.phone_pattern(PHONE_A).search(text)) is found


def test_verifications_are_kept_as_long_as_they_count():
    from zhiyin.services import verification

    assert max(verification.VERIFIED_FOR, verification.WINDOW) <= privacy.VERIFICATION_KEEP
    assert privacy.LOGIN_FAILURE_KEEP >= accounts.FAILURE_WINDOW


# ---------------------------------------------------------------------------------------------
# export


def test_export_by_phone(database, tracker, shop):
    data = privacy.export(database, tracker, phone=PHONE_A, operator="li", now=NOW)
    assert data["customer"] == {"phone": PHONE_A}
    tickets = {ticket["number"]: ticket for ticket in data["tickets"]}
    assert set(tickets) == {shop.numbers["a1"], shop.numbers["a3"]}
    complaint = tickets[shop.numbers["a1"]]
    assert complaint["text"] == f"屏幕有划痕，电话{PHONE_A}" and complaint["phone"] == PHONE_A
    assert (complaint["kind"], complaint["status"], complaint["rating"]) == ("complaint", "open", 2)
    conversations = {c["sender"]: c["messages"] for c in data["conversations"]}
    assert set(conversations) == {"web-a1", "web-a3", "tg-a2", "legacy-a"}
    assert [(m["who"], m["text"]) for m in conversations["web-a1"]][-3:] == [
        ("customer", f"我的手机是{PHONE_A}"),
        ("assistant", "您的投诉已提交。"),
        ("agent", "您好，我是客服小王"),
    ]
    assert conversations["legacy-a"][0]["text"] == f"电话 {PHONE_A_LEGACY}"
    assert all(m["time"] for messages in conversations.values() for m in messages)
    assert data["agent_messages"] == [
        {
            "time": data["agent_messages"][0]["time"],
            "ticket": shop.numbers["a1"],
            "agent": "小王",
            "text": "您好，我是客服小王",
        }
    ]
    text = privacy.export_json(data)
    assert "屏幕有划痕" in text and "\\u" not in text  # UTF-8, not escaped
    [audit] = audits(database, "export")
    assert audit.subject == crypto.lookup_hash(PHONE_A)
    assert audit.detail == {"tickets": 2, "conversations": 4, "messages": 11, "agent_messages": 1}
    assert PHONE_A in everything_readable(database, tracker)  # an export changes nothing


def test_export_by_sender(database, tracker, shop):
    data = privacy.export(database, tracker, sender="web-b", now=NOW)
    assert data["customer"] == {"sender": "web-b"}
    assert [(t["number"], t["phone"]) for t in data["tickets"]] == [(shop.numbers["b"], PHONE_B)]
    assert [m["text"] for m in data["conversations"][0]["messages"]] == ["发错货了", PHONE_B, "已提交。"]
    assert [m["text"] for m in data["agent_messages"]] == ["马上为您处理"]


# ---------------------------------------------------------------------------------------------
# purge


def test_purge_deletes_what_is_past_its_retention(database, tracker, shop):
    add_events(tracker, "old-conversation", [user("你好", NOW - timedelta(days=200))])
    add_events(tracker, "still-going", [user("你好", NOW - timedelta(days=200)), user("在吗", NOW - timedelta(days=1))])
    long_ago = NOW - timedelta(days=400)
    with session_scope(database) as session:
        closed = session.get(Ticket, shop.tickets["a1"])
        closed.status, closed.closed_at = "closed", long_ago
        resolved = session.get(Ticket, shop.tickets["b"])
        resolved.status, resolved.updated_at = "resolved", long_ago
        recent = session.get(Ticket, shop.tickets["c"])
        recent.status, recent.closed_at = "closed", NOW - timedelta(days=10)
        still_open = session.get(Ticket, shop.tickets["a3"])
        still_open.created_at = NOW - timedelta(days=500)
        session.add_all(
            [
                OrderVerification(sender="x", order_id="202611016468", at=NOW - timedelta(days=2)),
                VerificationFailure(sender="x", address="10.0.0.2", at=NOW - timedelta(days=2)),
                LoginFailure(username="wang", address="10.0.0.3", at=NOW - timedelta(days=2)),
                LoginFailure(username="wang", address="10.0.0.3", at=NOW - timedelta(minutes=5)),
            ]
        )
    before = everything_readable(database, tracker)
    events_before = len(all_events(tracker))

    dry = privacy.purge(database, tracker, now=NOW, dry_run=True, retention={"conversations": 180, "tickets": 365})
    assert everything_readable(database, tracker) == before and len(all_events(tracker)) == events_before
    assert audits(database, "purge") == []

    done = privacy.purge(database, tracker, now=NOW, operator="cron", retention={"conversations": 180, "tickets": 365})
    # The fixture's conversations are two days old, its verifications an hour: they stay.
    expected = {
        "conversations": 1,  # old-conversation; still-going has a recent event
        "events": 1,
        "tickets": 2,  # closed and resolved 400 days ago; the recent and the open one stay
        "notes": 2,
        "agent_messages": 2,
        "order_verifications": 1,
        "verification_failures": 1,
        "login_failures": 1,
    }
    assert done.counts() == expected and dry.counts() == expected
    senders = {sender for _, sender, _ in all_events(tracker)}
    assert "old-conversation" not in senders and "still-going" in senders
    with session_scope(database) as session:
        for name in ("a1", "b"):
            ticket = session.get(Ticket, shop.tickets[name])
            assert (ticket.number, ticket.text, ticket.phone, ticket.sender) == (
                shop.numbers[name],
                privacy.EXPIRED,
                None,
                None,
            )
        assert session.get(Ticket, shop.tickets["c"]).text == "希望增加夜间配送"
        assert session.get(Ticket, shop.tickets["a3"]).phone == PHONE_A  # open: kept however old
        assert session.scalar(select(func.count()).select_from(AgentMessage)) == 0
        assert session.scalar(select(func.count()).select_from(LoginFailure)) == 1
        assert [v.sender for v in session.scalars(select(OrderVerification))] == ["web-a1", "web-b"]
    [audit] = audits(database, "purge")
    assert audit.operator == "cron" and audit.detail["tickets"] == 2
    assert audit.detail["retention_days"] == {"conversations": 180, "tickets": 365}

    again = privacy.purge(database, tracker, now=NOW, retention={"conversations": 180, "tickets": 365})
    assert sum(again.counts().values()) == 0


def test_purge_uses_the_configured_retention(database, tracker, shop, monkeypatch):
    monkeypatch.setenv("RETENTION_CONVERSATION_DAYS", "1")
    result = privacy.purge(database, tracker, now=NOW)
    assert result.conversations == 5  # every conversation of the fixture is two days old or more
    assert all_events(tracker) == []


# ---------------------------------------------------------------------------------------------
# keys


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Keys in a key file (var/data-keys), holding the tests' key, instead of the environment."""
    path = tmp_path / "var" / "data-keys"
    privacy.write_keys(path, [TEST_DATA_KEY])
    monkeypatch.delenv("ZHIYIN_DATA_KEYS")
    monkeypatch.setattr(settings, "DATA_KEYS_FILE", path)
    crypto.forget_keys()
    yield path
    crypto.forget_keys()  # back to the environment's key once monkeypatch has restored it


@pytest.fixture
def fresh_keys() -> Iterator[None]:
    yield
    crypto.forget_keys()


def stored_tokens(database: Engine, tracker: Engine) -> List[str]:
    return list(privacy._stored_values(database, tracker))


def test_rotate_key_from_the_key_file_and_retire_the_old_one(database, tracker, shop, key_file):
    readable = everything_readable(database, tracker)
    before = stored_tokens(database, tracker)
    assert sum(not crypto.is_encrypted(value) for value in before) == 1  # the legacy row

    result = privacy.rotate_key(database, tracker, operator="li", now=NOW)

    keys = key_file.read_text().split()
    assert len(keys) == 2 and keys[1] == TEST_DATA_KEY
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert result.source == "file" and result.reencrypted
    assert result.counts == {"tickets": 4, "ticket_notes": 3, "agent_messages": 2, "events": 16}
    after = stored_tokens(database, tracker)
    assert len(after) == len(before) and not set(after) & set(before)
    newest, old = Fernet(keys[0].encode()), Fernet(TEST_DATA_KEY.encode())
    for token in after:  # every value, the legacy row too, now a token of the new key only
        newest.decrypt(token.encode())
        with pytest.raises(InvalidToken):
            old.decrypt(token.encode())
    assert everything_readable(database, tracker) == readable

    retired = privacy.retire_keys(database, tracker, operator="li", now=NOW)
    assert (retired.retired, retired.checked, retired.plain) == (1, len(after), 0)
    assert key_file.read_text().split() == keys[:1] and key_file.stat().st_mode & 0o777 == 0o600
    assert settings.data_keys() == keys[:1]
    assert everything_readable(database, tracker) == readable  # readable with the new key alone
    assert [a.action for a in audits(database, "rotate-key") + audits(database, "retire-key")] == [
        "rotate-key",
        "retire-key",
    ]
    assert keys[0] not in json.dumps([a.detail for a in audits(database, "rotate-key")])


def test_retiring_is_refused_while_data_needs_an_older_key(database, tracker, shop, key_file):
    privacy.rotate_key(database, tracker, now=NOW)
    old_token = Fernet(TEST_DATA_KEY.encode()).encrypt(json.dumps(user("晚到的消息", NOW)).encode()).decode()
    with tracker.begin() as connection:
        connection.execute(insert(tracker_events.events).values(sender_id="late", type_name="user", data=old_token))
    with pytest.raises(privacy.PrivacyError, match="1 stored values are still under an older key"):
        privacy.retire_keys(database, tracker, now=NOW)
    keys = key_file.read_text().split()
    assert len(keys) == 2
    # The newest key again: everything re-encrypted under it, no key added; then retiring works.
    assert privacy.rotate_key(database, tracker, key=keys[0], now=NOW).counts["events"] == 17
    assert key_file.read_text().split() == keys
    assert privacy.retire_keys(database, tracker, now=NOW).retired == 1
    assert [event["text"] for _, sender, event in all_events(tracker) if sender == "late"] == ["晚到的消息"]


def test_rotate_key_with_keys_in_the_environment(database, tracker, shop, monkeypatch, fresh_keys):
    before = stored_tokens(database, tracker)
    proposal = privacy.rotate_key(database, tracker, now=NOW)
    assert not proposal.reencrypted and stored_tokens(database, tracker) == before  # nothing changed
    new_key, old_key = proposal.keys_value.split(",")
    assert old_key == TEST_DATA_KEY
    with pytest.raises(privacy.PrivacyError, match="first of ZHIYIN_DATA_KEYS"):
        privacy.rotate_key(database, tracker, key=new_key, now=NOW)  # not set yet

    monkeypatch.setenv("ZHIYIN_DATA_KEYS", proposal.keys_value)  # the operator sets it everywhere
    crypto.forget_keys()
    done = privacy.rotate_key(database, tracker, key=new_key, now=NOW)
    assert done.reencrypted and done.counts["events"] == 16
    for token in stored_tokens(database, tracker):
        Fernet(new_key.encode()).decrypt(token.encode())
    retired = privacy.retire_keys(database, tracker, now=NOW)
    assert retired.keys_value == new_key and os.environ["ZHIYIN_DATA_KEYS"] == proposal.keys_value


def test_rotate_key_refuses_a_bad_key(database, tracker, key_file):
    with pytest.raises(privacy.PrivacyError, match="not a Fernet key"):
        privacy.rotate_key(database, tracker, key="not-a-key")
    assert key_file.read_text().split() == [TEST_DATA_KEY]


# ---------------------------------------------------------------------------------------------
# the command line


def cli(database: Engine, tracker: Engine, *args: str) -> int:
    return main(
        [
            "privacy",
            *args,
            "--database-url",
            database.url.render_as_string(hide_password=False),
            "--tracker-url",
            str(tracker.url),
        ]
    )


def test_cli_forget(database, tracker, shop, capsys):
    assert cli(database, tracker, "forget", "--phone", PHONE_A, "--operator", "li") == 0
    out = capsys.readouterr().out
    assert "4 conversations (12 events) deleted, 2 tickets anonymised" in out and PHONE_A not in out
    assert audits(database, "forget")[0].operator == "li"


def test_cli_export_to_stdout_and_to_a_file(database, tracker, shop, capsys, tmp_path):
    assert cli(database, tracker, "export", "--sender", "web-b") == 0
    assert json.loads(capsys.readouterr().out)["tickets"][0]["phone"] == PHONE_B
    out = tmp_path / "export.json"
    assert cli(database, tracker, "export", "--phone", PHONE_A, "--out", str(out)) == 0
    assert "exported 2 tickets, 4 conversations" in capsys.readouterr().out
    assert out.stat().st_mode & 0o777 == 0o600
    assert "屏幕有划痕" in out.read_text(encoding="utf-8")


def test_cli_purge_dry_run(database, tracker, shop, capsys):
    assert cli(database, tracker, "purge", "--dry-run") == 0
    assert capsys.readouterr().out.startswith("would delete: 0 conversations")
    assert audits(database, "purge") == []


def test_cli_rotate_key(database, tracker, shop, capsys, key_file):
    assert cli(database, tracker, "rotate-key") == 0
    assert "re-encrypted under the new key: tickets 4" in capsys.readouterr().out
    assert cli(database, tracker, "rotate-key", "--retire") == 0
    assert "retired 1 keys" in capsys.readouterr().out
    assert len(key_file.read_text().split()) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["forget"], "one of the arguments --phone --sender is required"),
        (["forget", "--phone", PHONE_A, "--sender", "web-a1"], "not allowed with argument"),
        (["export", "--phone", "12345"], "not a mainland mobile number"),
    ],
)
def test_cli_refuses_bad_input(database, tracker, capsys, args, message):
    assert cli(database, tracker, *args) == 2
    assert message in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# nothing readable in the stored bytes


def pg_dump() -> Optional[str]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else shutil.which("pg_dump")


def test_a_new_ticket_stores_no_readable_phone_number(database):
    with session_scope(database) as session:
        ticket = create_ticket(session, "complaint", f"电话{PHONE_C}，屏幕坏了", phone=PHONE_C, sender="web-x")
        number = ticket.number
    if database.dialect.name == "sqlite":
        stored = file_bytes(database)
    else:
        dump = pg_dump()
        if not dump:
            pytest.skip("pg_dump not installed")
        url = database.url.render_as_string(hide_password=False)
        stored = subprocess.run([dump, "--dbname", url], check=True, capture_output=True, timeout=60).stdout
        assert crypto.lookup_hash(PHONE_C).encode() in stored  # the ticket is in the dump
    assert PHONE_C.encode() not in stored and "屏幕坏了".encode() not in stored
    with session_scope(database) as session:
        assert session.scalar(select(Ticket.phone).where(Ticket.phone_hash == crypto.lookup_hash(PHONE_C))) == PHONE_C
    assert number.startswith("ZY")
