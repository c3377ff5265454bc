"""Databases for the platform modules' tests: a SQLite file per test, and a private PostgreSQL
schema per test (created with every table, dropped after). `db` runs a test on both.

Folders with fixtures of their own (promotions, risk, ...) may override these names."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from arbiter.platform.db import create_schema, make_engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'arbiter.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL schema of this test's own (dropped after)."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = make_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def postgresql_engine(postgres_schema_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_schema_url)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Engine:
    """The same test on SQLite and on PostgreSQL."""
    engine: Engine = request.getfixturevalue(f"{request.param}_engine")
    return engine
