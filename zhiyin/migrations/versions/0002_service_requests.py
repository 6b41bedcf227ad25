"""Service requests: refunds, after-sales cases, invoice requests, price history and price-protection
claims, installation bookings and the order action log; orders gain the unit price paid, the
payment method, the address and the delivery day.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 21:24:33.757080
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "price_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_sku", sa.String(length=32), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_sku"],
            ["products.sku"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_price_history_product_sku", "price_history", ["product_sku"], unique=False)

    op.create_table(
        "after_sales_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_no", sa.String(length=20), nullable=False),
        sa.Column("order_id", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.Column("pickup_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_no"),
    )
    op.create_index("ix_after_sales_cases_order_id", "after_sales_cases", ["order_id"], unique=False)

    op.create_table(
        "installation_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("window", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("sender", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_installation_bookings_order_id", "installation_bookings", ["order_id"], unique=False)

    op.create_table(
        "invoice_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("tax_id", sa.String(length=18), nullable=True),
        sa.Column("email", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invoice_no", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("sender", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_invoice_requests_order_id", "invoice_requests", ["order_id"], unique=False)

    op.create_table(
        "order_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("sender", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_order_actions_order_id", "order_actions", ["order_id"], unique=False)

    op.create_table(
        "price_protection_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=12), nullable=False),
        sa.Column("paid_fen", sa.Integer(), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("refund_fen", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_price_protection_claims_order_id", "price_protection_claims", ["order_id"], unique=False)

    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=12), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_refunds_order_id", "refunds", ["order_id"], unique=False)

    # Orders placed before this revision paid the product's price of the day: the catalog price
    # is the best record of it. The column becomes NOT NULL once every row has a value.
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_price_fen", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("payment_method", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("delivery_date", sa.Date(), nullable=True))
    op.execute(
        "UPDATE orders SET unit_price_fen = "
        "(SELECT products.price_fen FROM products WHERE products.sku = orders.product_sku)"
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column("unit_price_fen", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("delivery_date")
        batch_op.drop_column("address")
        batch_op.drop_column("payment_method")
        batch_op.drop_column("unit_price_fen")

    op.drop_index("ix_refunds_order_id", table_name="refunds")

    op.drop_table("refunds")
    op.drop_index("ix_price_protection_claims_order_id", table_name="price_protection_claims")

    op.drop_table("price_protection_claims")
    op.drop_index("ix_order_actions_order_id", table_name="order_actions")

    op.drop_table("order_actions")
    op.drop_index("ix_invoice_requests_order_id", table_name="invoice_requests")

    op.drop_table("invoice_requests")
    op.drop_index("ix_installation_bookings_order_id", table_name="installation_bookings")

    op.drop_table("installation_bookings")
    op.drop_index("ix_after_sales_cases_order_id", table_name="after_sales_cases")

    op.drop_table("after_sales_cases")
    op.drop_index("ix_price_history_product_sku", table_name="price_history")

    op.drop_table("price_history")
