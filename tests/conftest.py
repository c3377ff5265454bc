"""Fixtures for tests that need the real services: PostgreSQL and Redis.

Each fixture connects once per session. When a service cannot be reached, its tests are
skipped on a developer's machine (with a message saying how to start it) but fail under CI
(`CI=true`), where both services must be there.
"""

from __future__ import annotations

import os

import pytest

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(service: str, url: str, reason: BaseException) -> None:
    first_line = (str(reason).strip().splitlines() or [""])[0]
    message = (
        f"{service} is not reachable at {url} ({type(reason).__name__}: {first_line}). "
        "Run scripts/services.sh to start it, or point the URL elsewhere with the "
        f"ARBITER_TEST_{'DATABASE' if service == 'PostgreSQL' else 'REDIS'}_URL variable."
    )
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A SQLAlchemy URL of a reachable PostgreSQL database (checked with `select 1`)."""
    from sqlalchemy import create_engine, text

    url = os.environ.get("ARBITER_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    failure: Exception | None = None
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:  # any failure to connect means "not there"
        failure = exc
    finally:
        engine.dispose()
    if failure is not None:
        unavailable("PostgreSQL", url, failure)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A URL of a reachable Redis database (checked with PING)."""
    import redis

    url = os.environ.get("ARBITER_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    failure: Exception | None = None
    try:
        client.ping()
    except Exception as exc:
        failure = exc
    finally:
        client.close()
    if failure is not None:
        unavailable("Redis", url, failure)
    return url
