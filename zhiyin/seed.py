"""Bring the schema to the latest migration and load the seed catalog and sample orders (idempotent).

Run as ``python -m zhiyin.seed`` (`make run` does, before serving); safe to run on every start:
an existing database is upgraded by its Alembic migrations, existing rows are updated in place
and nothing is duplicated. Tickets are never touched.
"""

from __future__ import annotations

import argparse
import logging
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zhiyin.db import Company, Order, Product, TrackingEvent, get_engine, session_scope
from zhiyin.migrate import upgrade
from zhiyin.paths import SEED_DIR

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


def _upsert_orders(session: Session, orders: List[Dict[str, Any]]) -> None:
    for item in orders:
        order = session.get(Order, item["order_id"]) or Order(order_id=item["order_id"])
        order.product_sku = item["sku"]
        order.quantity = item["quantity"]
        order.phone = str(item["phone"])
        order.status = item["status"]
        order.carrier = item.get("carrier")
        order.tracking_no = item.get("tracking_no")
        order.created_at = datetime.strptime(item["created_at"], TIME_FORMAT)
        session.add(order)
        session.flush()
        session.execute(delete(TrackingEvent).where(TrackingEvent.order_id == order.order_id))
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


def seed_database(engine: Optional[Engine] = None, seed_dir: Path = SEED_DIR) -> Dict[str, int]:
    """Upgrade the schema and load the seed files; returns row counts for logging."""
    engine = engine or get_engine()
    upgrade(engine)
    catalog = load_catalog(seed_dir)
    orders = load_yaml(seed_dir / "orders.yml")["orders"]
    with session_scope(engine) as session:
        _upsert_catalog(session, catalog)
        _upsert_orders(session, orders)
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
