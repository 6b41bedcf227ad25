"""Invoices: the two kinds the shop issues, checking what a customer gives for one, the requests."""

from __future__ import annotations

import re
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhiyin.db import InvoiceRequest, Order
from zhiyin.services import orders
from zhiyin.services.refusal import RequestRefused
from zhiyin.text import normalize

NORMAL, SPECIAL = "normal", "special"
KIND_NAMES = {NORMAL: "电子普通发票", SPECIAL: "增值税专用发票"}
PERSONAL_TITLE = "个人"
PENDING, ISSUED = "开票中", "已开具"
MAX_TITLE_CHARS = 100

# 统一社会信用代码 (GB 32100-2015): 18 characters from this alphabet, the last a check character.
_CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PERSONAL = re.compile(r"^(个人|本人|自己|个人抬头|我自己|私人)$")


def parse_kind(text: Optional[str]) -> Optional[str]:
    """special for 专票 / 增值税专用发票, normal for 普票 / 电子发票 / 普通发票; None when unclear."""
    compact = normalize(text or "")
    if re.search(r"专票|专用|增值税专|special", compact):
        return SPECIAL
    if re.search(r"普票|普通|电子|个人|normal", compact):
        return NORMAL
    return None


def credit_code_check_character(first17: str) -> Optional[str]:
    """The check character the first 17 characters of a credit code call for (None if invalid)."""
    if len(first17) != 17 or any(c not in _CREDIT_CODE_ALPHABET for c in first17):
        return None
    total = sum(_CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True))
    return _CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def extract_credit_code(text: Optional[str]) -> Optional[str]:
    """The valid 统一社会信用代码 in a message (any case, spaces allowed), or None."""
    compact = normalize(text or "").upper()
    for candidate in re.findall(r"[0-9A-Z]{18}", compact):
        if credit_code_check_character(candidate[:17]) == candidate[17]:
            return candidate
    return None


def extract_email(text: Optional[str]) -> Optional[str]:
    match = _EMAIL.search(normalize(text or ""))
    return match.group(0) if match else None


def clean_title(text: Optional[str]) -> Optional[str]:
    """个人 for a personal invoice, else the company name as given; None for an empty or overlong title."""
    title = re.sub(r"^(抬头|发票抬头)[是为:：]?", "", (text or "").strip()).strip(" 。.，,")
    if not title or len(title) > MAX_TITLE_CHARS:
        return None
    return PERSONAL_TITLE if _PERSONAL.match(title) else title


def needs_credit_code(kind: Optional[str], title: Optional[str]) -> bool:
    """A company title needs its credit code; a 专票 is for companies only."""
    return kind == SPECIAL or (title is not None and title != PERSONAL_TITLE)


def latest_request(session: Session, order: Order) -> Optional[InvoiceRequest]:
    query = (
        select(InvoiceRequest)
        .where(InvoiceRequest.order_id == order.order_id)
        .order_by(InvoiceRequest.created_at.desc(), InvoiceRequest.id.desc())
    )
    return session.scalars(query).first()


def request_invoice(
    session: Session,
    order: Order,
    *,
    kind: str,
    title: str,
    email: str,
    tax_id: Optional[str] = None,
    channel: Optional[str] = None,
    sender: Optional[str] = None,
) -> InvoiceRequest:
    """Record an invoice request for an order; RequestRefused when it cannot be issued as asked."""
    if order.status == orders.CANCELLED:
        raise RequestRefused("cancelled")
    if kind not in KIND_NAMES:
        raise RequestRefused("kind")
    if kind == SPECIAL and title == PERSONAL_TITLE:
        raise RequestRefused("special_needs_company")
    if needs_credit_code(kind, title) and not (tax_id and extract_credit_code(tax_id) == tax_id):
        raise RequestRefused("credit_code")
    if not extract_email(email):
        raise RequestRefused("email")
    request = InvoiceRequest(
        order_id=order.order_id,
        kind=kind,
        title=title,
        tax_id=tax_id if needs_credit_code(kind, title) else None,
        email=email,
        status=PENDING,
        channel=channel,
        sender=sender,
    )
    session.add(request)
    session.flush()
    orders.record_action(session, order, "invoice", f"{kind} {title}", channel=channel, sender=sender)
    return request
