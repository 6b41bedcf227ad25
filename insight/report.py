"""The insight report: key numbers, charts, keywords, topics and complaint targets, as HTML.

``build_report`` reads the tracker store and the ticket database for a period and writes
``index.html``, its PNG charts and ``summary.json`` (the key numbers, for scripts and tests)
into one folder that can be opened or shared as is.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import jinja2

from insight import charts
from insight.cleaning import tokens
from insight.conversations import Message, Period, TicketRecord
from insight.extraction import Catalog, Mentions, ticket_mentions
from insight.keywords import Keywords, keywords_by_group, word_frequencies
from insight.topics import TopicModel, fit_topics
from zhiyin.services.tickets import mask_phones_in

TEMPLATE = Path(__file__).parent / "resources" / "report.html.j2"
TOPIC_KINDS = ("complaint", "suggestion")
TOP_WORDS = 20
TOP_TARGETS = 10
CHART_NAMES = (
    "messages_per_day",
    "fallback_rate",
    "intents",
    "top_words",
    "complaints_per_product",
    "complaints_per_company",
    "ticket_status",
    "topics",
)


@dataclass
class Report:
    period: Period
    messages: List[Message]
    tickets: List[TicketRecord]
    summary: Dict[str, Any]
    charts: Dict[str, str] = field(default_factory=dict)
    intent_keywords: Dict[str, Keywords] = field(default_factory=dict)
    ticket_keywords: Dict[str, Keywords] = field(default_factory=dict)
    topics: Optional[TopicModel] = None
    # Ticket number -> index of its dominant topic (complaints and suggestions with words).
    dominant_topic: Dict[str, int] = field(default_factory=dict)
    mentions: Dict[str, Mentions] = field(default_factory=dict)
    source: str = ""

    def topic_of(self, number: str) -> str:
        """Name of a ticket's dominant topic, or "" (not a complaint or suggestion, or no words)."""
        index = self.dominant_topic.get(number)
        return self.topics.topics[index].name if index is not None and self.topics else ""


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def summarize(
    messages: Sequence[Message], tickets: Sequence[TicketRecord], mentions: Dict[str, Mentions]
) -> Dict[str, Any]:
    """The key numbers, straight from the rows (the tests compare them with the databases)."""
    fallback = sum(m.is_fallback for m in messages)
    complaints = [t for t in tickets if t.kind == "complaint"]
    per_product = Counter(p for t in complaints for p in mentions[t.number].products)
    per_company = Counter(c for t in complaints for c in mentions[t.number].companies)
    status: Dict[str, Counter] = defaultdict(Counter)
    for t in tickets:
        status[t.kind][t.status] += 1
    return {
        "messages": len(messages),
        "conversations": len({m.sender for m in messages}),
        "voice_messages": sum(m.voice for m in messages),
        "messages_per_channel": dict(Counter(m.channel for m in messages).most_common()),
        "intents": dict(Counter(m.intent or "?" for m in messages).most_common()),
        "fallback_messages": fallback,
        "fallback_rate": _rate(fallback, len(messages)),
        "tickets": len(tickets),
        "tickets_per_kind": dict(Counter(t.kind for t in tickets).most_common()),
        "ticket_status": {kind: dict(counts) for kind, counts in sorted(status.items())},
        "complaints_per_product": dict(per_product.most_common()),
        "complaints_per_company": dict(per_company.most_common()),
        "first_message": min((m.time for m in messages), default=None),
        "last_message": max((m.time for m in messages), default=None),
    }


def _days(messages: Sequence[Message]) -> List[str]:
    return sorted({m.time.date().isoformat() for m in messages})


