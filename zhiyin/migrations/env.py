"""Alembic environment: runs migrations on the engine zhiyin.migrate hands over."""

from __future__ import annotations

from alembic import context

from zhiyin.db import Base, get_engine

config = context.config


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or get_engine()
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            # SQLite alters tables by copying them: Alembic's batch mode does that.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("zhiyin runs its migrations online (python -m zhiyin.migrate upgrade)")
run_migrations_online()
