"""Database engines and the schema: SQLite under `var/` by default, PostgreSQL when
`ARBITER_DATABASE_URL` names it. Factories only: nothing is created at import time.

Each platform module declares its tables in its own `models.py` on the shared SQLModel
metadata; `create_schema` creates whatever is missing (tests, embedded defaults), and
deployed databases move with the Alembic migrations in `migrations/` (`arbiter db upgrade`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel, create_engine

DEFAULT_URL = "sqlite:///var/arbiter.db"


def database_url(environ: Mapping[str, str]) -> str:
    return environ.get("ARBITER_DATABASE_URL") or DEFAULT_URL


def make_engine(url: str = DEFAULT_URL, *, echo: bool = False) -> Engine:
    """An engine for `url`. SQLite gets its folder created, WAL journaling, foreign keys and a
    busy timeout so that several processes can share the file; PostgreSQL gets pre-ping."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def create_schema(engine: Engine) -> None:
    """Create every table the platform modules declare (importing their models registers them)."""
    import arbiter.platform.models  # noqa: F401  - registers every module's tables

    SQLModel.metadata.create_all(engine)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class UnitOfWork:
    """One business operation's transaction: use cases take one, do their work in its session
    and commit once; leaving without commit rolls back."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.session = Session(engine, expire_on_commit=False)

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[UnitOfWork]:
    with UnitOfWork(engine) as uow:
        yield uow
