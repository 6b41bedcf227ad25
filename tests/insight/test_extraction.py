"""Products, companies, order and phone numbers named in complaint texts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from insight.conversations import Message, TicketRecord
from insight.extraction import Catalog, Mentions, extract, ticket_mentions
from zhiyin import db


@pytest.fixture
def catalog(database):
    with db.session_scope(database) as session:
        return Catalog.from_session(session)


@pytest.mark.parametrize(
    "text, products, companies",
    [
        ("收到的华为Mate60屏幕碎了", ["华为Mate60"], ["华为"]),
        ("ＩＰＨＯＮＥ１５ 用三天就死机", ["iPhone15"], ["苹果"]),  # full width, upper case
        ("麦特60和小米14都坏了", ["华为Mate60", "小米14"], ["小米", "华为"]),  # alias; named companies first
        ("苹果公司的售后太差", [], ["苹果"]),  # company only
        ("快递太慢了", [], []),
    ],
)
def test_catalog_matching(catalog, text, products, companies):
    found = extract(text, catalog)
    assert (found.products, found.companies) == (products, companies)


def test_order_and_phone_numbers_and_the_ordered_product(catalog):
    found = extract("订单202611028313的东西坏了，电话 +86 138-1234-5678", catalog)
    assert found == Mentions(["iPhone15"], ["苹果"], ["202611028313"], ["13812345678"])


def test_nlu_entities_add_what_the_text_does_not_say(catalog):
    entities = [
        {"entity": "product", "value": "mate60"},
        {"entity": "product", "value": "诺基亚N95"},
        {"entity": "company", "value": "Apple"},
    ]
    found = extract("坏了", catalog, entities)
    assert found.products == ["华为Mate60", "诺基亚N95"]  # unknown products are kept as said
    assert found.companies == ["苹果", "华为"]


def _message(sender, minutes_before, entities, ticket_time, channel="rest"):
    return Message(ticket_time - timedelta(minutes=minutes_before), sender, channel, "", False, "inform", 0.9, entities)


def test_ticket_mentions_use_the_conversation_that_led_to_it(catalog):
    created = datetime(2026, 11, 21, 15, 0)
    ticket = TicketRecord("ZY202611210001", "complaint", "open", created, "rest", "bob", None, None, None, "屏幕有划痕")
    mate = [{"entity": "product", "value": "华为Mate60"}]
    messages = [
        _message("bob", 5, mate, created),
        _message("bob", 5, [{"entity": "product", "value": "小米14"}], created, channel="telegram"),  # other chat
        _message("alice", 5, [{"entity": "product", "value": "iPhone15"}], created),  # other customer
        _message("bob", 120, [{"entity": "product", "value": "戴森V12"}], created),  # long before
    ]
    assert ticket_mentions(ticket, messages, catalog).products == ["华为Mate60"]


def test_ticket_fields_count_too(catalog):
    created = datetime(2026, 11, 21, 15, 0)
    ticket = TicketRecord(
        "ZY1", "complaint", "open", created, "rest", "bob", "202611227506", None, "13918999723", "坏了"
    )
    found = ticket_mentions(ticket, [], catalog)
    assert (found.products, found.order_ids, found.phones) == (["华为Mate60"], ["202611227506"], ["13918999723"])
