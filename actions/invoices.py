"""Handlers for invoices: request one for an order, and the status of one requested."""

from __future__ import annotations

from typing import List

from rasa_sdk import Tracker

from actions.common import RunResult
from actions.requests import Request, handler
from zhiyin.db import InvoiceRequest, Order
from zhiyin.services import invoices, orders
from zhiyin.services.refusal import RequestRefused

REFUSALS = {
    "cancelled": "utter_invoice_refused_cancelled",
    "special_needs_company": "utter_special_needs_company",
    "credit_code": "utter_tax_id_invalid",
    "email": "utter_email_invalid",
    "kind": "utter_invoice_kind_invalid",
}


def tell_status(request: Request, invoice: InvoiceRequest) -> None:
    values = {
        "kind": invoices.KIND_NAMES.get(invoice.kind, invoice.kind),
        "title": invoice.title,
        "email": invoice.email,
    }
    if invoice.status == invoices.ISSUED:
        request.say("utter_invoice_status_issued", invoice_no=invoice.invoice_no or "", **values)
    else:
        request.say("utter_invoice_status_pending", request_number=invoice.number, **values)


@handler("request_invoice")
class RequestInvoice:
    def needs(self, order: Order, tracker: Tracker) -> List[str]:
        if order.status == orders.CANCELLED:
            return []
        kind, title = tracker.get_slot("invoice_kind"), tracker.get_slot("invoice_title")
        needed = ["invoice_kind", "invoice_title"]
        if invoices.needs_credit_code(kind, title):
            needed.append("tax_id")
        return [*needed, "invoice_email"]

    def handle(self, request: Request) -> RunResult:
        order = request.order
        existing = invoices.latest_request(request.session, order)
        if existing is not None and order.status != orders.CANCELLED:
            request.say("utter_invoice_already_requested")
            tell_status(request, existing)
            return []
        try:
            invoice = invoices.request_invoice(
                request.session,
                order,
                kind=request.slot("invoice_kind") or "",
                title=request.slot("invoice_title") or "",
                tax_id=request.slot("tax_id"),
                email=request.slot("invoice_email") or "",
                **request.origin,
            )
        except RequestRefused as refused:
            request.say(REFUSALS[refused.reason])
            return []
        request.say(
            "utter_invoice_requested",
            kind=invoices.KIND_NAMES[invoice.kind],
            title=invoice.title,
            email=invoice.email,
            request_number=invoice.number,
        )
        return []


@handler("check_invoice")
class CheckInvoice:
    def needs(self, order: Order, tracker: Tracker) -> List[str]:
        return []

    def handle(self, request: Request) -> RunResult:
        invoice = invoices.latest_request(request.session, request.order)
        if invoice is None:
            request.say("utter_invoice_none")
        else:
            tell_status(request, invoice)
        return []
