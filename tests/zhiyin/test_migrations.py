"""Schema migrations: they build exactly the models' schema, and an existing database keeps its rows."""

from __future__ import annotations

from datetime import datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, func, inspect, select, text

from zhiyin import crypto, db
from zhiyin.migrate import INITIAL_REVISION, alembic_config, current_revision, main, upgrade
from zhiyin.seed import seed_database
from zhiyin.services import tickets

HEAD = ScriptDirectory.from_config(alembic_config(db.get_engine("sqlite://"))).get_current_head()


def differences(engine):
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), db.Base.metadata)


def test_the_migrations_build_the_models_schema(empty_engine):
    assert upgrade(empty_engine) == HEAD
    assert differences(empty_engine) == []


def test_upgrading_twice_changes_nothing(empty_engine):
    upgrade(empty_engine)
    assert upgrade(empty_engine) == HEAD
    assert differences(empty_engine) == []


def pre_migration_database(engine):
    """What zhiyin left before it had migrations: the initial schema, no alembic_version table."""
    command.upgrade(alembic_config(engine), INITIAL_REVISION)
    Table("alembic_version", MetaData()).drop(engine)
    assert current_revision(engine) is None and inspect(engine).has_table("tickets")


def test_a_database_from_before_migrations_upgrades_with_its_rows(empty_engine):
    pre_migration_database(empty_engine)
    with empty_engine.begin() as connection:  # rows as the first schema held them
        connection.execute(text("INSERT INTO companies (name, aliases) VALUES ('华为', '[]')"))
        connection.execute(
            text(
                "INSERT INTO products (sku, name, company, category, price_fen, stock, warranty, specs, aliases) "
                "VALUES ('HW-OLD', '华为旧款', '华为', '手机', 199900, 3, '一年', '{}', '[]')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO orders (order_id, product_sku, quantity, phone, status, created_at) "
                "VALUES ('202601010001', 'HW-OLD', 2, '13812345678', '已签收', '2026-01-01 10:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO tickets (kind, text, phone, created_at, status) "
                "VALUES ('complaint', '冰箱门有凹痕', '13812345678', :created, 'open')"
            ),
            {"created": datetime(2026, 11, 1)},
        )
        connection.execute(
            text(
                "INSERT INTO tickets (kind, text, channel, sender, created_at, status) "
                "VALUES ('handoff', '转人工', 'rest', 'c-1', :created, 'closed')"
            ),
            {"created": datetime(2026, 11, 2)},
        )

    seed_database(empty_engine)  # what `make run` does: upgrade, then load seed/

    assert current_revision(empty_engine) == HEAD
    assert differences(empty_engine) == []
    with db.session_scope(empty_engine) as session:
        rows = session.scalars(select(db.Ticket).order_by(db.Ticket.id)).all()
        assert [(t.kind, t.text, t.phone, t.status) for t in rows] == [
            ("complaint", "冰箱门有凹痕", "13812345678", "open"),
            ("handoff", "转人工", None, "closed"),
        ]
        assert rows[0].number == "ZY202611010001"
        old = session.get(db.Order, "202601010001")
        assert (old.quantity, old.status, old.phone) == (2, "已签收", "13812345678")
        assert old.unit_price_fen == 199900  # filled from the catalog price by the migration
        assert session.scalar(select(func.count()).select_from(db.Product)) >= 40
        new = tickets.create_ticket(session, "suggestion", "多上新品")
        assert new.id == 3
    with empty_engine.connect() as connection:  # the old rows are encrypted in place
        raw_text, raw_phone, phone_hash = connection.execute(
            text("SELECT text, phone, phone_hash FROM tickets WHERE id = 1")
        ).one()
    assert crypto.is_encrypted(raw_text) and crypto.is_encrypted(raw_phone)
    assert phone_hash == crypto.lookup_hash("13812345678")


def test_the_command_line_upgrades_and_reports(empty_engine, capsys):
    assert main(["upgrade"]) == 0
    assert f"database at revision {HEAD}" in capsys.readouterr().out
    assert main(["current"]) == 0
    assert capsys.readouterr().out.strip() == HEAD
