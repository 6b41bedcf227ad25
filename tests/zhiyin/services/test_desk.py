"""The desk's workflow: queue, take over, answer, hand back, close, rate, time out, tickets."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from zhiyin import staff as accounts
from zhiyin.db import AgentMessage
from zhiyin.services import desk, tickets

T0 = datetime(2026, 11, 28, 10, 0)
PASSWORD = "correct horse 42"


@pytest.fixture
def team(session):
    return {
        "wang": accounts.add_staff(session, "wang", "小王", PASSWORD),
        "li": accounts.add_staff(session, "li", "小李", PASSWORD),
        "lead": accounts.add_staff(session, "zhao", "赵组长", PASSWORD, role="lead"),
    }


def handoff(session, sender, minutes_ago=0, channel="socketio", **fields):
    ticket = tickets.create_ticket(session, "handoff", "转人工", channel=channel, sender=sender, **fields)
    ticket.created_at = T0 - timedelta(minutes=minutes_ago)
    session.flush()
    return ticket


def test_the_queue_is_oldest_first_with_places(session):
    newer, older = handoff(session, "b", 1), handoff(session, "a", 5)
    tickets.create_ticket(session, "complaint", "冰箱坏了", channel="rest", sender="c")
    assert [t.sender for t in desk.waiting(session)] == ["a", "b"]
    assert (desk.queue_position(session, older), desk.queue_position(session, newer)) == (1, 2)


def test_claim_takes_the_conversation_out_of_the_queue(session, team):
    ticket = handoff(session, "a")
    desk.claim(session, ticket, team["wang"], T0)
    assert desk.is_held(ticket) and ticket.assignee is team["wang"] and ticket.claimed_at == T0
    assert desk.waiting(session) == [] and desk.held(session) == [ticket]
    assert [(c.field, c.new) for c in desk.history(session, ticket)] == [
        ("status", "in_progress"),
        ("assignee", "wang"),
    ]


def test_a_claim_the_customer_never_heard_of_is_released(session, team):
    ticket = desk.claim(session, handoff(session, "a"), team["wang"], T0)
    desk.release(session, ticket, T0)
    assert desk.waiting(session) == [ticket] and ticket.assignee is None
    assert [(c.field, c.new) for c in desk.history(session, ticket)][-2:] == [("status", "open"), ("assignee", None)]


def test_a_conversation_has_one_holder(session, team):
    ticket = handoff(session, "a")
    desk.claim(session, ticket, team["wang"], T0)
    assert desk.claim(session, ticket, team["wang"], T0) is ticket  # claiming again is harmless
    with pytest.raises(desk.DeskError) as refused:
        desk.claim(session, ticket, team["li"], T0)
    assert refused.value.status == 409 and "小王" in refused.value.reason


@pytest.mark.parametrize("kind, sender", [("complaint", "a"), ("suggestion", "a"), ("callback", None)])
def test_only_conversations_can_be_taken_over(session, team, kind, sender):
    ticket = tickets.create_ticket(session, kind, "请回电", channel="rest", sender=sender)
    with pytest.raises(desk.DeskError) as refused:
        desk.claim(session, ticket, team["wang"], T0)
    assert refused.value.status == 400


def test_replies_come_from_the_holder_only(session, team):
    ticket = handoff(session, "a", minutes_ago=3)
    with pytest.raises(desk.DeskError) as not_claimed:
        desk.record_reply(session, ticket, team["wang"], "您好", T0, delivered=True)
    assert not_claimed.value.status == 409
    desk.claim(session, ticket, team["wang"], T0)
    with pytest.raises(desk.DeskError) as colleague:
        desk.record_reply(session, ticket, team["li"], "您好", T0, delivered=True)
    assert colleague.value.status == 403
    message = desk.record_reply(session, ticket, team["wang"], "  您好，我来看看  ", T0 + timedelta(seconds=20), True)
    assert message.text == "您好，我来看看" and message.delivered_at is not None
    assert ticket.first_response_at == T0 + timedelta(seconds=20)


@pytest.mark.parametrize("text, status", [("", 400), ("   ", 400), ("长" * (desk.MAX_REPLY_CHARS + 1), 413)])
def test_empty_or_huge_replies_are_refused(session, team, text, status):
    ticket = desk.claim(session, handoff(session, "a"), team["wang"], T0)
    with pytest.raises(desk.DeskError) as refused:
        desk.reply_text(ticket, team["wang"], text)
    assert refused.value.status == status


def test_hand_back_resolves_and_close_closes(session, team):
    first = desk.claim(session, handoff(session, "a"), team["wang"], T0)
    desk.hand_back(session, first, team["wang"], T0)
    assert first.status == "resolved" and not desk.is_held(first)
    second = desk.claim(session, handoff(session, "b"), team["wang"], T0)
    with pytest.raises(desk.DeskError):
        desk.close(session, second, team["li"], T0)
    desk.close(session, second, team["wang"], T0)
    assert second.status == "closed" and second.closed_at == T0


def test_the_rating_goes_to_the_latest_closed_handoff_of_the_conversation(session, team):
    ticket = desk.claim(session, handoff(session, "a"), team["wang"], T0)
    assert desk.rate(session, "socketio", "a", 5) is None  # not closed yet
    desk.close(session, ticket, team["wang"], T0)
    assert desk.rate(session, "telegram", "a", 5) is None  # another conversation
    assert desk.rate(session, "socketio", "a", 4) is ticket and ticket.rating == 4
    assert desk.rate(session, "socketio", "a", 1) is None  # rated once
    with pytest.raises(desk.DeskError):
        desk.rate(session, "socketio", "a", 6)


def test_a_claim_without_replies_goes_back_to_the_queue(session, team):
    quiet = desk.claim(session, handoff(session, "quiet", minutes_ago=10), team["wang"], T0)
    busy = desk.claim(session, handoff(session, "busy", minutes_ago=9), team["li"], T0)
    desk.record_reply(session, busy, team["li"], "在的", T0 + timedelta(minutes=4), delivered=True)
    returned = desk.expire_claims(session, T0 + timedelta(minutes=5), timedelta(minutes=5))
    assert [(r.sender, r.agent_name, r.position) for r in returned] == [("quiet", "小王", 1)]
    assert quiet.status == "open" and quiet.assignee is None and desk.waiting(session) == [quiet]
    assert desk.is_held(busy)
    assert desk.history(session, quiet)[-1].actor is None  # the system did it
    assert desk.expire_claims(session, T0 + timedelta(minutes=5), timedelta(minutes=5)) == []


def test_desk_notices_do_not_count_as_replies_for_the_timeout(session, team):
    ticket = desk.claim(session, handoff(session, "a"), team["wang"], T0)
    session.add(
        AgentMessage(ticket_id=ticket.id, sender="a", text="客服小王已加入", created_at=T0 + timedelta(minutes=4))
    )
    assert len(desk.expire_claims(session, T0 + timedelta(minutes=5), timedelta(minutes=5))) == 1


def test_undelivered_messages_are_handed_over_once(session, team):
    ticket = desk.claim(session, handoff(session, "r1", channel="rest"), team["wang"], T0)
    desk.record_reply(session, ticket, team["wang"], "第一条", T0, delivered=False)
    desk.record_reply(session, ticket, team["wang"], "第二条", T0, delivered=False)
    assert desk.undelivered(session, "voice", "r1") == []
    assert [m.text for m in desk.undelivered(session, "rest", "r1")] == ["第一条", "第二条"]
    assert desk.undelivered(session, "rest", "r1") == []


@pytest.mark.parametrize(
    "hours, moment, covered",
    [
        ("09:00-21:00", time(9, 0), True),
        ("09:00-21:00", time(20, 59), True),
        ("09:00-21:00", time(21, 0), False),
        ("09:00-21:00", time(8, 59), False),
        ("20:00-02:00", time(23, 0), True),
        ("20:00-02:00", time(1, 59), True),
        ("20:00-02:00", time(12, 0), False),
        ("00:00-24:00", time(23, 59, 30), True),
    ],
)
def test_service_hours(hours, moment, covered):
    assert desk.ServiceHours.parse(hours).covers(moment) is covered


@pytest.mark.parametrize("text", ["", "9-21", "09:00", "25:00-26:00x"])
def test_service_hours_must_be_readable(text):
    with pytest.raises(ValueError):
        desk.ServiceHours.parse(text)


def test_staffing_needs_the_hours_and_someone_at_the_desk(session, team):
    hours = desk.ServiceHours.parse("09:00-21:00")
    assert desk.staffing(session, hours, time(22, 0), T0) == "after_hours"
    assert desk.staffing(session, hours, time(10, 0), T0) == "nobody"
    accounts.start_session(session, team["wang"], T0)
    assert desk.staffing(session, hours, time(10, 0), T0 + timedelta(seconds=30)) == "open"
    assert desk.staffing(session, hours, time(10, 0), T0 + desk.PRESENCE + timedelta(seconds=1)) == "nobody"


def test_agents_work_their_own_and_unassigned_tickets(session, team):
    ticket = tickets.create_ticket(session, "complaint", "冰箱门凹了", channel="rest", sender="c", product="美的冰箱")
    desk.update_ticket(session, ticket, team["wang"], T0, assign=True, assignee_id=team["wang"].id)
    desk.update_ticket(session, ticket, team["wang"], T0, status="in_progress")
    with pytest.raises(desk.DeskError) as colleague:
        desk.update_ticket(session, ticket, team["li"], T0, status="resolved")
    assert colleague.value.status == 403
    with pytest.raises(desk.DeskError) as reassign:
        desk.update_ticket(session, ticket, team["li"], T0, assign=True, assignee_id=team["li"].id)
    assert reassign.value.status == 403
    with pytest.raises(desk.DeskError) as others:
        desk.update_ticket(session, ticket, team["wang"], T0, assign=True, assignee_id=team["li"].id)
    assert others.value.status == 403
    desk.update_ticket(session, ticket, team["lead"], T0, assign=True, assignee_id=team["li"].id)
    desk.update_ticket(session, ticket, team["li"], T0, status="resolved")
    desk.update_ticket(session, ticket, team["li"], T0, status="closed")
    assert (ticket.status, ticket.assignee.username, ticket.closed_at) == ("closed", "li", T0)
    changes = [(c.actor.username, c.field, c.old, c.new) for c in desk.history(session, ticket)]
    assert changes == [
        ("wang", "assignee", None, "wang"),
        ("wang", "status", "open", "in_progress"),
        ("zhao", "assignee", "wang", "li"),
        ("li", "status", "in_progress", "resolved"),
        ("li", "status", "resolved", "closed"),
    ]


@pytest.mark.parametrize("status", ["in_progress", "resolved", "finished"])
def test_closed_tickets_only_reopen(session, team, status):
    ticket = tickets.create_ticket(session, "suggestion", "希望有夜间客服", channel="rest", sender="c")
    desk.update_ticket(session, ticket, team["lead"], T0, status="closed")
    with pytest.raises(desk.DeskError) as refused:
        desk.update_ticket(session, ticket, team["lead"], T0, status=status)
    assert refused.value.status == 400
    desk.update_ticket(session, ticket, team["lead"], T0, status="open")
    assert ticket.status == "open"


def test_a_live_conversation_changes_through_the_conversation_actions(session, team):
    ticket = desk.claim(session, handoff(session, "a"), team["wang"], T0)
    for change in ({"status": "closed"}, {"assign": True, "assignee_id": None}):
        with pytest.raises(desk.DeskError) as refused:
            desk.update_ticket(session, ticket, team["wang"], T0, **change)
        assert refused.value.status == 409
    desk.hand_back(session, ticket, team["wang"], T0)
    with pytest.raises(desk.DeskError) as not_by_hand:  # "held" again without Rasa paused
        desk.update_ticket(session, ticket, team["lead"], T0, status="in_progress")
    assert not_by_hand.value.status == 409


def test_a_call_back_customer_can_be_answered_in_their_chat(session, team):
    callback = tickets.create_ticket(session, "callback", "转人工", channel="telegram", sender="42")
    assert desk.waiting(session) == []  # not in the live queue: the customer was told to expect a call
    desk.claim(session, callback, team["wang"], T0)
    assert desk.held(session) == [callback]
    desk.record_reply(session, callback, team["wang"], "您好，昨晚您找过我们", T0, delivered=True)
    other = tickets.create_ticket(session, "callback", "请回电", channel="rest", sender="43")
    desk.update_ticket(session, other, team["li"], T0, assign=True, assignee_id=team["li"].id)
    with pytest.raises(desk.DeskError) as colleagues:
        desk.claim(session, other, team["wang"], T0)
    assert colleagues.value.status == 403


def test_notes_and_phone_reveals_are_kept(session, team):
    ticket = handoff(session, "a", phone="13812345678")
    desk.add_note(session, ticket, team["wang"], "客户说下午方便接电话", T0)
    with pytest.raises(desk.DeskError):
        desk.add_note(session, ticket, team["wang"], "  ", T0)
    assert [n.text for n in desk.notes(session, ticket)] == ["客户说下午方便接电话"]
    assert desk.reveal_phone(session, ticket, team["wang"], T0, ticket.phone) == "13812345678"
    assert [(c.field, c.actor.username) for c in desk.history(session, ticket)] == [("phone_viewed", "wang")]
    with pytest.raises(desk.DeskError) as none:
        desk.reveal_phone(session, handoff(session, "b"), team["wang"], T0, None)
    assert none.value.status == 404
    desk.update_ticket(session, ticket, team["li"], T0, assign=True, assignee_id=team["li"].id)
    with pytest.raises(desk.DeskError) as colleague:
        desk.reveal_phone(session, ticket, team["wang"], T0, ticket.phone)
    assert colleague.value.status == 403
    assert desk.reveal_phone(session, ticket, team["lead"], T0, ticket.phone) == "13812345678"


def test_ticket_filters(session):
    old = tickets.create_ticket(session, "complaint", "空调不制冷", product="格力空调", channel="rest", sender="a")
    old.created_at = datetime(2026, 11, 1, 9)
    new = tickets.create_ticket(session, "suggestion", "多些颜色", product="小米14", channel="rest", sender="b")
    new.created_at = datetime(2026, 11, 20, 9)
    session.flush()
    assert desk.list_tickets(session) == [new, old]
    assert desk.list_tickets(session, kind="complaint") == [old]
    assert desk.list_tickets(session, status="open", product="小米") == [new]
    assert desk.list_tickets(session, since=date(2026, 11, 2)) == [new]
    assert desk.list_tickets(session, until=date(2026, 11, 1)) == [old]
    assert desk.list_tickets(session, until=date.max) == [new, old]
    with pytest.raises(desk.DeskError):
        desk.get_ticket(session, 2**63)
    for bad in ({"kind": "praise"}, {"status": "done"}):
        with pytest.raises(desk.DeskError):
            desk.list_tickets(session, **bad)


def test_the_teams_figures(session, team):
    first = handoff(session, "a", minutes_ago=4)
    desk.claim(session, first, team["wang"], T0 - timedelta(minutes=3))  # waited 1 min
    desk.record_reply(session, first, team["wang"], "您好", T0 - timedelta(minutes=2), True)  # answered after 2
    desk.close(session, first, team["wang"], T0)
    desk.rate(session, "socketio", "a", 4)
    second = handoff(session, "b", minutes_ago=5)
    desk.claim(session, second, team["li"], T0)  # waited 5 min, no answer yet
    handoff(session, "c")
    figures = desk.stats(session)
    assert figures["waiting_now"] == 1
    assert figures["median_wait_seconds"] == 180.0  # median of 60 and 300
    assert figures["median_first_response_seconds"] == 120.0
    assert (figures["csat_average"], figures["csat_count"]) == (4, 1)
    assert figures["tickets_by_status"] == {"open": 1, "in_progress": 1, "resolved": 0, "closed": 1}
