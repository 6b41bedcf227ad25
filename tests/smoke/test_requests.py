"""Service requests through the running stack: the REST channel, Rasa, the action server and the
database, as a customer would use them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from zhiyin import db

pytestmark = pytest.mark.servers


def test_cancel_an_order_through_the_assistant(stack, engine):
    assert "手机号的后四位" in stack.texts("smoke-cancel", "你好 在吗 订单号:202611016468 不想要了 帮我取消")
    assert "确认取消吗" in stack.texts("smoke-cancel", "尾号0482")
    done = stack.texts("smoke-cancel", "确认")
    assert "已为您取消订单 202611016468" in done and "退回" in done
    with db.session_scope(engine) as session:
        assert session.get(db.Order, "202611016468").status == "已取消"
        [refund] = session.scalars(select(db.Refund).where(db.Refund.order_id == "202611016468")).all()
        assert refund.amount_fen == 359900


def test_a_shipped_order_cannot_be_cancelled_and_stays_as_it_is(stack, engine):
    assert "手机号的后四位" in stack.texts("smoke-cancel-shipped", "订单202611088387帮我取消掉")
    answer = stack.texts("smoke-cancel-shipped", "0147")
    assert "已经发货" in answer and "拒收" in answer
    with db.session_scope(engine) as session:
        assert session.get(db.Order, "202611088387").status == "运输中"


def test_change_the_address_after_a_wrong_order_number(stack, engine):
    assert "订单号" in stack.texts("smoke-address", "收货地址填错了 要改一下")
    assert "手机号的后四位" in stack.texts("smoke-address", "202611999999")
    assert "订单号或手机号不匹配" in stack.texts("smoke-address", "1177")
    assert "手机号的后四位" in stack.texts("smoke-address", "202611039028")
    assert "新的收货地址" in stack.texts("smoke-address", "1177")
    answer = stack.texts("smoke-address", "北京市海淀区中关村大街27号5号楼302")
    assert "已将订单 202611039028 的收货地址改为：北京市海淀区中关村大街27号5号楼302" in answer
    with db.session_scope(engine) as session:
        assert session.get(db.Order, "202611039028").address == "北京市海淀区中关村大街27号5号楼302"


def test_refund_progress_and_a_knowledge_base_answer(stack):
    assert "手机号的后四位" in stack.texts("smoke-refund", "订单202611044237的退款到哪了")
    assert "退款（取消订单）7198 元已于 2026-11-05 退回" in stack.texts("smoke-refund", "5707")
    assert "花呗" in stack.texts("smoke-refund", "你们能用什么方式付款")
