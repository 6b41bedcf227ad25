"""Who may see an order: a conversation that proved it is the order's customer.

Order numbers are a date and four digits, so anyone could try them one after another. An
order's details, and every request that changes it, are therefore only for a conversation
that gave the last four digits of the order's phone number, or that carries a customer token
(a JWT the shop's own site signs for a signed-in customer, checked against a shared secret)
whose phone number is the order's. An unknown order and a wrong number get the same answer,
so a guess learns nothing; wrong answers are counted per conversation and per client address,
and past the limit even a right answer is refused for a while.
"""

from __future__ import annotations

import enum
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, Mapping, Optional

import jwt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhiyin.db import Order, OrderVerification, VerificationFailure
from zhiyin.services.orders import get_order
from zhiyin.services.tickets import extract_phone
from zhiyin.settings import customer_token_secret
from zhiyin.text import normalize

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)  # failures older than this no longer count
VERIFIED_FOR = timedelta(hours=12)  # a verification lasts this long in a conversation
_TAIL = re.compile(r"(?<!\d)(\d{4})(?!\d)")


class Outcome(enum.Enum):
    VERIFIED = "verified"
    MISMATCH = "mismatch"  # unknown order or wrong digits: the customer cannot tell which
    LOCKED = "locked"  # too many wrong answers: refused without checking


@dataclass(frozen=True)
class Limits:
    per_conversation: int
    per_address: int


def limits() -> Limits:
    """Wrong answers allowed per hour (``VERIFY_MAX_FAILURES``, default 5 per conversation;
    ``VERIFY_MAX_FAILURES_PER_ADDRESS``, default 20 per client address)."""
    return Limits(
        int(os.environ.get("VERIFY_MAX_FAILURES") or 5),
        int(os.environ.get("VERIFY_MAX_FAILURES_PER_ADDRESS") or 20),
    )


@dataclass(frozen=True)
class Customer:
    """A customer the shop's site vouches for (the claims of a valid customer token)."""

    customer_id: str
    phone: str


def phone_tail(text: Optional[str]) -> Optional[str]:
    """The four digits a customer answers: "5678", "尾号5678", or a whole mobile number."""
    text = normalize(text or "")
    phone = extract_phone(text)
    if phone:
        return phone[-4:]
    found = _TAIL.findall(text)
    return found[-1] if len(found) == 1 else None


def customer_from_token(token: Any, now: Optional[datetime] = None) -> Optional[Customer]:
    """The customer a token signed by the shop's site names (HS256 JWT with `sub`, `phone`
    and `exp`), or None: no secret configured, a bad signature, expired, or malformed."""
    secret = customer_token_secret()
    if not secret or not isinstance(token, str) or not token:
        return None
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["exp", "sub", "phone"]}, leeway=30
        )
    except jwt.PyJWTError as error:
        logger.warning("customer token refused: %s", error)
        return None
    phone = extract_phone(str(claims.get("phone") or ""))
    if phone is None:
        logger.warning("customer token refused: no valid phone number in it")
        return None
    return Customer(str(claims["sub"]), phone)


def is_verified(
    session: Session,
    sender: str,
    order: Order,
    customer: Optional[Customer] = None,
    now: Optional[datetime] = None,
    channel: str = "",
) -> bool:
    """Whether this conversation (a sender on a channel) may see and change `order`."""
    if customer is not None and customer.phone == order.phone:
        return True
    since = (now or datetime.now()) - VERIFIED_FOR
    query = select(OrderVerification.id).where(
        OrderVerification.sender == sender,
        OrderVerification.channel == channel,
        OrderVerification.order_id == order.order_id,
        OrderVerification.at >= since,
    )
    return session.scalars(query.limit(1)).first() is not None


def verified_order(
    session: Session, sender: str, order_id: Optional[str], customer: Optional[Customer] = None, channel: str = ""
) -> Optional[Order]:
    """The order if it exists and this conversation may see it, else None (the two cases are
    not told apart)."""
    order = get_order(session, order_id) if order_id else None
    if order is None or not is_verified(session, sender, order, customer, channel=channel):
        return None
    return order


def failures(session: Session, sender: str, address: Optional[str], now: datetime) -> Dict[str, int]:
    since = now - WINDOW
    recent = select(func.count(VerificationFailure.id)).where(VerificationFailure.at >= since)
    counts = {"conversation": session.scalar(recent.where(VerificationFailure.sender == sender)) or 0}
    counts["address"] = session.scalar(recent.where(VerificationFailure.address == address)) or 0 if address else 0
    return counts


def is_locked(session: Session, sender: str, address: Optional[str], now: Optional[datetime] = None) -> bool:
    counts = failures(session, sender, address, now or datetime.now())
    allowed = limits()
    return counts["conversation"] >= allowed.per_conversation or counts["address"] >= allowed.per_address


def check(
    session: Session,
    sender: str,
    order_id: str,
    answer: Optional[str],
    address: Optional[str] = None,
    now: Optional[datetime] = None,
    channel: str = "",
) -> Outcome:
    """Check the digits a conversation gave for an order; remembers a success, counts a failure."""
    now = now or datetime.now()
    if is_locked(session, sender, address, now):
        logger.warning("order verification refused: too many failures (sender %s, address %s)", sender, address)
        return Outcome.LOCKED
    order = get_order(session, order_id)
    tail = phone_tail(answer)
    if order is not None and tail is not None and order.phone.endswith(tail):
        session.add(OrderVerification(sender=sender, channel=channel, order_id=order_id, at=now))
        return Outcome.VERIFIED
    session.add(VerificationFailure(sender=sender, address=(address or None) and address[:64], at=now))
    logger.info("order verification failed (sender %s, address %s)", sender, address)
    return Outcome.MISMATCH


def client_address(metadata: Optional[Mapping[str, Any]]) -> Optional[str]:
    """The client address the channel recorded with a message (REST, voice, socket.io)."""
    value = (metadata or {}).get("client_address")
    return str(value) if value else None
