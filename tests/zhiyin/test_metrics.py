"""zhiyin/metrics.py: the registry renders, and the desk queue gauge reads the real database
(SQLite and PostgreSQL) at scrape time and is left out, with the error logged, when it cannot."""

from __future__ import annotations

import logging
from datetime import datetime

from prometheus_client.parser import text_string_to_metric_families

from zhiyin import db, metrics
from zhiyin.services import desk, tickets


def scraped() -> dict:
    """Every sample of a scrape in the text format: name (with labels) -> value."""
    body, content_type = metrics.exposition(None)
    assert content_type.startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


WAITING = ("zhiyin_handoffs_waiting", ())


def test_the_registry_renders_every_metric(unreachable_database):
    metrics.record_turn("rest", 0.12)
    metrics.record_fallback("nlu")
    metrics.record_recognition(1.5, 4.0)
    body = metrics.exposition(None)[0].decode()
    for name in ("zhiyin_turn_seconds", "zhiyin_turns_total", "zhiyin_turn_errors_total", "zhiyin_fallbacks_total"):
        assert f"# TYPE {name} " in body
    for name in ("zhiyin_asr_seconds", "zhiyin_asr_audio_seconds", "process_resident_memory_bytes"):
        assert f"# TYPE {name} " in body
    samples = scraped()
    assert samples[("zhiyin_turns_total", (("channel", "rest"),))] >= 1
    assert samples[("zhiyin_turn_seconds_bucket", (("channel", "rest"), ("le", "0.2")))] >= 1
    assert samples[("zhiyin_asr_audio_seconds_count", ())] >= 1
    # Every kind of fallback is a series before the first one happens.
    assert {kind for (name, labels) in samples if name == "zhiyin_fallbacks_total" for _, kind in labels} == set(
        metrics.FALLBACK_KINDS
    )


def test_failed_turns_are_counted_apart(unreachable_database):
    before = metrics.REGISTRY.get_sample_value("zhiyin_turn_errors_total", {"channel": "slack"}) or 0
    metrics.record_turn("slack", 0.3, failed=True)
    assert metrics.REGISTRY.get_sample_value("zhiyin_turn_errors_total", {"channel": "slack"}) == before + 1


def test_waiting_handoffs_are_read_from_the_database_at_scrape_time(session):
    assert scraped()[WAITING] == len(desk.waiting(session))
    for sender in ("metrics-1", "metrics-2", "metrics-3"):
        tickets.create_ticket(session, "handoff", "转人工", channel="rest", sender=sender)
    # Not in the queue: a complaint, a handoff without a conversation, one a person took over.
    tickets.create_ticket(session, "complaint", "冰箱坏了", channel="rest", sender="metrics-4")
    tickets.create_ticket(session, "handoff", "请回电", channel="rest", sender=None)
    taken = tickets.create_ticket(session, "handoff", "转人工", channel="rest", sender="metrics-5")
    taken.status, taken.claimed_at = "in_progress", datetime.now()
    session.commit()
    assert len(desk.waiting(session)) == 3
    assert scraped()[WAITING] == 3


def test_without_a_database_the_gauge_is_left_out_and_the_error_logged_once(unreachable_database, caplog):
    with caplog.at_level(logging.INFO, logger="zhiyin.metrics"):
        first, second = scraped(), scraped()
    assert WAITING not in first and WAITING not in second
    assert ("zhiyin_fallbacks_total", (("kind", "core"),)) in first  # the rest is served
    failures = [r for r in caplog.records if r.levelno == logging.ERROR and "zhiyin_handoffs_waiting" in r.getMessage()]
    assert len(failures) == 1


def test_the_gauge_returns_with_the_database(monkeypatch, tmp_path, caplog, unreachable_database):
    collector = metrics.HandoffQueueCollector()
    assert list(collector.collect()) == [] and collector.failing
    url = f"sqlite:///{tmp_path / 'zhiyin.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    db.get_engine.cache_clear()
    db.Base.metadata.create_all(db.get_engine())
    with caplog.at_level(logging.INFO, logger="zhiyin.metrics"):
        [gauge] = list(collector.collect())
    assert gauge.name == "zhiyin_handoffs_waiting" and gauge.samples[0].value == 0
    assert not collector.failing and "can be read again" in caplog.text
    db.get_engine().dispose()
