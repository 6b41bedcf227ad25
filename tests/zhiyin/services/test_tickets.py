import pytest

from zhiyin.db import Ticket
from zhiyin.services import tickets


@pytest.mark.parametrize(
    "text, phones, masked",
    [
        ("电话13812345678", ["13812345678"], "电话138****5678"),
        ("+86 138-1234-5678 或 15900001111", ["13812345678", "15900001111"], "138****5678 或 159****1111"),
        ("１３８１２３４５６７８", ["13812345678"], "138****5678"),
        ("订单202611028313", [], "订单202611028313"),  # an order number is not a phone number
        ("1381234567", [], "1381234567"),  # ten digits
        (None, [], ""),
    ],
)
def test_phones_in_free_text_found_and_masked(text, phones, masked):
    assert tickets.phones_in(text) == phones
    assert tickets.mask_phones_in(text) == masked


@pytest.mark.parametrize(
    "text, phone",
    [
        ("13812345678", "13812345678"),
        ("我的电话是138-1234-5678", "13812345678"),
        ("+8613912345678", "13912345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("12812345678", None),  # second digit must be 3-9
        ("1381234567", None),  # 10 digits
        ("202611016468", None),  # an order number is not a phone number
        ("", None),
    ],
)
def test_extract_phone(text, phone):
    assert tickets.extract_phone(text) == phone


@pytest.mark.parametrize("phone, masked", [("13812345678", "138****5678"), (None, ""), ("123", "123")])
def test_mask_phone(phone, masked):
    assert tickets.mask_phone(phone) == masked


@pytest.mark.parametrize(
    "text, substantive",
    [
        ("我要投诉", False),
        ("投诉", False),
        ("我想提个建议", False),
        ("我要投诉你们客服", False),
        ("订单202611016468发错货了，我要投诉", True),
        ("屏幕坏了", True),
        ("希望增加夜间客服", True),
        ("/file_complaint", False),
        ('/give_suggestion{"product": "小米14"}', False),
        ("", False),
    ],
)
def test_is_substantive(text, substantive):
    assert tickets.is_substantive(text) is substantive


def test_create_ticket_stores_every_field(session):
    ticket = tickets.create_ticket(
        session,
        "complaint",
        "  屏幕有坏点 ",
        order_id="202611016468",
        product="小米14",
        phone="13812345678",
        channel="rest",
        sender="u1",
    )
    stored = session.get(Ticket, ticket.id)
    assert (
        stored.kind,
        stored.text,
        stored.order_id,
        stored.product,
        stored.phone,
        stored.channel,
        stored.sender,
        stored.status,
    ) == ("complaint", "屏幕有坏点", "202611016468", "小米14", "13812345678", "rest", "u1", "open")
    assert ticket.number.startswith("ZY") and ticket.number.endswith(f"{ticket.id:04d}")


def test_create_ticket_keeps_huge_text_whole(session):
    text = "质量问题" * 1250  # 5,000 characters
    assert session.get(Ticket, tickets.create_ticket(session, "complaint", text).id).text == text


@pytest.mark.parametrize("kind, text", [("refund", "x"), ("complaint", "   "), ("complaint", None)])
def test_create_ticket_rejects_bad_input(session, kind, text):
    with pytest.raises(tickets.TicketError):
        tickets.create_ticket(session, kind, text)


def test_open_ticket_for_matches_customer_kind_and_status(session):
    first = tickets.create_ticket(session, "handoff", "转人工", channel="rest", sender="u1")
    tickets.create_ticket(session, "handoff", "转人工", channel="rest", sender="u2")
    tickets.create_ticket(session, "complaint", "坏了", channel="rest", sender="u1")
    assert tickets.open_ticket_for(session, "handoff", "rest", "u1").id == first.id
    assert tickets.open_ticket_for(session, "handoff", "socketio", "u1") is None
    first.status = "closed"
    assert tickets.open_ticket_for(session, "handoff", "rest", "u1") is None
