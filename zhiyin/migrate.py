"""Database schema migrations (Alembic): upgrade any zhiyin database to the current schema.

`make run` upgrades before serving (through zhiyin.seed), so a shop that updates zhiyin keeps
its tickets. A database made before migrations existed (tables, no ``alembic_version``) holds
the initial schema: it is stamped with the initial revision, then upgraded like any other.

    python -m zhiyin.migrate upgrade              # the configured DATABASE_URL to head
    python -m zhiyin.migrate current              # its revision
    python -m zhiyin.migrate revision -m "add invoices"   # a new migration from the models
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import List, Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from zhiyin.db import get_engine

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
INITIAL_REVISION = "0001"
# A table every zhiyin database has had since the first release.
LEGACY_MARKER_TABLE = "tickets"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> Optional[str]:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Optional[Engine] = None, revision: str = "head") -> Optional[str]:
    """Bring the database to `revision` (default: the latest); returns the revision it is at."""
    engine = engine or get_engine()
    config = alembic_config(engine)
    if current_revision(engine) is None and inspect(engine).has_table(LEGACY_MARKER_TABLE):
        logger.info("database without migration history: stamping it with the initial schema")
        command.stamp(config, INITIAL_REVISION)
    command.upgrade(config, revision)
    return current_revision(engine)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zhiyin.migrate", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="overrides DATABASE_URL")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("upgrade", help="upgrade to the latest schema")
    commands.add_parser("current", help="print the database's revision")
    revision = commands.add_parser("revision", help="write a new migration, compared against the models")
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    engine = get_engine(args.database_url) if args.database_url else get_engine()
    if args.command == "upgrade":
        print(f"database at revision {upgrade(engine)}")
    elif args.command == "current":
        print(current_revision(engine) or "none (empty database or no migration history)")
    else:
        upgrade(engine)  # autogenerate compares the models with an up-to-date database
        command.revision(alembic_config(engine), message=args.message, autogenerate=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
