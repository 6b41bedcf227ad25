"""Settings read from the environment, each with its default in one place."""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional

from zhiyin.paths import VAR_DIR

DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'zhiyin.db'}"


def database_url() -> str:
    """The business database: ``DATABASE_URL`` (any SQLAlchemy URL), else a SQLite file in var/."""
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def settings_from(credentials: Optional[Mapping[str, Any]], environment: Mapping[str, str]) -> Dict[str, Optional[str]]:
    """Each setting from credentials.yml, else from its environment variable (name -> variable)."""
    credentials = credentials or {}
    return {key: credentials.get(key) or os.environ.get(variable) or None for key, variable in environment.items()}
