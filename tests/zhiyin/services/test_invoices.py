import pytest
from sqlalchemy import select

from zhiyin.db import InvoiceRequest, Order
from zhiyin.services import invoices
from zhiyin.services.refusal import RequestRefused

VALID_CODE = "91350100M000100Y43"


@pytest.mark.parametrize(
    "text, code",
    [
        (VALID_CODE, VALID_CODE),
        ("税号：91350100m000100y43", VALID_CODE),
        ("9135 0100 M000 100Y 43", VALID_CODE),
        ("91350100M000100Y44", None),  # wrong check character
        ("91350100M00010", None),
        ("没有税号", None),
    ],
)
def test_credit_code_is_checked_by_its_check_character(text, code):
    assert invoices.extract_credit_code(text) == code


@pytest.mark.parametrize(
    "text, kind",
    [
        ("专票", "special"),
        ("增值税专用发票", "special"),
        ("普票", "normal"),
        ("电子发票就行", "normal"),
        ("随便", None),
    ],
)
def test_kind(text, kind):
    assert invoices.parse_kind(text) == kind


@pytest.mark.parametrize(
    "text, title", [("个人", "个人"), ("抬头：智音科技有限公司", "智音科技有限公司"), ("", None), ("x" * 101, None)]
)
def test_title(text, title):
    assert invoices.clean_title(text) == title


def test_request_for_a_company_is_stored(session):
    order = session.get(Order, "202611206576")
    request = invoices.request_invoice(
        session,
        order,
        kind="special",
        title="福州智音科技有限公司",
        tax_id=VALID_CODE,
        email="cw@example.com",
        channel="rest",
        sender="c-9",
    )
    session.commit()
    stored = session.scalars(select(InvoiceRequest).where(InvoiceRequest.order_id == "202611206576")).one()
    assert (stored.kind, stored.title, stored.tax_id, stored.status) == (
        "special",
        "福州智音科技有限公司",
        VALID_CODE,
        "开票中",
    )
    assert request.number.startswith("FP") and invoices.latest_request(session, order).id == stored.id


@pytest.mark.parametrize(
    "order_id, kind, title, tax_id, email, reason",
    [
        ("202611044237", "normal", "个人", None, "a@example.com", "cancelled"),
        ("202611206576", "special", "个人", None, "a@example.com", "special_needs_company"),
        ("202611206576", "normal", "某某公司", "91350100M000100Y44", "a@example.com", "credit_code"),
        ("202611206576", "normal", "个人", None, "not-an-email", "email"),
    ],
)
def test_requests_that_cannot_be_issued(session, order_id, kind, title, tax_id, email, reason):
    with pytest.raises(RequestRefused) as refused:
        invoices.request_invoice(
            session, session.get(Order, order_id), kind=kind, title=title, tax_id=tax_id, email=email
        )
    assert refused.value.reason == reason
    assert session.scalars(select(InvoiceRequest).where(InvoiceRequest.order_id == order_id)).all() == []
