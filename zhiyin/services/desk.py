"""The support desk's workflow: the queue of conversations waiting for a person, taking one
over, answering, handing back, closing, the ticket workflow and the team's figures.

Only the database is touched here; the desk adapter (desk/) tells Rasa and the customer's
channel. Every change a person (or the system) makes to a ticket is kept in its history.
"""

from __future__ import annotations

import logging
import re
import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Dict, List, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from zhiyin import staff as accounts
from zhiyin.crypto import lookup_hash
from zhiyin.db import AgentMessage, Staff, Ticket, TicketChange, TicketNote, session_scope
from zhiyin.services.tickets import TICKET_KINDS
from zhiyin.settings import desk_hours, desk_timezone

logger = logging.getLogger(__name__)

STATUSES = ("open", "in_progress", "resolved", "closed")
# Which status may follow which; closed tickets can be reopened.
TRANSITIONS = {
    "open": {"in_progress", "resolved", "closed"},
    "in_progress": {"open", "resolved", "closed"},
    "resolved": {"open", "in_progress", "closed"},
    "closed": {"open"},
}
QUEUED_KIND = "handoff"  # conversations waiting for a person now
# Tickets whose conversation a person can take over: handoffs, and call-backs a person answers
# in the chat the customer left (when there is no phone number to call).
LIVE_KINDS = ("handoff", "callback")
MAX_REPLY_CHARS = 4000
MAX_NOTE_CHARS = 4000
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~]\s*(\d{1,2}):(\d{2})\s*$")


class DeskError(ValueError):
    """A desk request that cannot be done; `status` is the HTTP status that says why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class ServiceHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> ServiceHours:
        match = _HOURS.match(text or "")
        if not match:
            raise ValueError(f"service hours must look like 09:00-21:00, not {text!r}")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        return cls(time(h1, m1), time(23, 59, 59) if (h2, m2) == (24, 0) else time(h2, m2))

    def covers(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # past midnight, e.g. 20:00-02:00

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


def configured_hours() -> ServiceHours:
    """The service hours of the settings (DESK_HOURS); ValueError if they cannot be read."""
    return ServiceHours.parse(desk_hours())


def local_time() -> time:
    """The time of day in the shop's time zone (DESK_TIMEZONE)."""
    return datetime.now(ZoneInfo(desk_timezone())).time()


PRESENCE = timedelta(minutes=2)  # a desk page open keeps its session in use every second


def staffing(session: Session, hours: ServiceHours, local_time: time, now: datetime) -> str:
    """Whether a person can answer now: "open", "after_hours" or "nobody" (no one signed in to
    the desk with it open)."""
    if not hours.covers(local_time):
        return "after_hours"
    if accounts.online_count(session, now, PRESENCE) == 0:
        return "nobody"
    return "open"


# ---- the live queue ----------------------------------------------------------------------


def waiting(session: Session) -> List[Ticket]:
    """Conversations waiting for a person, oldest first."""
    query = (
        select(Ticket)
        .where(Ticket.kind == QUEUED_KIND, Ticket.status == "open", Ticket.sender.is_not(None))
        .order_by(Ticket.created_at, Ticket.id)
    )
    return list(session.scalars(query))


def held(session: Session) -> List[Ticket]:
    """Conversations a person has taken over and not yet handed back or closed."""
    query = (
        select(Ticket)
        .where(Ticket.kind.in_(LIVE_KINDS), Ticket.status == "in_progress", Ticket.claimed_at.is_not(None))
        .order_by(Ticket.claimed_at)
    )
    return list(session.scalars(query))


def is_held(ticket: Ticket) -> bool:
    return ticket.kind in LIVE_KINDS and ticket.status == "in_progress" and ticket.claimed_at is not None


def queue_position(session: Session, ticket: Ticket) -> int:
    """1 for the conversation a person will take next."""
    return next((index for index, other in enumerate(waiting(session), 1) if other.id == ticket.id), 0)


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id) if 0 < ticket_id < 2**31 else None
    if ticket is None:
        raise DeskError(404, "没有这个工单 / no such ticket")
    return ticket


def _change(
    session: Session, ticket: Ticket, actor: Optional[Staff], field: str, old: object, new: object, now: datetime
) -> None:
    session.add(
        TicketChange(
            ticket_id=ticket.id,
            actor_id=actor.id if actor else None,
            field=field,
            old=None if old is None else str(old)[:128],
            new=None if new is None else str(new)[:128],
            at=now,
        )
    )
    ticket.updated_at = now


