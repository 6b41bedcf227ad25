from sqlalchemy import func, select

from zhiyin.db import Order, Product, Ticket, TrackingEvent
from zhiyin.paths import SEED_DIR
from zhiyin.seed import load_yaml, seed_database
from zhiyin.services import tickets


def counts(session):
    return {
        model.__name__: session.scalar(select(func.count()).select_from(model))
        for model in (Product, Order, TrackingEvent, Ticket)
    }


def test_seed_meets_catalog_size(session):
    products = session.scalars(select(Product)).all()
    assert len(products) >= 40
    assert len({p.company for p in products}) >= 6
    assert len({p.category for p in products}) >= 6
    assert session.scalar(select(func.count()).select_from(Order)) >= 30
    assert all(len(o.order_id) == 12 and o.order_id.isdigit() for o in session.scalars(select(Order)))


def test_seed_is_idempotent_and_keeps_tickets(database, session):
    tickets.create_ticket(session, "suggestion", "多上新品")
    session.commit()
    before = counts(session)
    seed_database(database)
    seed_database(database)
    session.expire_all()
    assert counts(session) == before


def test_seed_updates_changed_rows(database, session, tmp_path):
    catalog = load_yaml(SEED_DIR / "products.yml")
    catalog["products"][0]["price"] = 1.5
    (tmp_path / "seed").mkdir()
    import yaml

    (tmp_path / "seed" / "products.yml").write_text(yaml.safe_dump(catalog, allow_unicode=True), encoding="utf-8")
    (tmp_path / "seed" / "orders.yml").write_text(
        (SEED_DIR / "orders.yml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    seed_database(database, tmp_path / "seed")
    session.expire_all()
    product = session.scalar(select(Product).where(Product.sku == catalog["products"][0]["sku"]))
    assert product.price_fen == 150


def test_each_products_latest_price_point_is_its_catalog_price(session):
    """seed/prices.yml and seed/products.yml must agree on today's price (price protection reads both)."""
    from datetime import datetime

    from zhiyin.db import PricePoint
    from zhiyin.services.price_protection import price_at

    skus = set(session.scalars(select(PricePoint.product_sku)))
    assert skus
    for product in session.scalars(select(Product).where(Product.sku.in_(skus))):
        assert price_at(session, product, datetime.max) == product.price_fen, product.sku
