"""zhiyin insight: export, import, demo data and the report. ``python -m insight --help``."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path
from typing import List, Optional

from zhiyin.db import get_engine, session_scope
from zhiyin.paths import MODEL_PATH, VAR_DIR

DEFAULT_REPORT_DIR = VAR_DIR / "report"
DEFAULT_EXPORT_DIR = VAR_DIR / "insight" / "export"
DEFAULT_REVIEW_FILE = VAR_DIR / "insight" / "review" / "candidates.yml"
DEFAULT_MODEL = MODEL_PATH


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-27") from None


def _stores(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=_day, help="first day included (YYYY-MM-DD)")
    parser.add_argument("--until", type=_day, help="last day included (YYYY-MM-DD)")
    parser.add_argument("--tracker-url", help="SQLAlchemy URL of Rasa's tracker store (default: as endpoints.yml)")
    parser.add_argument("--database-url", help="SQLAlchemy URL of the ticket database (default: DATABASE_URL)")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m insight", description=__doc__.splitlines()[0])
    commands = main.add_subparsers(dest="command", required=True)

    export = commands.add_parser("export", help="messages and tickets to CSV or JSONL")
    _stores(export)
    export.add_argument("--out", type=Path, default=DEFAULT_EXPORT_DIR)
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--unmasked", action="store_true", help="keep phone numbers in full (personal data!)")

    consultations = commands.add_parser("import", help="historical consultations CSV -> candidate NLU YAML for review")
    consultations.add_argument("csv", type=Path, help="CSV with a 'text' column and optionally 'label'")
    consultations.add_argument("--out", type=Path, default=DEFAULT_REVIEW_FILE)
    consultations.add_argument("--model", type=Path, default=DEFAULT_MODEL)

    report = commands.add_parser("report", help="HTML report with charts")
    _stores(report)
    report.add_argument("--out", type=Path, default=DEFAULT_REPORT_DIR)
    demo_choice = report.add_mutually_exclusive_group()
    demo_choice.add_argument("--demo", action="store_true", help="generate demo data and report on it")
    demo_choice.add_argument(
        "--demo-if-empty", action="store_true", help="generate demo data when the stores hold no conversations"
    )

    demo = commands.add_parser("demo", help="scripted conversations through the real assistant into var/demo/")
    demo.add_argument("--out", type=Path, default=None)
    return main


def _read(args: argparse.Namespace):
    from insight.conversations import Period, read_messages, read_tickets
    from zhiyin.tracker_events import tracker_engine

    period = Period(args.since, args.until)
    engine = get_engine(args.database_url) if args.database_url else get_engine()
    return period, engine, read_messages(tracker_engine(args.tracker_url), period), read_tickets(engine, period)


def run_export(args: argparse.Namespace) -> int:
    from insight.conversations import read_agent_replies
    from insight.export import export
    from zhiyin.tracker_events import tracker_engine

    period, _, messages, tickets = _read(args)
    replies = read_agent_replies(tracker_engine(args.tracker_url), period)
    paths = export(messages, tickets, args.out, args.format, mask=not args.unmasked, replies=replies)
    print(
        f"{len(messages)} messages -> {paths['messages']}\n{len(tickets)} tickets -> {paths['tickets']}\n"
        f"{len(replies)} desk replies -> {paths['agent_replies']}"
    )
    if args.unmasked:
        print("phone numbers NOT masked: handle these files as personal data", file=sys.stderr)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from insight.candidates import ModelPredictor, import_consultations

    result = import_consultations(args.csv, args.out, ModelPredictor(args.model))
    print(
        f"{result.rows} rows: {len(result.candidates)} candidates in {result.clusters} clusters "
        f"({result.duplicates} duplicates, {result.already_trained} already in data/nlu, "
        f"{result.skipped_empty} empty) -> {args.out}\nReview it, then move accepted examples into data/nlu/."
    )
    if result.unknown_labels:
        print(f"labels that are not intents of domain.yml: {dict(result.unknown_labels)}", file=sys.stderr)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from insight.demo import DEMO_DIR, generate

    stores = generate(args.out or DEMO_DIR)
    print(f"demo data: database {stores.database_url}, tracker store {stores.tracker_db}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from insight.extraction import Catalog
    from insight.report import build_report

    source = "对话存储与工单数据库"
    period, engine, messages, tickets = (None, None, [], []) if args.demo else _read(args)
    if args.demo or (args.demo_if_empty and not messages):
        from insight.demo import generate

        if not args.demo:
            print("no conversations in the tracker store: generating demo data (var/demo/)", flush=True)
        stores = generate()
        args.tracker_url, args.database_url = f"sqlite:///{stores.tracker_db}", stores.database_url
        period, engine, messages, tickets = _read(args)
        source = "演示数据（脚本化客户与真实助手的对话）"
    with session_scope(engine) as session:
        catalog = Catalog.from_session(session)
    report = build_report(messages, tickets, catalog, args.out, period, source)
    s = report.summary
    print(
        f"report: {args.out / 'index.html'}\n"
        f"  {s['messages']} messages in {s['conversations']} conversations, {s['voice_messages']} voice, "
        f"fallback rate {s['fallback_rate']:.1%}, {s['tickets']} tickets"
        + (f", {report.topics.k} topics" if report.topics else "")
    )
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    from insight.candidates import ConsultationFileError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("rasa", "tensorflow", "absl", "matplotlib", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    try:
        return {"export": run_export, "import": run_import, "report": run_report, "demo": run_demo}[args.command](args)
    except (ConsultationFileError, FileNotFoundError) as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
