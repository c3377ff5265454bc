"""Databases for the risk tests: a SQLite file per test, and a private PostgreSQL schema per
session (dropped at the end) whose tables are emptied after each test; the demo rule set,
compiled once per session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from arbiter.dsl.checker import check_paths
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.engine.velocity import InMemoryVelocity, VelocityStore
from arbiter.platform.db import create_schema, make_engine

RULES = Path(__file__).resolve().parents[3] / "rules"

TABLES = ("risk_review_action", "risk_review_case", "risk_list_entry", "audit_log", "platform_event")


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'arbiter.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    schema = f"test_risk_{uuid.uuid4().hex[:12]}"
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
    """The demo rule set in `rules/`."""
    result = check_paths([RULES])
    assert result.ok, [d.message for d in result.errors]
    return compile_program(result)


@pytest.fixture(params=["memory", "redis"])
def velocity(request: pytest.FixtureRequest) -> Iterator[VelocityStore]:
    """Velocity counters in process, and in Redis under a prefix of the test's own."""
    if request.param == "memory":
        yield InMemoryVelocity()
        return
    import redis

    from arbiter.platform.risk.velocity import RedisVelocity

    client = redis.Redis.from_url(request.getfixturevalue("redis_url"), socket_timeout=10)
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield RedisVelocity(client, prefix)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def ruleset(demo_rules: Ruleset) -> Ruleset:
    return demo_rules
