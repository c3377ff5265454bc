"""What the `arbiter` sub-commands share: one-line failures with an exit status, rule files
named on the command line, and a unit of work on the configured database.

The database layer is imported when a command runs, not when `arbiter` starts: `arbiter
check` and friends should not pay for SQLAlchemy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from arbiter.dsl.checker import rule_files

if TYPE_CHECKING:
    from arbiter.platform.db import UnitOfWork


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def existing_rule_paths(paths: list[Path]) -> list[Path]:
    for path in paths:
        if not path.exists():
            fail(f"{path}: no such file or folder")
    if not rule_files(paths):
        fail("no .rules files found in " + ", ".join(str(p) for p in paths))
    return paths


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """A unit of work on `ARBITER_DATABASE_URL` (SQLite under var/ when unset), with the
    schema created on first use; database failures become one-line errors (exit 2)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from arbiter.platform.db import UnitOfWork, create_schema, database_url, make_engine

    url = database_url(os.environ)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        engine = make_engine(url)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        fail(f"cannot use the database {shown}: {exc}")
    try:
        create_schema(engine)
        with UnitOfWork(engine) as uow:
            yield uow
    except SQLAlchemyError as exc:
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        fail(f"database {shown}: {first}")
    finally:
        engine.dispose()
