"""The real services answer: one SQL round trip to PostgreSQL and one SET/GET/DEL to Redis.

Under CI these must pass, never skip: they prove the database and the cache the platform's
tests rely on are there.
"""

from __future__ import annotations

import uuid

import pytest
import redis
from sqlalchemy import text
from sqlmodel import Session, create_engine

pytestmark = pytest.mark.services


def test_postgres_round_trip(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with Session(engine) as session:
            assert session.execute(text("select 1")).scalar_one() == 1
            assert session.execute(text("select current_database()")).scalar_one() == (
                engine.url.database
            )
    finally:
        engine.dispose()


def test_redis_round_trip(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_timeout=3)
    key = f"arbiter:test:services:{uuid.uuid4().hex}"
    try:
        assert client.set(key, "ok", ex=60) is True
        assert client.get(key) == b"ok"
        assert client.delete(key) == 1
        assert client.get(key) is None
    finally:
        client.delete(key)
        client.close()
