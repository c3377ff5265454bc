"""Stores for the promotions tests: a SQLite file per test, a private PostgreSQL schema per
session (its tables emptied after each test), and Redis keys under a prefix of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from arbiter.clock import FixedClock
from arbiter.platform.db import create_schema, make_engine
from arbiter.platform.promotions.budgets import BudgetStore, SqlBudgets
from arbiter.platform.promotions.redis_budgets import RedisBudgets

from .support import T0

TABLES = (
    "promotion_budget", "promotion_usage", "promotion_reservation", "coupon", "coupon_claim_count",
    "coupon_template", "promotion_operation",
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'arbiter.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    schema = f"test_promotions_{uuid.uuid4().hex[:12]}"
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
        connection.execute(text("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Engine:
    """The same test on SQLite and on PostgreSQL."""
    engine: Engine = request.getfixturevalue(f"{request.param}_engine")
    return engine


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: Any) -> Iterator[str]:
    """A key prefix of the test's own; its keys are deleted afterwards."""
    prefix = f"arbiter-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def budgets(request: pytest.FixtureRequest, clock: FixedClock) -> BudgetStore:
    """The same budget test on SqlBudgets (SQLite, PostgreSQL) and RedisBudgets."""
    if request.param == "redis":
        client = request.getfixturevalue("redis_client")
        return RedisBudgets(client, clock, prefix=request.getfixturevalue("redis_prefix"))
    return SqlBudgets(request.getfixturevalue(f"{request.param}_engine"), clock)
