"""Reading the tracker store and the tickets; export to CSV/JSONL and back, masked by default."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import create_engine

from insight.__main__ import main
from insight.conversations import Period, read_agent_replies, read_messages, read_tickets
from insight.export import FORMATS, export, masked_message, read_exported_messages
from tests.insight.conftest import CONVERSATIONS, DAY_1, DAY_2
from zhiyin.tracker_events import tracker_engine


def test_every_user_message_is_read_with_channel_voice_flag_and_prediction(tracker_url):
    messages = read_messages(tracker_engine(tracker_url))
    assert [(m.sender, m.text, m.intent) for m in messages] == [(s.sender, s.text, s.intent) for s in CONVERSATIONS]
    bob = [m for m in messages if m.sender == "bob"]
    assert all(m.voice and m.channel == "voice" for m in bob)
    assert not any(m.voice for m in messages if m.sender != "bob")
    assert messages[1].confidence == pytest.approx(0.97)
    assert messages[1].entities == [{"entity": "product", "value": "华为Mate60", "start": 0, "end": 8}]
    assert messages[0].time == DAY_1


@pytest.mark.parametrize(
    "period, senders",
    [
        (Period(), {"alice", "bob", "carol"}),
        (Period(since=date(2026, 11, 21)), {"bob", "carol"}),
        (Period(until=date(2026, 11, 20)), {"alice"}),
        (Period(date(2026, 11, 22), date(2026, 11, 30)), set()),
    ],
)
def test_period_selects_whole_days(tracker_url, period, senders):
    assert {m.sender for m in read_messages(tracker_engine(tracker_url), period)} == senders


def test_an_empty_or_new_store_has_no_messages(tmp_path):
    assert read_messages(create_engine(f"sqlite:///{tmp_path / 'nothing.db'}")) == []


def test_tickets_are_read_with_number_and_period(tickets):
    records = read_tickets(tickets)
    assert [t.kind for t in records] == ["suggestion", "complaint", "handoff"]
    assert records[1].number.startswith("ZY20261121") and records[1].phone == "13812345678"
    assert [t.kind for t in read_tickets(tickets, Period(since=date(2026, 11, 21)))] == ["complaint", "handoff"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_round_trip_masks_phone_numbers(tracker_url, tickets, tmp_path, fmt):
    messages = read_messages(tracker_engine(tracker_url))
    paths = export(messages, read_tickets(tickets), tmp_path, fmt)
    back = read_exported_messages(paths["messages"])
    assert back == [masked_message(m) for m in messages]
    written = paths["messages"].read_text(encoding="utf-8-sig") + paths["tickets"].read_text(encoding="utf-8-sig")
    assert "13812345678" not in written and "139-1234-5678" not in written
    assert "138****5678" in written and "139****5678" in written
    phone_row = next(m for m in back if m.entities and m.entities[0]["entity"] == "phone_number")
    assert phone_row.text == "138****5678" and phone_row.entities[0]["value"] == "138****5678"
    assert [m.voice for m in back] == [s.voice for s in CONVERSATIONS]


def test_export_unmasked_keeps_phone_numbers(tracker_url, tickets, tmp_path):
    paths = export(read_messages(tracker_engine(tracker_url)), read_tickets(tickets), tmp_path, "jsonl", mask=False)
    rows = [json.loads(line) for line in paths["tickets"].read_text(encoding="utf-8").splitlines()]
    assert {r["phone"] for r in rows} == {"13812345678", None}


def test_export_refuses_an_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="unsupported"):
        export([], [], tmp_path, "xlsx")


def test_cli_exports_a_period(tracker_url, tickets, tmp_path, capsys):
    assert (
        main(
            [
                "export",
                "--tracker-url",
                tracker_url,
                "--database-url",
                tickets.url.render_as_string(hide_password=False),
                "--since",
                "2026-11-21",
                "--out",
                str(tmp_path),
                "--format",
                "jsonl",
            ]
        )
        == 0
    )
    lines = (tmp_path / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == sum(s.time == DAY_2 for s in CONVERSATIONS)
    assert "4 messages" in capsys.readouterr().out


def test_cli_rejects_a_malformed_date(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--since", "27.11.2026"])
    assert exit_.value.code == 2 and "not a date" in capsys.readouterr().err


def test_desk_replies_are_read_and_exported_masked(tmp_path):
    import asyncio

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import BotUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    at = DAY_2.timestamp()
    events = [
        BotUttered("您好，我是智音客服", timestamp=at),
        BotUttered("客服小王已加入对话", metadata={"desk": "joined", "agent": "小王"}, timestamp=at + 1),
        BotUttered("请拨 13812345678 联系师傅", metadata={"desk": "reply", "agent": "小王"}, timestamp=at + 2),
    ]
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"))
    asyncio.run(store.save(DialogueStateTracker.from_events("dave", events)))
    store.engine.dispose()

    [reply] = read_agent_replies(tracker_engine(f"sqlite:///{tmp_path / 'tracker.db'}"))
    assert (reply.sender, reply.agent, reply.text) == ("dave", "小王", "请拨 13812345678 联系师傅")
    paths = export([], [], tmp_path / "out", "csv", replies=[reply])
    written = paths["agent_replies"].read_text(encoding="utf-8-sig")
    assert "138****5678" in written and "13812345678" not in written and "小王" in written
