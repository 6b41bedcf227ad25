"""Service requests: the form's slots and their validation, the start, and every handler's answer
against the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import pytest
from sqlalchemy import select

from actions import requests
from actions.requests import ActionHandleOrderRequest, ActionStartOrderRequest, ValidateOrderRequestForm
from tests.helpers import run_action, slot_events, texts, user_event
from zhiyin.db import InstallationBooking, InvoiceRequest, Order, OrderAction, PriceProtectionClaim, Refund

NOW = datetime(2026, 11, 27, 10, 0)  # a Friday
NOT_SHIPPED = "202611016468"  # 待发货, 美的对开门冰箱 (an appliance), paid 3599 by 支付宝
IN_TRANSIT = "202611088387"
DELIVERED_PHONE = "202611227506"  # 华为Mate60 at 6499, 5999 since 11-25
FRIDGE = "202611240456"  # 海尔十字门冰箱, delivered
VALID_CODE = "91350100M000100Y43"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(requests, "clock", lambda: NOW)


@pytest.fixture
def form():
    return ValidateOrderRequestForm()


def request_tracker(make_tracker, request, order_id, text="", **slots):
    return make_tracker(text, request, slots={"order_request": request, "order_id": order_id, **slots})


def handle(dispatcher, tracker, domain):
    return run_action(ActionHandleOrderRequest(), dispatcher, tracker, domain)


def said(dispatcher):
    """(response, the values it was sent with) of each message."""
    return [
        (
            m["response"],
            {
                k: v
                for k, v in m.items()
                if k
                not in (
                    "response",
                    "buttons",
                    "elements",
                    "attachment",
                    "image",
                    "json_message",
                    "template",
                    "text",
                    "custom",
                )
            },
        )
        for m in dispatcher.messages
    ]


def test_start_remembers_the_request_and_clears_earlier_answers(dispatcher, make_tracker, domain):
    tracker = make_tracker(
        "帮我取消订单", "cancel_order", slots={"new_address": "旧地址", "order_request": "change_address"}
    )
    events = slot_events(run_action(ActionStartOrderRequest(), dispatcher, tracker, domain))
    assert events["order_request"] == "cancel_order"
    assert all(events[slot] is None for slot in requests.REQUEST_SLOTS)


@pytest.mark.parametrize(
    "request_name, order_id, slots, needed",
    [
        ("cancel_order", NOT_SHIPPED, {}, ["cancel_confirmed"]),
        ("cancel_order", IN_TRANSIT, {}, []),
        ("change_address", NOT_SHIPPED, {}, ["new_address"]),
        ("reschedule_delivery", IN_TRANSIT, {}, []),
        ("book_installation", FRIDGE, {}, ["install_time", "install_address"]),
        ("book_installation", DELIVERED_PHONE, {}, []),
        ("request_invoice", FRIDGE, {}, ["invoice_kind", "invoice_title", "invoice_email"]),
        (
            "request_invoice",
            FRIDGE,
            {"invoice_title": "某某公司"},
            ["invoice_kind", "invoice_title", "tax_id", "invoice_email"],
        ),
        ("request_invoice", "202611044237", {}, []),  # cancelled
        ("check_refund", NOT_SHIPPED, {}, []),
        ("urge_delivery", None, {}, ["order_phone_tail"]),  # the order number, then its proof
    ],
)
def test_the_form_asks_only_what_the_request_needs_for_this_order(
    database, dispatcher, make_tracker, domain, form, request_name, order_id, slots, needed
):
    tracker = request_tracker(make_tracker, request_name, order_id, **slots)
    domain_slots = domain["forms"]["order_request_form"]["required_slots"]
    assert asyncio.run(form.required_slots(domain_slots, dispatcher, tracker, domain)) == ["order_id", *needed]


def test_no_order_number_at_hand_is_explained(dispatcher, make_tracker, domain, form):
    tracker = make_tracker("没有订单号", "deny")
    assert form.validate_order_id("没有订单号", dispatcher, tracker, domain) == {"order_id": None}
    assert texts(dispatcher) == ["utter_no_order_id"]


@pytest.mark.parametrize(
    "slot, value, kept, response",
    [
        ("new_address", "上海市浦东新区张江路88号3栋501室", "上海市浦东新区张江路88号3栋501室", None),
        ("new_address", "我家", None, "utter_address_invalid"),
        ("delivery_day", "周日送吧", "2026-11-29", None),
        ("delivery_day", "今天", None, "utter_day_past"),
        ("delivery_day", "下个月底", None, "utter_day_invalid"),
        ("delivery_day", "12月25日", None, "utter_day_too_far"),
        ("install_time", "明天上午", "2026-11-28 morning", None),
        ("install_time", "周六", None, "utter_window_missing"),
        ("invoice_kind", "专票", "special", None),
        ("invoice_kind", "随便", None, "utter_invoice_kind_invalid"),
        ("tax_id", "税号91350100m000100y43", VALID_CODE, None),
        ("tax_id", "91350100M000100Y44", None, "utter_tax_id_invalid"),
        ("invoice_email", "发到 cw@example.com 吧", "cw@example.com", None),
        ("invoice_email", "qq邮箱", None, "utter_email_invalid"),
        ("cancel_confirmed", True, True, None),
        ("cancel_confirmed", "确认", None, None),
    ],
)
def test_request_slots_are_checked(dispatcher, make_tracker, domain, form, slot, value, kept, response):
    result = getattr(form, f"validate_{slot}")(value, dispatcher, make_tracker(str(value), "inform"), domain)
    assert result == {slot: kept}
    assert texts(dispatcher) == ([response] if response else [])


def test_a_personal_title_is_refused_for_a_special_invoice(dispatcher, make_tracker, domain, form):
    tracker = make_tracker("个人", "inform", slots={"invoice_kind": "special"})
    assert form.validate_invoice_title("个人", dispatcher, tracker, domain) == {"invoice_title": None}
    assert texts(dispatcher) == ["utter_special_needs_company"]


def test_same_address_takes_the_orders_own(database, session, dispatcher, make_tracker, domain, form):
    tracker = make_tracker("同收货地址", "affirm", slots={"order_id": FRIDGE})
    result = form.validate_install_address(requests.SAME_ADDRESS, dispatcher, tracker, domain)
    assert result == {"install_address": session.get(Order, FRIDGE).address} and dispatcher.messages == []


def test_confirmed_cancel_changes_the_order_and_starts_the_refund(database, session, dispatcher, make_tracker, domain):
    events = handle(
        dispatcher, request_tracker(make_tracker, "cancel_order", NOT_SHIPPED, cancel_confirmed=True), domain
    )
    [(response, values)] = said(dispatcher)
    assert response == "utter_order_cancelled"
    assert values == {"order_id": NOT_SHIPPED, "amount": "3599", "destination": "支付宝", "arrival": "2026-11-30"}
    assert session.get(Order, NOT_SHIPPED).status == "已取消"
    [refund] = session.scalars(select(Refund).where(Refund.order_id == NOT_SHIPPED)).all()
    assert (refund.amount_fen, refund.reason) == (359900, "取消订单")
    assert slot_events(events)["order_request"] is None and slot_events(events)["cancel_confirmed"] is None


def test_declined_cancel_keeps_the_order(database, session, dispatcher, make_tracker, domain):
    handle(dispatcher, request_tracker(make_tracker, "cancel_order", NOT_SHIPPED, cancel_confirmed=False), domain)
    assert texts(dispatcher) == ["utter_cancel_kept"]
    assert session.get(Order, NOT_SHIPPED).status == "待发货"


@pytest.mark.parametrize(
    "request_name, order_id, response",
    [
        ("cancel_order", IN_TRANSIT, "utter_cancel_refused_shipped"),
        ("cancel_order", DELIVERED_PHONE, "utter_cancel_refused_delivered"),
        ("cancel_order", "202611044237", "utter_order_already_cancelled"),
        ("change_address", IN_TRANSIT, "utter_change_refused_shipped"),
        ("reschedule_delivery", DELIVERED_PHONE, "utter_change_refused_closed"),
    ],
)
def test_changes_after_shipping_are_explained_and_nothing_changes(
    database, session, dispatcher, make_tracker, domain, request_name, order_id, response
):
    status = session.get(Order, order_id).status
    handle(
        dispatcher,
        request_tracker(
            make_tracker, request_name, order_id, new_address="北京市海淀区中关村大街27号", delivery_day="2026-11-30"
        ),
        domain,
    )
    [(said_response, values)] = said(dispatcher)
    assert said_response == response and values["order_id"] == order_id
    session.expire_all()
    assert session.get(Order, order_id).status == status
    assert session.scalars(select(OrderAction).where(OrderAction.order_id == order_id)).all() == []


def test_new_address_and_day_are_stored(database, session, dispatcher, make_tracker, domain):
    handle(
        dispatcher,
        request_tracker(make_tracker, "change_address", NOT_SHIPPED, new_address="北京市海淀区中关村大街27号"),
        domain,
    )
    handle(
        dispatcher, request_tracker(make_tracker, "reschedule_delivery", NOT_SHIPPED, delivery_day="2026-11-30"), domain
    )
    assert texts(dispatcher) == ["utter_address_changed", "utter_delivery_rescheduled"]
    order = session.get(Order, NOT_SHIPPED)
    assert (order.address, order.delivery_date) == ("北京市海淀区中关村大街27号", date(2026, 11, 30))


def test_urge_on_a_late_order_apologises_and_is_logged(database, session, dispatcher, make_tracker, domain):
    handle(dispatcher, request_tracker(make_tracker, "urge_delivery", NOT_SHIPPED), domain)
    handle(dispatcher, request_tracker(make_tracker, "urge_delivery", IN_TRANSIT), domain)
    assert texts(dispatcher) == ["utter_urge_overdue", "utter_urge_in_transit"]
    assert dispatcher.messages[1]["latest"].startswith("最新进展：")
    assert [a.kind for a in session.scalars(select(OrderAction).order_by(OrderAction.id))] == ["urge", "urge"]


@pytest.mark.parametrize(
    "order_id, responses",
    [
        ("202611044237", ["utter_refund_completed"]),
        ("202611050942", ["utter_refund_late"]),  # requested 11-05 to 支付宝: expected long ago
        (NOT_SHIPPED, ["utter_refund_none"]),
        ("202611078701", ["utter_refund_after_return"]),
    ],
)
def test_refund_status(database, dispatcher, make_tracker, domain, order_id, responses):
    handle(dispatcher, request_tracker(make_tracker, "check_refund", order_id), domain)
    assert texts(dispatcher) == responses


def test_after_sales_progress_with_the_pickup_time(database, dispatcher, make_tracker, domain):
    handle(dispatcher, request_tracker(make_tracker, "check_after_sales", "202611064268"), domain)
    assert texts(dispatcher) == ["utter_after_sales_status", "utter_after_sales_pickup"]
    assert dispatcher.messages[0]["case_no"] == "AS202611100001" and dispatcher.messages[0]["kind"] == "退货"
    assert dispatcher.messages[1]["pickup"] == "2026-11-28 14:00"
    handle(dispatcher, request_tracker(make_tracker, "check_after_sales", NOT_SHIPPED), domain)
    assert texts(dispatcher)[-1] == "utter_after_sales_none"


def test_price_protection_is_granted_once_and_recorded(database, session, dispatcher, make_tracker, domain):
    tracker = request_tracker(make_tracker, "price_protection", DELIVERED_PHONE)
    handle(dispatcher, tracker, domain)
    handle(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["utter_price_protection_granted", "utter_price_protection_already"]
    granted = dispatcher.messages[0]
    assert (granted["paid"], granted["price"], granted["refund"]) == ("6499", "5999", "500")
    assert [c.approved for c in session.scalars(select(PriceProtectionClaim))] == [True, False]


def test_installation_is_booked_for_an_appliance(database, session, dispatcher, make_tracker, domain):
    tracker = request_tracker(
        make_tracker,
        "book_installation",
        FRIDGE,
        "冰箱预约安装",
        install_time="2026-11-28 afternoon",
        install_address="西安市雁塔区科技路48号",
    )
    handle(dispatcher, tracker, domain)
    [(response, values)] = said(dispatcher)
    assert response == "utter_installation_booked"
    assert (values["kind"], values["day"], values["window"]) == ("安装", "2026-11-28", "下午 14:00–18:00")
    booking = session.scalars(select(InstallationBooking)).one()
    assert (booking.order_id, booking.kind, booking.address) == (FRIDGE, "install", "西安市雁塔区科技路48号")


def test_a_repair_visit_is_told_apart_from_an_installation(database, session, dispatcher, make_tracker, domain):
    history = [user_event("洗衣机坏了约师傅上门修", "book_installation")]
    tracker = make_tracker(
        "同收货地址",
        "affirm",
        history=history,
        slots={
            "order_request": "book_installation",
            "order_id": "202611206576",
            "install_time": "2026-11-30 morning",
            "install_address": "上海市徐汇区漕溪北路1号",
        },
    )
    handle(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["kind"] == "维修"


def test_a_phone_needs_no_installation(database, dispatcher, make_tracker, domain):
    handle(dispatcher, request_tracker(make_tracker, "book_installation", DELIVERED_PHONE), domain)
    assert said(dispatcher) == [
        ("utter_installation_not_needed", {"order_id": DELIVERED_PHONE, "product": "华为Mate60"})
    ]


def test_invoice_request_then_its_status(database, session, dispatcher, make_tracker, domain):
    slots = {
        "invoice_kind": "special",
        "invoice_title": "福州智音科技有限公司",
        "tax_id": VALID_CODE,
        "invoice_email": "cw@example.com",
    }
    handle(dispatcher, request_tracker(make_tracker, "request_invoice", FRIDGE, **slots), domain)
    handle(dispatcher, request_tracker(make_tracker, "check_invoice", FRIDGE), domain)
    handle(dispatcher, request_tracker(make_tracker, "request_invoice", FRIDGE, **slots), domain)
    assert texts(dispatcher) == [
        "utter_invoice_requested",
        "utter_invoice_status_pending",
        "utter_invoice_already_requested",
        "utter_invoice_status_pending",
    ]
    assert dispatcher.messages[0]["kind"] == "增值税专用发票"
    [stored] = session.scalars(select(InvoiceRequest).where(InvoiceRequest.order_id == FRIDGE)).all()
    assert (stored.tax_id, stored.email) == (VALID_CODE, "cw@example.com")


def test_invoice_status_issued_and_none(database, dispatcher, make_tracker, domain):
    handle(dispatcher, request_tracker(make_tracker, "check_invoice", "202611030296"), domain)
    handle(dispatcher, request_tracker(make_tracker, "check_invoice", NOT_SHIPPED), domain)
    assert texts(dispatcher) == ["utter_invoice_status_issued", "utter_invoice_none"]
    assert dispatcher.messages[0]["invoice_no"] == "26442000000123456789"


def test_unknown_order_and_database_down(database, unreachable_database, dispatcher, make_tracker, domain):
    handle(dispatcher, request_tracker(make_tracker, "check_refund", NOT_SHIPPED), domain)
    assert texts(dispatcher) == ["utter_service_unavailable"]


def test_an_order_that_does_not_exist(database, dispatcher, make_tracker, domain):
    handle(dispatcher, request_tracker(make_tracker, "check_refund", "209901010001"), domain)
    assert texts(dispatcher) == ["utter_order_mismatch"]


def test_every_response_a_handler_sends_is_in_the_domain(domain):
    import re
    from pathlib import Path

    sources = "".join(
        Path(f"actions/{name}.py").read_text(encoding="utf-8")
        for name in ("requests", "order_changes", "after_sales", "invoices")
    )
    named = set(re.findall(r'"(utter_\w+)"', sources))
    assert named and named <= set(domain["responses"])
