"""`arbiter db`: bring the database to the newest schema revision, and say where it is.

The database is `ARBITER_DATABASE_URL` (SQLite at `var/arbiter.db` when unset). Run
`arbiter db upgrade` before starting (or after updating) the service: the revisions under
`arbiter/platform/migrations/versions` are applied in order, each once. A database whose
tables were made before migrations existed (by the service's first start) is adopted with
`arbiter db stamp 0001` once, after checking that nothing else changed it.

Exit status: 0 done; 2 an unreachable database or a revision that cannot be applied.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from arbiter.commands.common import fail

app = typer.Typer(
    help="Upgrade the database schema; show its revision.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Revision = Annotated[str, typer.Argument(help="A revision id, or head (the newest).")]


def _url() -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    from arbiter.platform.db import database_url

    url = database_url(os.environ)
    return url, make_url(url).render_as_string(hide_password=True)


def _first_line(exc: BaseException) -> str:
    return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]


@app.command()
def upgrade(revision: Revision = "head") -> None:
    """Apply every revision up to REVISION (default: head)."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from arbiter.platform import migrations
    from arbiter.platform.db import make_engine

    url, shown = _url()
    try:
        before = migrations.current(url)
        if before is None:
            engine = make_engine(url)
            try:
                tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
            finally:
                engine.dispose()
            if tables:
                fail(f"database {shown} has tables but no schema revision (made before migrations); "
                     "check which revision it matches, then stamp it: `arbiter db stamp head` when this "
                     "version of arbiter made it")
        migrations.upgrade(url, revision)
        after = migrations.current(url)
    except SQLAlchemyError as exc:
        fail(f"database {shown}: {_first_line(exc)}")
    except Exception as exc:  # Alembic's own errors (an unknown revision, ...)
        fail(f"cannot upgrade {shown}: {_first_line(exc)}")
    if after == before:
        typer.echo(f"{shown} is at revision {after}; nothing to do")
    else:
        typer.echo(f"{shown} upgraded from {before or 'an empty schema'} to revision {after}")


@app.command()
def current() -> None:
    """Print the revision the database is at (`none` before the first upgrade)."""
    from sqlalchemy.exc import SQLAlchemyError

    from arbiter.platform import migrations

    url, shown = _url()
    try:
        typer.echo(migrations.current(url) or "none")
    except SQLAlchemyError as exc:
        fail(f"database {shown}: {_first_line(exc)}")


@app.command()
def stamp(revision: Revision) -> None:
    """Record REVISION as applied without running it (adopting a database made before)."""
    from alembic import command
    from sqlalchemy.exc import SQLAlchemyError

    from arbiter.platform import migrations

    url, shown = _url()
    try:
        command.stamp(migrations.config(url), revision)
    except SQLAlchemyError as exc:
        fail(f"database {shown}: {_first_line(exc)}")
    except Exception as exc:
        fail(f"cannot stamp {shown}: {_first_line(exc)}")
    typer.echo(f"{shown} is now at revision {migrations.current(url)}")
