"""Tickets: complaints, suggestions, handoff and call-back requests a person on the team follows up."""

from __future__ import annotations

import re
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhiyin.db import Ticket
from zhiyin.text import normalize

TICKET_KINDS = ("complaint", "suggestion", "handoff", "callback")
# Mainland mobile numbers: 11 digits, 1 then 3-9; +86 / 86 prefixes and separators allowed.
_PHONE = re.compile(r"(?<!\d)(?:\+?86)?(1[3-9]\d{9})(?!\d)")
_PHONE_SEPARATORS = re.compile(r"[-‐－\s]")
# The same numbers as written in free text, separators and all ("+86 138-1234-5678").
_PHONE_IN_TEXT = re.compile(r"(?<![\d０-９])(?:\+?86[-‐－\s]?)?[1１][3-9３-９](?:[-‐－\s]?[\d０-９]){9}(?![\d０-９])")
# Words that ask for a complaint or suggestion without saying what it is about.
_GENERIC_REQUEST = re.compile(
    r"我|要|想|你们|您|好|请|帮|一下|一个|个|能|可以|吗|呢|啊|吧|了|的|有|提|给|"
    r"投诉|举报|反馈|建议|意见|客服|问题|订单号?|定单号?|\d+|[^\w]"
)
MIN_DESCRIPTION_CHARS = 2


class TicketError(ValueError):
    """A ticket that cannot be created as asked (bad kind or empty text)."""


def extract_phone(text: Optional[str]) -> Optional[str]:
    """The mainland mobile number in a message, digits only, or None."""
    compact = _PHONE_SEPARATORS.sub("", normalize(text or ""))
    match = _PHONE.search(compact)
    return match.group(1) if match else None


def mask_phone(phone: Optional[str]) -> str:
    """138****5678: enough for the customer to recognise, no more."""
    if not phone or len(phone) != 11:
        return phone or ""
    return f"{phone[:3]}****{phone[-4:]}"


def phones_in(text: Optional[str]) -> List[str]:
    """Every mainland mobile number written in a text, digits only, in order."""
    found = (extract_phone(match.group()) for match in _PHONE_IN_TEXT.finditer(text or ""))
    return [phone for phone in found if phone]


def mask_phones_in(text: Optional[str]) -> str:
    """The text with every mobile number in it masked like mask_phone, for exports and reports."""
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(extract_phone(m.group())), text or "")


def is_substantive(text: Optional[str]) -> bool:
    """Whether a message says what the problem or idea is, not just "我要投诉".

    Used to pre-fill a complaint or suggestion from the message that started it. A button
    payload such as "/file_complaint" says nothing either.
    """
    if (text or "").lstrip().startswith("/"):
        return False
    remainder = _GENERIC_REQUEST.sub("", normalize(text or ""))
    return len(remainder) >= MIN_DESCRIPTION_CHARS


def open_ticket_for(session: Session, kind: str, channel: Optional[str], sender: Optional[str]) -> Optional[Ticket]:
    """The customer's newest ticket of this kind that nobody has closed yet, if any."""
    query = (
        select(Ticket)
        .where(Ticket.kind == kind, Ticket.channel == channel, Ticket.sender == sender, Ticket.status == "open")
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def create_ticket(
    session: Session,
    kind: str,
    text: str,
    *,
    order_id: Optional[str] = None,
    product: Optional[str] = None,
    phone: Optional[str] = None,
    channel: Optional[str] = None,
    sender: Optional[str] = None,
) -> Ticket:
    """Store a ticket and return it with its id and number assigned."""
    if kind not in TICKET_KINDS:
        raise TicketError(f"unknown ticket kind {kind!r}; expected one of {TICKET_KINDS}")
    if not (text or "").strip():
        raise TicketError("a ticket needs a text")
    ticket = Ticket(
        kind=kind,
        text=text.strip(),
        order_id=order_id,
        product=product,
        phone=phone,
        channel=channel,
        sender=sender,
    )
    session.add(ticket)
    session.flush()
    return ticket