def draw_charts(report: Report, out_dir: Path) -> Dict[str, str]:
    """PNG charts in out_dir; returns chart name -> file name (only charts with data)."""
    s, made = report.summary, {}

    def keep(name: str, path: Path) -> None:
        made[name] = path.name

    messages = report.messages
    if messages:
        days = _days(messages)
        per_day: Dict[str, Counter] = defaultdict(Counter)
        totals: Counter = Counter()
        fallback_per_day: Counter = Counter()
        for m in messages:
            day = m.time.date().isoformat()
            per_day[m.channel][day] += 1
            totals[day] += 1
            fallback_per_day[day] += m.is_fallback
        series = {channel: [per_day[channel][d] for d in days] for channel in s["messages_per_channel"]}
        keep(
            "messages_per_day",
            charts.stacked_bars(days, series, "每日消息数（按渠道）", out_dir / "messages_per_day.png", "消息数"),
        )
        keep(
            "fallback_rate",
            charts.line_chart(
                days,
                [fallback_per_day[d] / totals[d] for d in days],
                "每日兜底率（未识别意图的消息占比）",
                out_dir / "fallback_rate.png",
                "兜底率",
            ),
        )
        intents = s["intents"]
        keep(
            "intents",
            charts.bar_chart(list(intents), list(intents.values()), "意图分布", out_dir / "intents.png", "消息数"),
        )
        words = word_frequencies((m.text for m in messages), TOP_WORDS)
        if words:
            keep(
                "top_words",
                charts.bar_chart(
                    [w for w, _ in words],
                    [n for _, n in words],
                    "高频词（全部消息）",
                    out_dir / "top_words.png",
                    "次数",
                ),
            )
    for name, title in (("complaints_per_product", "投诉最多的产品"), ("complaints_per_company", "投诉最多的品牌")):
        counts = list(s[name].items())[:TOP_TARGETS]
        if counts:
            keep(
                name,
                charts.bar_chart(
                    [k for k, _ in counts], [v for _, v in counts], title, out_dir / f"{name}.png", "投诉数"
                ),
            )
    if report.tickets:
        kinds = list(s["ticket_status"])
        statuses = sorted({status for counts in s["ticket_status"].values() for status in counts})
        series = {status: [s["ticket_status"][k].get(status, 0) for k in kinds] for status in statuses}
        keep(
            "ticket_status",
            charts.stacked_bars(kinds, series, "工单状态（按类型）", out_dir / "ticket_status.png", "工单数"),
        )
    if report.topics:
        topics = report.topics.topics
        keep(
            "topics",
            charts.bar_chart(
                [t.name for t in topics],
                [t.size for t in topics],
                "投诉与建议的主题（工单数）",
                out_dir / "topics.png",
                "工单数",
            ),
        )
    return made


def build_report(
    messages: List[Message],
    tickets: List[TicketRecord],
    catalog: Catalog,
    out_dir: Path,
    period: Optional[Period] = None,
    source: str = "",
) -> Report:
    """Analyse, draw and write the report into out_dir; returns what it computed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in CHART_NAMES:  # a chart without data this time must not linger from the last report
        (out_dir / f"{stale}.png").unlink(missing_ok=True)
    conversations: Dict[Tuple[Optional[str], Optional[str]], List[Message]] = defaultdict(list)
    for m in messages:
        conversations[(m.sender, m.channel)].append(m)
    mentions = {t.number: ticket_mentions(t, conversations.get((t.sender, t.channel), []), catalog) for t in tickets}
    report = Report(
        period or Period(), messages, tickets, summarize(messages, tickets, mentions), mentions=mentions, source=source
    )

    by_intent: Dict[str, List[str]] = defaultdict(list)
    for m in messages:
        by_intent[m.intent or "?"].append(m.text)
    report.intent_keywords = keywords_by_group(by_intent)
    by_kind: Dict[str, List[str]] = defaultdict(list)
    for t in tickets:
        by_kind[t.kind].append(t.text)
    report.ticket_keywords = keywords_by_group(by_kind)

    topic_tickets = [t for t in tickets if t.kind in TOPIC_KINDS]
    texts = [mask_phones_in(t.text) for t in topic_tickets]
    report.topics = fit_topics([tokens(text) for text in texts], texts)
    if report.topics:
        report.dominant_topic = {
            t.number: d for t, d in zip(topic_tickets, report.topics.dominant, strict=True) if d is not None
        }

    report.charts = draw_charts(report, out_dir)
    summary = {**report.summary, "topics": _topic_summary(report)}
    (out_dir / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    (out_dir / "index.html").write_text(render(report), encoding="utf-8")
    return report


def _topic_summary(report: Report) -> Optional[Dict[str, Any]]:
    if not report.topics:
        return None
    return {
        "k": report.topics.k,
        "topics": [{"name": t.name, "words": t.words, "size": t.size} for t in report.topics.topics],
        "dominant": report.dominant_topic,
    }


def render(report: Report) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE.parent)),
        autoescape=True,  # customer text is untrusted: "<script>" must show as text
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["masked"] = mask_phones_in
    environment.filters["percent"] = lambda value: f"{value * 100:.1f}%"
    return environment.get_template(TEMPLATE.name).render(
        r=report, s=report.summary, generated=datetime.now().replace(microsecond=0)
    )
