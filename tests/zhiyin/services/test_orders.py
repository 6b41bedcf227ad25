import pytest

from zhiyin.services import orders


@pytest.mark.parametrize(
    "text, expected",
    [
        ("订单202611016468到哪了", "202611016468"),
        ("２０２６１１０１６４６８", "202611016468"),
        ("单号 202611016468，电话13812345678", "202611016468"),
        ("2026110164681", None),  # 13 digits: not an order number
        ("20261101646", None),  # 11 digits
        ("没有订单号", None),
        (None, None),
    ],
)
def test_extract_order_id(text, expected):
    assert orders.extract_order_id(text) == expected


@pytest.mark.parametrize("text, wrong", [("12345", True), ("202611016468", False), ("不知道", False)])
def test_looks_like_wrong_order_id(text, wrong):
    assert orders.looks_like_wrong_order_id(text) is wrong


def test_get_order_with_events_in_time_order(session):
    order = orders.get_order(session, "202611016468")
    assert order.product.name == "美的对开门冰箱"
    times = [e.time for e in order.events]
    assert times == sorted(times)
    assert orders.latest_event(order) is order.events[-1]


def test_get_unknown_order_is_none(session):
    assert orders.get_order(session, "999999999999") is None


@pytest.mark.parametrize(
    "text, found",
    [
        ("订单202611028313和２０２６１１０１６４６８", ["202611028313", "202611016468"]),
        ("电话13812345678", []),
        (None, []),
    ],
)
def test_order_ids_in(text, found):
    assert orders.order_ids_in(text) == found
