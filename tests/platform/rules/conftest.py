"""A fresh database per test, SQLite (a temp file) and PostgreSQL (a schema of its own)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from arbiter.clock import FixedClock
from arbiter.platform.db import create_schema, make_engine

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)


@dataclass
class Database:
    kind: str
    url: str  # for other processes: the same database (and schema)
    engine: Engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'var' / 'arbiter.db'}"
        engine = make_engine(url)
        create_schema(engine)
        yield Database("sqlite", url, engine)
        engine.dispose()
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"rules_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    in_schema = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = in_schema.render_as_string(hide_password=False)
    engine = make_engine(rendered)
    create_schema(engine)
    try:
        yield Database("postgres", rendered, engine)
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)
