"""Databases for the payments tests: a SQLite file per test, and a private PostgreSQL schema
per session whose payments tables are emptied after each test; the demo rule set, compiled
once per session; a fresh engine, router and verifier per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_paths
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.engine.engine import Engine as Decisions
from arbiter.platform.db import create_schema, make_engine
from arbiter.platform.payments.service import Router, SimulatedVerifier

from .support import RULES, T0, router_of

TABLES = ("payments_refund", "payments_payment", "platform_event")


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'arbiter.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    schema = f"test_payments_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        schema_engine = make_engine(url.render_as_string(hide_password=False))
        create_schema(schema_engine)
        schema_engine.dispose()
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def postgresql_engine(postgres_schema_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_schema_url)
    yield engine
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE " + ", ".join(TABLES)))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Engine:
    """The same test on SQLite and on PostgreSQL."""
    engine: Engine = request.getfixturevalue(f"{request.param}_engine")
    return engine


@pytest.fixture(scope="session")
def demo_rules() -> Ruleset:
    result = check_paths([RULES])
    assert result.ok, [d.message for d in result.errors]
    return compile_program(result)


@pytest.fixture
def decisions(demo_rules: Ruleset) -> Decisions:
    """An engine over the demo rules with velocity counters of this test's own."""
    return Decisions(demo_rules, FixedClock(T0), version=1)


@pytest.fixture
def router() -> Router:
    return router_of()


@pytest.fixture
def verifier() -> SimulatedVerifier:
    return SimulatedVerifier()
