"""Bring the schema to the latest migration and load seed/ (idempotent).

Run as ``python -m zhiyin.seed`` (`make run` does, before serving); safe to run on every start:
an existing database is upgraded by its Alembic migrations; the catalog and its price history
are updated in place from seed/ (the shop's catalog is kept there); sample orders, refunds,
after-sales cases and invoices are inserted once, since customers then change them (cancel, new
address, bookings). Nothing is duplicated and tickets are never touched.
"""

from __future__ import annotations

import argparse
import logging
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zhiyin.db import (
    AfterSalesCase,
    Company,
    InvoiceRequest,
    Order,
    PricePoint,
    Product,
    Refund,
    TrackingEvent,
    get_engine,
    session_scope,
)
from zhiyin.migrate import upgrade
from zhiyin.paths import SEED_DIR
from zhiyin.services.price_protection import price_at

logger = logging.getLogger(__name__)

TIME_FORMAT = "%Y-%m-%d %H:%M"


def load_yaml(path: Path) -> Dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: Dict[str, Any] = yaml.safe_load(handle)
    return data


def load_catalog(seed_dir: Path = SEED_DIR) -> Dict[str, Any]:
    """The seed catalog (seed/products.yml): `companies` and `products`, with their aliases."""
    return load_yaml(seed_dir / "products.yml")


def _upsert_catalog(session: Session, catalog: Dict[str, Any]) -> None:
    for item in catalog["companies"]:
        session.merge(Company(name=item["name"], aliases=list(item.get("aliases", []))))
    session.flush()
    existing = {p.sku: p for p in session.query(Product).all()}
    for item in catalog["products"]:
        product = existing.get(item["sku"]) or Product(sku=item["sku"])
        product.name = item["name"]
        product.company = item["company"]
        product.category = item["category"]
        product.price_fen = int(Decimal(str(item["price"])) * 100)
        product.stock = item["stock"]
        product.warranty = item["warranty"]
        product.specs = dict(item.get("specs", {}))
        product.aliases = [str(a) for a in item.get("aliases", [])]
        session.add(product)
    session.flush()


def _time(value: Any) -> Optional[datetime]:
    return datetime.strptime(str(value), TIME_FORMAT) if value else None


def _fen(yuan: Any) -> int:
    return int(Decimal(str(yuan)) * 100)


def _upsert_prices(session: Session, prices: List[Dict[str, Any]]) -> None:
    existing = {(p.product_sku, p.valid_from): p for p in session.scalars(select(PricePoint))}
    for item in prices:
        valid_from = datetime.strptime(str(item["from"]), TIME_FORMAT)
        point = existing.get((item["sku"], valid_from)) or PricePoint(product_sku=item["sku"], valid_from=valid_from)
        point.price_fen = _fen(item["price"])
        session.add(point)
    session.flush()


def _insert_orders(session: Session, orders: List[Dict[str, Any]]) -> None:
    """Sample orders are inserted once: afterwards customers change them (cancel, new address…)."""
    for item in orders:
        if session.get(Order, item["order_id"]) is not None:
            continue
        created_at = datetime.strptime(item["created_at"], TIME_FORMAT)
        product = session.scalar(select(Product).where(Product.sku == item["sku"]))
        if product is None:
            raise ValueError(f"order {item['order_id']}: unknown sku {item['sku']!r}")
        order = Order(
            order_id=item["order_id"],
            product_sku=item["sku"],
            quantity=item["quantity"],
            phone=str(item["phone"]),
            status=item["status"],
            carrier=item.get("carrier"),
            tracking_no=item.get("tracking_no"),
            created_at=created_at,
            unit_price_fen=_fen(item["unit_price"]) if "unit_price" in item else price_at(session, product, created_at),
            payment_method=item.get("payment"),
            address=item.get("address"),
            delivery_date=date.fromisoformat(str(item["delivery_date"])) if item.get("delivery_date") else None,
        )
        session.add(order)
        for event in item.get("events", []):
            session.add(
                TrackingEvent(
                    order_id=order.order_id,
                    time=datetime.strptime(event["time"], TIME_FORMAT),
                    location=event.get("location") or "",
                    description=event["description"],
                )
            )
    session.flush()


def _insert_service_records(session: Session, service: Dict[str, Any]) -> None:
    """Sample refunds, after-sales cases and invoices, each inserted once."""
    # Only the seeded orders' rows are looked at: a shop's own refunds and invoices can be many.
    seeded = {item["order_id"] for key in ("refunds", "invoices") for item in service.get(key, [])}
    refunds = {(r.order_id, r.requested_at) for r in session.scalars(select(Refund).where(Refund.order_id.in_(seeded)))}
    for item in service.get("refunds", []):
        if (item["order_id"], _time(item["requested_at"])) in refunds:
            continue
        session.add(
            Refund(
                order_id=item["order_id"],
                amount_fen=_fen(item["amount"]),
                reason=item["reason"],
                destination=session.get(Order, item["order_id"]).payment_method,
                status=item["status"],
                requested_at=_time(item["requested_at"]),
                completed_at=_time(item.get("completed_at")),
            )
        )
    case_numbers = [item["case_no"] for item in service.get("after_sales", [])]
    cases = set(session.scalars(select(AfterSalesCase.case_no).where(AfterSalesCase.case_no.in_(case_numbers))))
    for item in service.get("after_sales", []):
        if item["case_no"] in cases:
            continue
        session.add(
            AfterSalesCase(
                case_no=item["case_no"],
                order_id=item["order_id"],
                kind=item["kind"],
                status=item["status"],
                reason=item.get("reason", ""),
                pickup_at=_time(item.get("pickup_at")),
                note=item.get("note", ""),
                created_at=_time(item["created_at"]),
                updated_at=_time(item["updated_at"]),
            )
        )
    invoices = {
        (i.order_id, i.created_at)
        for i in session.scalars(select(InvoiceRequest).where(InvoiceRequest.order_id.in_(seeded)))
    }
    for item in service.get("invoices", []):
        if (item["order_id"], _time(item["created_at"])) in invoices:
            continue
        session.add(
            InvoiceRequest(
                order_id=item["order_id"],
                kind=item["kind"],
                title=item["title"],
                tax_id=item.get("tax_id"),
                email=item["email"],
                status=item["status"],
                invoice_no=item.get("invoice_no"),
                created_at=_time(item["created_at"]),
                issued_at=_time(item.get("issued_at")),
            )
        )
    session.flush()


def seed_database(engine: Optional[Engine] = None, seed_dir: Path = SEED_DIR) -> Dict[str, int]:
    """Upgrade the schema and load the seed files; returns row counts for logging."""
    engine = engine or get_engine()
    upgrade(engine)
    catalog = load_catalog(seed_dir)
    orders = load_yaml(seed_dir / "orders.yml")["orders"]
    prices = load_yaml(seed_dir / "prices.yml")["prices"] if (seed_dir / "prices.yml").exists() else []
    service = load_yaml(seed_dir / "service.yml") if (seed_dir / "service.yml").exists() else {}
    with session_scope(engine) as session:
        _upsert_catalog(session, catalog)
        _upsert_prices(session, prices)
        _insert_orders(session, orders)
        _insert_service_records(session, service)
        counts = {
            "companies": session.query(Company).count(),
            "products": session.query(Product).count(),
            "orders": session.query(Order).count(),
        }
    return counts


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="overrides DATABASE_URL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    counts = seed_database(get_engine(args.database_url) if args.database_url else None)
    logger.info("database seeded: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
