"""A python-socketio client converses with the running stack, as the web widget does."""

from __future__ import annotations

import asyncio
import uuid
from typing import Dict, List

import pytest
from sqlalchemy import select

from insight.demo import SocketCustomer as Customer
from zhiyin import db
from zhiyin.db import Ticket

pytestmark = pytest.mark.servers


def texts(replies: List[Dict]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


def test_complaint_over_socketio_creates_a_ticket(stack, engine):
    session_id = uuid.uuid4().hex

    async def conversation():
        async with Customer(stack.base, session_id) as customer:
            assert "订单号" in texts(await customer.say("我要投诉"))
            assert "描述" in texts(await customer.say("202611028313"))
            assert "手机号" in texts(await customer.say("外包装破损，里面的耳机有划痕"))
            confirmation = await customer.say("13912345678")
            quick_replies = confirmation[-1]["quick_replies"]
            assert [reply["payload"] for reply in quick_replies] == ["/affirm", "/deny"]
            return texts(await customer.say(quick_replies[0]["payload"]))

    done = asyncio.run(conversation())
    with db.session_scope(engine) as session:
        [ticket] = session.scalars(select(Ticket).where(Ticket.sender == session_id)).all()
        assert (ticket.kind, ticket.channel, ticket.order_id, ticket.phone) == (
            "complaint",
            "socketio",
            "202611028313",
            "13912345678",
        )
        assert ticket.number in done


def test_a_new_connection_with_the_same_session_continues_the_conversation(stack):
    session_id = uuid.uuid4().hex

    async def conversation():
        async with Customer(stack.base, session_id) as first:
            assert "华为Mate60" in texts(await first.say("华为Mate60多少钱"))
        async with Customer(stack.base, session_id) as again:  # page reloaded
            return texts(await again.say("有货吗"))

    assert "华为Mate60 目前有货" in asyncio.run(conversation())
