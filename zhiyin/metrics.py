"""zhiyin's Prometheus metrics: one registry for the process, rendered at the Rasa server's
private /metrics (channels/metrics.py).

Core code, no Rasa: the adapters report what they observe through the functions below (the
metrics channel times every turn and counts fallbacks, asr_channel times speech recognition),
and the number of conversations waiting in the desk queue is read from the database when
Prometheus scrapes, so it is never stale and costs nothing between scrapes. Every Rasa replica
(and `make cluster` process) has its own registry; Prometheus scrapes each pod and sums.
"""

from __future__ import annotations

import logging
from typing import Iterable, Iterator, Optional, Tuple

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhiyin.db import Ticket, session_scope
from zhiyin.services import desk

logger = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()
# Memory, CPU and open files of this process (/proc): the pod's limits are set by them.
ProcessCollector(registry=REGISTRY)

# A text turn takes 50-300 ms; a turn with an action that waits on the database or a person's
# channel, seconds; ten seconds is a customer gone.
TURN_BUCKETS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
# Whisper base on CPU: a fraction of a second for a word, tens of seconds for a minute of audio
# (max_seconds in credentials.yml is 60).
ASR_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)
AUDIO_BUCKETS = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 45.0, 60.0)

# Where the assistant did not understand (channels/metrics.py tells them apart):
#   nlu             the FallbackClassifier found no intent confident enough (nlu_fallback)
#   knowledge_base  a knowledge-base question whose entry the ResponseSelector was unsure of
#                   (components/retrieval_gate.py turned it into nlu_fallback)
#   core            the intent was clear but no dialogue policy knew the next step (RulePolicy's
#                   core fallback, action_fallback)
FALLBACK_KINDS = ("nlu", "knowledge_base", "core")

TURN_SECONDS = Histogram(
    "zhiyin_turn_seconds",
    "From a customer's message reaching Rasa to the bot's answers being ready (waiting for the conversation's lock included).",
    ["channel"],
    buckets=TURN_BUCKETS,
    registry=REGISTRY,
)
TURNS = Counter("zhiyin_turns_total", "Customer messages handled, by channel.", ["channel"], registry=REGISTRY)
TURN_ERRORS = Counter(
    "zhiyin_turn_errors_total",
    "Customer messages whose turn ended in an exception (the customer got no or partial answers).",
    ["channel"],
    registry=REGISTRY,
)
FALLBACKS = Counter(
    "zhiyin_fallbacks_total",
    "Turns in which the assistant did not understand, by kind: nlu, knowledge_base, core.",
    ["kind"],
    registry=REGISTRY,
)
ASR_SECONDS = Histogram(
    "zhiyin_asr_seconds",
    "Speech recognition time per voice message (decoding and transcription, queueing excluded).",
    buckets=ASR_BUCKETS,
    registry=REGISTRY,
)
ASR_AUDIO_SECONDS = Histogram(
    "zhiyin_asr_audio_seconds",
    "Length of the recognised voice messages.",
    buckets=AUDIO_BUCKETS,
    registry=REGISTRY,
)
for _kind in FALLBACK_KINDS:  # every kind is a series from the start: rate() needs the zero
    FALLBACKS.labels(_kind)


def record_turn(channel: str, seconds: float, failed: bool = False) -> None:
    """One customer message handled on `channel` in `seconds`."""
    TURNS.labels(channel).inc()
    TURN_SECONDS.labels(channel).observe(seconds)
    if failed:
        TURN_ERRORS.labels(channel).inc()


def record_fallback(kind: str) -> None:
    """A turn in which the assistant did not understand (one of FALLBACK_KINDS)."""
    FALLBACKS.labels(kind).inc()


def record_recognition(seconds: float, audio_seconds: float) -> None:
    """One voice message recognised in `seconds`, `audio_seconds` long."""
    ASR_SECONDS.observe(seconds)
    ASR_AUDIO_SECONDS.observe(audio_seconds)


def waiting_handoffs(session: Session) -> int:
    """How many conversations wait for a person: what zhiyin.services.desk.waiting lists, counted
    in SQL (loading the tickets would decrypt every customer's words on each scrape)."""
    query = (
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.kind == desk.QUEUED_KIND, Ticket.status == "open", Ticket.sender.is_not(None))
    )
    return int(session.scalar(query) or 0)


class HandoffQueueCollector:
    """`zhiyin_handoffs_waiting`, read from the database on each scrape.

    A database that cannot be reached leaves the gauge out of that scrape (the other metrics are
    still served, and an absent series is what an alert on `absent()` looks for); the failure is
    logged once when it starts and once when it is over, not on every scrape.
    """

    NAME = "zhiyin_handoffs_waiting"
    DOCUMENTATION = "Conversations waiting in the desk queue for a person (read from the database at scrape time)."

    def __init__(self) -> None:
        self.failing = False

    def describe(self) -> Iterable[Metric]:
        # Registering calls describe(); without it the registry would collect(), i.e. query the
        # database, at import time.
        return [GaugeMetricFamily(self.NAME, self.DOCUMENTATION)]

    def collect(self) -> Iterator[Metric]:
        try:
            with session_scope() as session:
                count = waiting_handoffs(session)
        except Exception as error:  # any failure: a scrape must not fail for one gauge
            if not self.failing:
                logger.error("%s left out of /metrics: the database cannot be read: %s", self.NAME, error)
            self.failing = True
            return
        if self.failing:
            logger.info("%s: the database can be read again", self.NAME)
        self.failing = False
        yield GaugeMetricFamily(self.NAME, self.DOCUMENTATION, value=count)


REGISTRY.register(HandoffQueueCollector())


def exposition(accept: Optional[str]) -> Tuple[bytes, str]:
    """(body, content type) of the registry for a scraper's Accept header: the Prometheus text
    format 0.0.4 unless the scraper asks for OpenMetrics or text 1.0 (prometheus_client's own
    negotiation, as in its HTTP server). Reads the database (the handoff gauge): call it off the
    event loop."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(REGISTRY), content_type