def _set(session: Session, ticket: Ticket, actor: Optional[Staff], field: str, value: object, now: datetime) -> None:
    old = getattr(ticket, field)
    if old == value:
        return
    setattr(ticket, field, value)
    if field == "assignee_id":
        ticket.assignee = session.get(Staff, value) if value is not None else None
        old_name = session.get(Staff, old).username if old is not None else None
        new_name = ticket.assignee.username if ticket.assignee else None
        _change(session, ticket, actor, "assignee", old_name, new_name, now)
    else:
        _change(session, ticket, actor, field, old, value, now)


def claim(session: Session, ticket: Ticket, staff: Staff, now: datetime) -> Ticket:
    """The agent takes the conversation over; 409 if a colleague holds it or it is over."""
    if ticket.kind not in LIVE_KINDS or not ticket.sender:
        raise DeskError(400, "这个工单没有可接入的对话 / this ticket has no live conversation")
    if is_held(ticket):
        if ticket.assignee_id == staff.id:
            return ticket
        raise DeskError(409, f"{holder_name(ticket)} 已经接入了这个对话 / already taken")
    if ticket.status != "open":
        raise DeskError(409, "对话已经结束 / this conversation is no longer waiting")
    if ticket.kind == "callback" and ticket.assignee_id not in (None, staff.id):
        raise DeskError(403, "这个回电工单由同事负责 / assigned to a colleague")
    # Conditional update: of two agents claiming at once, exactly one wins.
    won = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status == "open")
        .values(status="in_progress", assignee_id=staff.id, claimed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        raise DeskError(409, "对话刚被同事接入 / a colleague took it just now")
    session.refresh(ticket)
    _change(session, ticket, staff, "status", "open", "in_progress", now)
    _change(session, ticket, staff, "assignee", None, staff.username, now)
    return ticket


def release(session: Session, ticket: Ticket, now: datetime) -> Ticket:
    """Undo a claim the customer could not be told about: the conversation waits again."""
    holder = ticket.assignee
    ticket.status, ticket.assignee_id, ticket.assignee, ticket.claimed_at = "open", None, None, None
    _change(session, ticket, None, "status", "in_progress", "open", now)
    _change(session, ticket, None, "assignee", holder.username if holder else None, None, now)
    return ticket


def holder_name(ticket: Ticket) -> str:
    return ticket.assignee.display_name if ticket.assignee else "同事"


def require_holder(ticket: Ticket, staff: Staff) -> None:
    """DeskError unless `staff` holds this conversation now."""
    if not is_held(ticket):
        raise DeskError(409, "请先接入这个对话 / claim the conversation first")
    if ticket.assignee_id != staff.id:
        raise DeskError(403, f"这个对话由 {holder_name(ticket)} 接待 / held by a colleague")


def reply_text(ticket: Ticket, staff: Staff, text: str) -> str:
    """The reply as it will be sent, if `staff` may send it now (else DeskError)."""
    require_holder(ticket, staff)
    text = (text or "").strip()
    if not text:
        raise DeskError(400, "回复不能为空 / the reply is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise DeskError(413, f"回复过长（最多 {MAX_REPLY_CHARS} 字） / the reply is too long")
    return text


def record_reply(
    session: Session, ticket: Ticket, staff: Staff, text: str, now: datetime, delivered: bool
) -> AgentMessage:
    """Store the agent's answer; `delivered` is False for channels that collect it later (REST)."""
    message = AgentMessage(
        ticket_id=ticket.id,
        sender=ticket.sender,
        channel=ticket.channel,
        agent_id=staff.id,
        text=reply_text(ticket, staff, text),
        created_at=now,
        delivered_at=now if delivered else None,
    )
    session.add(message)
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    ticket.updated_at = now
    session.flush()
    return message


def hand_back(session: Session, ticket: Ticket, staff: Staff, now: datetime) -> Ticket:
    """The bot answers the conversation again; the handoff counts as resolved."""
    require_holder(ticket, staff)
    _set(session, ticket, staff, "status", "resolved", now)
    return ticket


def close(session: Session, ticket: Ticket, staff: Staff, now: datetime) -> Ticket:
    """The conversation is over: the ticket is closed and the customer asked for a rating."""
    require_holder(ticket, staff)
    _set(session, ticket, staff, "status", "closed", now)
    ticket.closed_at = now
    return ticket


@dataclass(frozen=True)
class ReturnedClaim:
    ticket_id: int
    channel: Optional[str]
    sender: str
    agent_name: str  # who held it
    position: int  # its place in the queue now


def expire_claims(session: Session, now: datetime, timeout: timedelta) -> List[ReturnedClaim]:
    """Held conversations without an agent reply for `timeout` go back to the queue (keeping
    their place: the queue is ordered by request time). Returned so that the customers can be
    told; safe to run on several servers at once (only one of them wins each ticket)."""
    returned = []
    for ticket in held(session):
        last_reply = session.scalar(
            select(func.max(AgentMessage.created_at)).where(
                AgentMessage.ticket_id == ticket.id, AgentMessage.agent_id.is_not(None)
            )
        )
        last_activity = max(filter(None, [ticket.claimed_at, last_reply]))
        if now - last_activity < timeout:
            continue
        won = session.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id, Ticket.status == "in_progress", Ticket.claimed_at == ticket.claimed_at)
            .values(status="open", assignee_id=None, claimed_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won:
            holder = ticket.assignee
            session.refresh(ticket)
            _change(session, ticket, None, "status", "in_progress", "open", now)
            _change(session, ticket, None, "assignee", holder.username if holder else None, None, now)
            returned.append((ticket, holder.display_name if holder else ""))
    return [ReturnedClaim(t.id, t.channel, t.sender, name, queue_position(session, t)) for t, name in returned]


def rate(
    session: Session, channel: Optional[str], sender: str, rating: int, now: Optional[datetime] = None
) -> Optional[Ticket]:
    """Store the customer's 1-5 rating on their latest closed, unrated handoff; None if none."""
    if not 1 <= rating <= 5:
        raise DeskError(400, "评分应为 1 到 5 / rating must be 1-5")
    query = (
        select(Ticket)
        .where(
            Ticket.kind.in_(LIVE_KINDS),
            Ticket.status == "closed",
            Ticket.rating.is_(None),
            Ticket.sender == sender,
            Ticket.channel == channel,
        )
        .order_by(Ticket.closed_at.desc(), Ticket.id.desc())
    )
    ticket = session.scalars(query).first()
    if ticket is not None:
        ticket.rating = rating
        _change(session, ticket, None, "rating", None, rating, now or datetime.now())
    return ticket


def undelivered(session: Session, channel: str, sender: str) -> List[AgentMessage]:
    """Desk messages for this conversation that the customer has not received yet (REST and
    voice clients collect them with their next call), marked delivered as they are handed over."""
    query = (
        select(AgentMessage)
        .where(AgentMessage.sender == sender, AgentMessage.channel == channel, AgentMessage.delivered_at.is_(None))
        .order_by(AgentMessage.id)
    )
    messages = list(session.scalars(query))
    now = datetime.now()
    for message in messages:
        message.delivered_at = now
    return messages


def take_undelivered(channel: str, sender: str) -> List[Dict[str, str]]:
    """undelivered() in its own transaction, as channel replies ({"recipient_id", "text"}).
    A database that cannot be reached costs the customer nothing but these messages (logged)."""
    try:
        with session_scope() as session:
            return [{"recipient_id": sender, "text": m.text} for m in undelivered(session, channel, sender)]
    except SQLAlchemyError:
        logger.exception("desk messages for %s not collected", sender)
        return []


# ---- tickets ------------------------------------------------------------------------------


def list_tickets(
    session: Session,
    kind: Optional[str] = None,
    status: Optional[str] = None,
    product: Optional[str] = None,
    since: Optional[date] = None,
    until: Optional[date] = None,
    limit: int = 500,
) -> List[Ticket]:
    """Newest first, filtered; an unknown kind or status is a 400, not an empty list."""
    query = select(Ticket)
    if kind:
        if kind not in TICKET_KINDS:
            raise DeskError(400, f"未知的工单类型 / unknown kind {kind!r}")
        query = query.where(Ticket.kind == kind)
    if status:
        if status not in STATUSES:
            raise DeskError(400, f"未知的工单状态 / unknown status {status!r}")
        query = query.where(Ticket.status == status)
    if product:
        query = query.where(Ticket.product.contains(product.strip()))
    if since:
        query = query.where(Ticket.created_at >= datetime.combine(since, time()))
    if until:
        if until >= date.max:
            until = date.max - timedelta(days=1)
        query = query.where(Ticket.created_at < datetime.combine(until + timedelta(days=1), time()))
    return list(session.scalars(query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)))


def update_ticket(
    session: Session,
    ticket: Ticket,
    staff: Staff,
    now: datetime,
    status: Optional[str] = None,
    assign: bool = False,
    assignee_id: Optional[int] = None,
) -> Ticket:
    """Change status and/or assignee. An agent works on unassigned tickets and their own: they
    may take an unassigned one or give up their own, but not assign colleagues; a lead may do
    anything. A live conversation changes through claim / hand back / close instead."""
    is_lead = staff.role == "lead"
    if not is_lead and ticket.assignee_id not in (None, staff.id):
        raise DeskError(403, "这个工单由同事负责，只有组长可以更改 / assigned to a colleague")
    if is_held(ticket) and (status is not None or assign):
        raise DeskError(409, "对话进行中：请用交还或结束 / use hand back or close on a live conversation")
    if ticket.kind in LIVE_KINDS and status == "in_progress" and ticket.sender:
        # In progress with a conversation means "a person holds it": only a claim does that.
        raise DeskError(409, "请在会话中接入 / take the conversation over to work on it")
    if assign:
        if assignee_id is not None:
            assignee = session.get(Staff, assignee_id)
            if assignee is None or not assignee.active:
                raise DeskError(400, "没有这个客服 / no such staff member")
        if not is_lead and assignee_id not in (None, staff.id):
            raise DeskError(403, "只有组长可以把工单分给别人 / only a lead assigns others")
        _set(session, ticket, staff, "assignee_id", assignee_id, now)
    if status is not None and status != ticket.status:
        if status not in STATUSES:
            raise DeskError(400, f"未知的工单状态 / unknown status {status!r}")
        if status not in TRANSITIONS[ticket.status]:
            raise DeskError(400, f"工单不能从 {ticket.status} 改为 {status} / not allowed")
        _set(session, ticket, staff, "status", status, now)
        if status == "closed":
            ticket.closed_at = now
    return ticket


def add_note(session: Session, ticket: Ticket, staff: Staff, text: str, now: datetime) -> TicketNote:
    text = (text or "").strip()
    if not text:
        raise DeskError(400, "备注不能为空 / the note is empty")
    if len(text) > MAX_NOTE_CHARS:
        raise DeskError(413, "备注过长 / the note is too long")
    note = TicketNote(ticket_id=ticket.id, author_id=staff.id, text=text, created_at=now)
    session.add(note)
    session.flush()
    return note


def notes(session: Session, ticket: Ticket) -> List[TicketNote]:
    return list(session.scalars(select(TicketNote).where(TicketNote.ticket_id == ticket.id).order_by(TicketNote.id)))


def history(session: Session, ticket: Ticket) -> List[TicketChange]:
    query = select(TicketChange).where(TicketChange.ticket_id == ticket.id).order_by(TicketChange.id)
    return list(session.scalars(query))


def reveal_phone(session: Session, ticket: Ticket, staff: Staff, now: datetime, phone: Optional[str]) -> str:
    """The customer's full number for `staff` (a lead, or an agent on an unassigned ticket or
    their own); every reveal is kept in the ticket's history."""
    if staff.role != "lead" and ticket.assignee_id not in (None, staff.id):
        raise DeskError(403, "这个工单由同事负责 / assigned to a colleague")
    if not phone:
        raise DeskError(404, "没有客户的手机号 / no phone number")
    _change(session, ticket, staff, "phone_viewed", None, staff.username, now)
    return phone


def customer_tickets(session: Session, ticket: Ticket, phone: Optional[str]) -> List[Ticket]:
    """The customer's other tickets: same conversation, or the same phone number."""
    same_customer = Ticket.sender == ticket.sender
    if phone:
        same_customer = same_customer | (Ticket.phone_hash == lookup_hash(phone))
    query = select(Ticket).where(same_customer, Ticket.id != ticket.id).order_by(Ticket.created_at.desc()).limit(20)
    return list(session.scalars(query))


def staff_list(session: Session) -> List[Staff]:
    return list(session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.id)))


def stats(session: Session) -> Dict[str, object]:
    """The team's figures for a lead."""
    live = list(session.scalars(select(Ticket).where(Ticket.kind.in_(LIVE_KINDS))))
    waits = [(t.claimed_at - t.created_at).total_seconds() for t in live if t.claimed_at]
    responses = [(t.first_response_at - t.created_at).total_seconds() for t in live if t.first_response_at]
    ratings = [t.rating for t in live if t.rating]
    counts = dict(session.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all())
    return {
        "waiting_now": len(waiting(session)),
        "median_wait_seconds": statistics.median(waits) if waits else None,
        "median_first_response_seconds": statistics.median(responses) if responses else None,
        "csat_average": round(statistics.mean(ratings), 2) if ratings else None,
        "csat_count": len(ratings),
        "tickets_by_status": {status: int(counts.get(status, 0)) for status in STATUSES},
    }
