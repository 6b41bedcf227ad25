"""Personal data at rest: tickets' phone numbers and free text, notes and agent replies are
encrypted (zhiyin.crypto), phone numbers found by a keyed hash; order verifications, failed
verifications and the privacy audit log.

Existing rows are encrypted in place, so an upgraded database keeps no readable copy.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zhiyin import crypto

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# (table, columns) whose values are encrypted from this revision on.
ENCRYPTED = (("tickets", ("text", "phone")), ("ticket_notes", ("text",)), ("agent_messages", ("text",)))


def upgrade() -> None:
    op.create_table(
        "order_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=12), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_order_verifications_sender", "order_verifications", ["sender"])
    op.create_table(
        "verification_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_verification_failures_sender", "verification_failures", ["sender"])
    op.create_index("ix_verification_failures_address", "verification_failures", ["address"])
    op.create_table(
        "privacy_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.alter_column("phone", existing_type=sa.String(length=11), type_=sa.Text(), existing_nullable=True)
        batch_op.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_tickets_phone_hash", ["phone_hash"], unique=False)

    connection = op.get_bind()
    tickets = sa.table("tickets", sa.column("id"), sa.column("phone"), sa.column("phone_hash"))
    for row in connection.execute(sa.select(tickets.c.id, tickets.c.phone).where(tickets.c.phone.isnot(None))):
        phone = crypto.decrypt(row.phone)
        connection.execute(tickets.update().where(tickets.c.id == row.id).values(phone_hash=crypto.lookup_hash(phone)))
    for table_name, columns in ENCRYPTED:
        table = sa.table(table_name, sa.column("id"), *(sa.column(name) for name in columns))
        for row in connection.execute(sa.select(table)).mappings().all():
            values = {
                name: crypto.encrypt(row[name])
                for name in columns
                if row[name] is not None and not crypto.is_encrypted(row[name])
            }
            if values:
                connection.execute(table.update().where(table.c.id == row["id"]).values(**values))


def downgrade() -> None:
    connection = op.get_bind()
    for table_name, columns in ENCRYPTED:
        table = sa.table(table_name, sa.column("id"), *(sa.column(name) for name in columns))
        for row in connection.execute(sa.select(table)).mappings().all():
            values = {name: crypto.decrypt(row[name]) for name in columns if row[name] is not None}
            if values:
                connection.execute(table.update().where(table.c.id == row["id"]).values(**values))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_phone_hash")
        batch_op.drop_column("phone_hash")
        batch_op.alter_column("phone", existing_type=sa.Text(), type_=sa.String(length=11), existing_nullable=True)
    op.drop_table("privacy_audit")
    op.drop_index("ix_verification_failures_address", table_name="verification_failures")
    op.drop_index("ix_verification_failures_sender", table_name="verification_failures")
    op.drop_table("verification_failures")
    op.drop_index("ix_order_verifications_sender", table_name="order_verifications")
    op.drop_table("order_verifications")
