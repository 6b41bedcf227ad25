"""initial schema: catalog, orders with tracking events, tickets (zhiyin before migrations)

Revision ID: 0001
Revises:
Create Date: 2026-11-27 21:02:46.860009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("order_id", sa.String(length=12), nullable=True),
        sa.Column("product", sa.String(length=128), nullable=True),
        sa.Column("phone", sa.String(length=11), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("sender", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tickets_kind", "tickets", ["kind"], unique=False)

    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("company", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("warranty", sa.String(length=128), nullable=False),
        sa.Column("specs", sa.JSON(), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company"],
            ["companies.name"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("sku"),
    )
    op.create_index("ix_products_category", "products", ["category"], unique=False)
    op.create_index("ix_products_company", "products", ["company"], unique=False)

    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(length=12), nullable=False),
        sa.Column("product_sku", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=True),
        sa.Column("tracking_no", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_sku"],
            ["products.sku"],
        ),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_table(
        "tracking_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=12), nullable=False),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tracking_events_order_id", "tracking_events", ["order_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tracking_events_order_id", table_name="tracking_events")

    op.drop_table("tracking_events")
    op.drop_table("orders")
    op.drop_index("ix_products_company", table_name="products")
    op.drop_index("ix_products_category", table_name="products")

    op.drop_table("products")
    op.drop_index("ix_tickets_kind", table_name="tickets")

    op.drop_table("tickets")
    op.drop_table("companies")
