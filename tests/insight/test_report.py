"""The HTML report: renders, its charts are real PNGs, its numbers are the databases' numbers."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import create_engine, func, select, text

from insight.__main__ import main
from insight.conversations import Period, read_messages, read_tickets
from insight.extraction import Catalog
from insight.report import build_report
from zhiyin import db
from zhiyin.db import Ticket
from zhiyin.tracker_events import event_data, tracker_engine


@pytest.fixture
def catalog(database):
    with db.session_scope(database) as session:
        return Catalog.from_session(session)


@pytest.fixture
def report(tracker_url, tickets, catalog, tmp_path):
    out = tmp_path / "report"
    return out, build_report(read_messages(tracker_engine(tracker_url)), read_tickets(tickets), catalog, out)


def test_key_numbers_match_the_databases(report, tracker_url, tickets):
    out, _ = report
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    with create_engine(tracker_url).connect() as connection:
        user_events = connection.execute(text("SELECT count(*) FROM events WHERE type_name = 'user'")).scalar()
        senders = connection.execute(
            text("SELECT count(DISTINCT sender_id) FROM events WHERE type_name = 'user'")
        ).scalar()
        fallbacks = connection.execute(text("SELECT count(*) FROM events WHERE intent_name = 'nlu_fallback'")).scalar()
        channels = Counter(
            event_data(d)["input_channel"]
            for (d,) in connection.execute(text("SELECT data FROM events WHERE type_name = 'user'"))
        )
    with db.session_scope(tickets) as session:
        per_kind = dict(session.execute(select(Ticket.kind, func.count()).group_by(Ticket.kind)).all())
        closed = session.scalar(select(func.count()).where(Ticket.status == "closed"))
    assert summary["messages"] == user_events == 7
    assert summary["conversations"] == senders == 3
    assert summary["fallback_messages"] == fallbacks == 1
    assert summary["fallback_rate"] == round(fallbacks / user_events, 4)
    assert summary["voice_messages"] == 3
    assert summary["messages_per_channel"] == dict(channels)
    assert summary["tickets_per_kind"] == per_kind
    assert summary["ticket_status"]["handoff"] == {"closed": closed}
    # bob's complaint: iPhone15 from the order and the ticket, nothing else
    assert summary["complaints_per_product"] == {"iPhone15": 1}
    assert summary["complaints_per_company"] == {"苹果": 1}


def test_html_shows_the_numbers_and_charts_that_exist(report):
    out, result = report
    html = (out / "index.html").read_text(encoding="utf-8")
    assert '<div class="card" id="messages"><b>7</b>' in html
    assert '<div class="card" id="fallback"><b>14.3%</b>' in html
    for name in (
        "messages_per_day",
        "intents",
        "fallback_rate",
        "top_words",
        "complaints_per_product",
        "complaints_per_company",
        "ticket_status",
    ):
        assert f'src="{name}.png"' in html
    assert set(result.charts.values()) == {p.name for p in out.glob("*.png")}


def test_charts_are_valid_png_images(report):
    out, _ = report
    pngs = list(out.glob("*.png"))
    assert len(pngs) == 7
    for png in pngs:
        with Image.open(png) as image:
            image.verify()
            assert image.format == "PNG" and image.size[0] > 300


def test_customer_text_is_escaped_and_phones_masked(report):
    out, _ = report
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "13812345678" not in html and "139-1234-5678" not in html
    assert "138****5678" in html


def test_keywords_per_intent_and_ticket_kind(report):
    _, result = report
    assert set(result.intent_keywords) == {
        "greet",
        "ask_price",
        "nlu_fallback",
        "file_complaint",
        "inform",
        "out_of_scope",
    }
    assert set(result.ticket_keywords) == {"complaint", "suggestion", "handoff"}
    assert result.ticket_keywords["complaint"].frequencies == [("屏幕", 1), ("划痕", 1)]


def test_too_few_complaints_for_topics_is_said_not_hidden(report):
    out, result = report
    assert result.topics is None
    assert "不足以建立主题模型" in (out / "index.html").read_text(encoding="utf-8")


def test_an_empty_period_still_renders(tracker_url, tickets, catalog, tmp_path):
    period = Period(since=date(2030, 1, 1))
    out = tmp_path / "empty"
    result = build_report(
        read_messages(tracker_engine(tracker_url), period), read_tickets(tickets, period), catalog, out, period
    )
    assert result.summary["messages"] == 0 and result.charts == {}
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "该时间范围内没有对话和工单" in html and "2030-01-01" in html


def test_cli_report_for_a_period(tracker_url, tickets, tmp_path, capsys):
    out = tmp_path / "cli"
    url = tickets.url.render_as_string(hide_password=False)
    assert (
        main(
            ["report", "--tracker-url", tracker_url, "--database-url", url, "--since", "2026-11-21", "--out", str(out)]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["messages"] == 4 and summary["tickets"] == 2
    assert "4 messages in 2 conversations" in capsys.readouterr().out


def test_charts_of_an_earlier_report_do_not_linger(report, tracker_url, tickets, catalog):
    out, _ = report
    period = Period(since=date(2030, 1, 1))
    build_report(
        read_messages(tracker_engine(tracker_url), period), read_tickets(tickets, period), catalog, out, period
    )
    assert list(out.glob("*.png")) == []
