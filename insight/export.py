"""Export conversations and tickets to CSV or JSON Lines, phone numbers masked by default.

One row per customer message (time, sender, channel, text, voice flag, intent, confidence,
entities), one per ticket and one per reply a person wrote from the desk. CSV opens in a spreadsheet (UTF-8 with BOM, so Excel shows
Chinese); JSONL keeps entities as lists for scripts. ``read_exported_messages`` reads either back.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Iterable, List, Sequence

from insight.conversations import AgentReply, Message, TicketRecord
from zhiyin.services.tickets import mask_phone, mask_phones_in

FORMATS = ("csv", "jsonl")
MESSAGE_FIELDS = [f.name for f in dataclasses.fields(Message)]
TICKET_FIELDS = [f.name for f in dataclasses.fields(TicketRecord)]
REPLY_FIELDS = [f.name for f in dataclasses.fields(AgentReply)]
PHONE_ENTITY = "phone_number"


def masked_message(message: Message) -> Message:
    """The message with every phone number in its text and entities masked."""
    entities = [{**e, "value": _masked_value(e)} for e in message.entities]
    return dataclasses.replace(message, text=mask_phones_in(message.text), entities=entities)


def _masked_value(entity: Dict[str, Any]) -> Any:
    value = entity.get("value")
    if entity.get("entity") == PHONE_ENTITY:
        return mask_phone(str(value))
    return mask_phones_in(value) if isinstance(value, str) else value


def masked_ticket(ticket: TicketRecord) -> TicketRecord:
    return dataclasses.replace(ticket, phone=mask_phone(ticket.phone) or None, text=mask_phones_in(ticket.text))


def _row(record: Any) -> Dict[str, Any]:
    row = dataclasses.asdict(record)
    for key, value in row.items():
        if isinstance(value, datetime):
            row[key] = value.isoformat(timespec="microseconds")
    return row


def write_records(records: Iterable[Any], fields: Sequence[str], path: Path) -> int:
    """Write dataclass records to ``path`` (.csv or .jsonl); returns how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [_row(r) for r in records]
    if path.suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif path.suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(fields))
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {k: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v for k, v in row.items()}
                )
    else:
        raise ValueError(f"unsupported export format {path.suffix!r}; use one of {FORMATS}")
    return len(rows)


def export(
    messages: List[Message],
    tickets: List[TicketRecord],
    out_dir: Path,
    fmt: str = "csv",
    mask: bool = True,
    replies: Sequence[AgentReply] = (),
) -> Dict[str, Path]:
    """messages, tickets and agent_replies .<fmt> in ``out_dir``; phone numbers masked unless
    mask=False."""
    if fmt not in FORMATS:
        raise ValueError(f"unsupported export format {fmt!r}; use one of {FORMATS}")
    if mask:
        messages = [masked_message(m) for m in messages]
        tickets = [masked_ticket(t) for t in tickets]
        replies = [dataclasses.replace(r, text=mask_phones_in(r.text)) for r in replies]
    paths = {
        "messages": out_dir / f"messages.{fmt}",
        "tickets": out_dir / f"tickets.{fmt}",
        "agent_replies": out_dir / f"agent_replies.{fmt}",
    }
    write_records(messages, MESSAGE_FIELDS, paths["messages"])
    write_records(tickets, TICKET_FIELDS, paths["tickets"])
    write_records(replies, REPLY_FIELDS, paths["agent_replies"])
    return paths


def read_exported_messages(path: Path) -> List[Message]:
    """Messages from an export written by ``export`` (CSV or JSONL)."""
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            row["entities"] = json.loads(row["entities"] or "[]")
            row["voice"] = row["voice"] == "True"
            row["confidence"] = float(row["confidence"]) if row["confidence"] else None
            row["intent"] = row["intent"] or None
    return [Message(**{**row, "time": datetime.fromisoformat(row["time"])}) for row in rows]
