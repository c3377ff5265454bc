"""Alembic's entry point: runs the revisions against `sqlalchemy.url` (set by
`arbiter.platform.migrations.config`, or `ARBITER_DATABASE_URL` for the `alembic` command),
comparing against the SQLModel metadata of every platform module."""

from __future__ import annotations

import os
from typing import Any, Literal

from alembic import context
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import arbiter.platform.models  # noqa: F401  - registers every module's tables
from arbiter.platform.db import DEFAULT_URL, make_engine

config = context.config
target_metadata = SQLModel.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Revisions name plain SQLAlchemy types: SQLModel's AutoString is a VARCHAR."""
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or os.environ.get("ARBITER_DATABASE_URL") or DEFAULT_URL


def run_offline() -> None:
    """Print the SQL instead of running it (`alembic upgrade head --sql`)."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            # Batch mode lets later revisions alter SQLite tables (it copies them).
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                              render_item=render_item)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
