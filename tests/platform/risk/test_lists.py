"""Managed lists in SQL (SQLite and PostgreSQL): add, replace, remove, expiry, the audit trail,
the Redis cache in front, and a decision that reads a list."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from arbiter.clock import FixedClock
from arbiter.engine.engine import Engine as DecisionEngine
from arbiter.engine.stores import StoreUnavailable
from arbiter.errors import InvalidInput
from arbiter.platform.audit import service as audit
from arbiter.platform.db import UnitOfWork, make_engine
from arbiter.platform.risk.lists import (
    RedisListCache,
    SqlLists,
    add_entry,
    list_entries,
    remove_entry,
)

from .support import ruleset

T0 = datetime(2026, 11, 11, 20, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_add_replace_expire_and_remove_with_an_audit_trail(db: Engine) -> None:
    lists = SqlLists(db)
    assert not lists.contains("blocklist", "u9", T0)
    with UnitOfWork(db) as uow:
        entry = add_entry(uow, "blocklist", "u9", reason="chargeback ring", by="ops-li", at=T0, expires_at=T0 + DAY)
    assert (entry.reason, entry.added_by, entry.expires_at) == ("chargeback ring", "ops-li", T0 + DAY)
    assert lists.contains("blocklist", "u9", T0 + DAY - timedelta(microseconds=1))
    assert not lists.contains("blocklist", "u9", T0 + DAY)  # the expiry itself no longer counts
    assert not lists.contains("allowlist", "u9", T0)
    with UnitOfWork(db) as uow:  # adding again replaces reason and expiry: now for good
        add_entry(uow, "blocklist", "u9", reason="confirmed fraud", by="ops-wang", at=T0 + timedelta(hours=1))
    assert lists.contains("blocklist", "u9", T0 + 365 * DAY)
    with UnitOfWork(db) as uow:
        add_entry(uow, "blocklist", "u1", reason="test", by="ops-li", at=T0, expires_at=T0 + timedelta(hours=2))
        assert [(e.value, e.reason) for e in list_entries(uow, "blocklist")] == [
            ("u1", "test"), ("u9", "confirmed fraud"),
        ]
        assert [e.value for e in list_entries(uow, "blocklist", now=T0 + DAY)] == ["u9"]
        assert [e.to_json() for e in list_entries(uow, "blocklist")][0] == {
            "name": "blocklist", "value": "u1", "reason": "test", "added_by": "ops-li",
            "added_at": "2026-11-11T20:00:00+00:00", "expires_at": "2026-11-11T22:00:00+00:00",
        }
    with UnitOfWork(db) as uow:
        assert remove_entry(uow, "blocklist", "u9", reason="appeal accepted", by="ops-zhao", at=T0 + 2 * DAY)
    with UnitOfWork(db) as uow:
        assert not remove_entry(uow, "blocklist", "u9", reason="again", by="ops-zhao", at=T0 + 2 * DAY)
        trail = audit.entries(uow, action="risk_list.")
    assert not lists.contains("blocklist", "u9", T0 + 2 * DAY)
    assert [(e.actor, e.action, e.target, e.detail["reason"]) for e in trail] == [
        ("ops-zhao", "risk_list.remove", "blocklist:u9", "appeal accepted"),
        ("ops-li", "risk_list.add", "blocklist:u1", "test"),
        ("ops-wang", "risk_list.add", "blocklist:u9", "confirmed fraud"),
        ("ops-li", "risk_list.add", "blocklist:u9", "chargeback ring"),
    ]
    assert trail[-1].detail["expires_at"] == "2026-11-12T20:00:00+00:00"
    assert trail[-1].at == T0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reason": " "}, "needs a reason"),
        ({"by": ""}, "needs its author"),
        ({"expires_at": T0}, "must expire after"),
        ({"value": ""}, "list value has"),
    ],
)
def test_a_change_without_a_reason_or_author_is_refused(sqlite_engine: Engine, kwargs: dict[str, Any],
                                                          message: str) -> None:
    arguments: dict[str, Any] = {"value": "u1", "reason": "fraud", "by": "ops", "at": T0} | kwargs
    value = arguments.pop("value")
    with UnitOfWork(sqlite_engine) as uow, pytest.raises(InvalidInput, match=message):
        add_entry(uow, "blocklist", value, **arguments)


def test_a_decision_reads_the_list(db: Engine) -> None:
    clock = FixedClock(T0)
    engine = DecisionEngine(ruleset(), clock, lists=SqlLists(db))
    with UnitOfWork(db) as uow:
        add_entry(uow, "blocklist", "u9", reason="chargeback ring", by="ops", at=T0, expires_at=T0 + DAY)
    assert [str(e) for e in engine.decide("login", {"user": {"id": "u9"}}).effects] == ['reject(reason: "blocked")']
    clock.advance(DAY)
    assert [str(e) for e in engine.decide("login", {"user": {"id": "u9"}}).effects] == ["pass()"]


def test_an_unreachable_database_fails_the_decision_closed() -> None:
    broken = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1")
    lists = SqlLists(broken)
    with pytest.raises(StoreUnavailable, match="lists: OperationalError"):
        lists.contains("blocklist", "u1", T0)
    decision = DecisionEngine(ruleset(), FixedClock(T0), lists=lists).decide("login", {"user": {"id": "u1"}})
    assert (decision.failed, decision.failure_policy) == (True, "closed")


@pytest.fixture
def cache(redis_url: str) -> Iterator[RedisListCache]:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=3)
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield RedisListCache(client, prefix, ttl=60)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_the_cache_answers_and_follows_changes(sqlite_engine: Engine, cache: RedisListCache) -> None:
    lists = SqlLists(sqlite_engine, cache)
    assert not lists.contains("blocklist", "u9", T0)
    assert cache.get("blocklist", "u9") == "-"  # the absence is cached too
    assert 0 < cache.client.ttl(cache.key("blocklist", "u9")) <= 60
    with UnitOfWork(sqlite_engine) as uow:
        add_entry(uow, "blocklist", "u9", reason="fraud", by="ops", at=T0, expires_at=T0 + DAY, cache=cache)
    assert cache.get("blocklist", "u9") == str(1_794_513_600_000_000)  # 2026-11-12T20:00Z
    assert lists.contains("blocklist", "u9", T0)
    assert not lists.contains("blocklist", "u9", T0 + DAY)
    # A reader that loaded the old state before the change cannot overwrite it.
    cache.fill("blocklist", "u9", "-")
    assert lists.contains("blocklist", "u9", T0)
    # Served from the cache: a row deleted behind the service's back is still seen until the ttl.
    with sqlite_engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM risk_list_entry")
    assert lists.contains("blocklist", "u9", T0)
    with UnitOfWork(sqlite_engine) as uow:
        add_entry(uow, "blocklist", "u9", reason="fraud", by="ops", at=T0, cache=cache)
        assert remove_entry(uow, "blocklist", "u9", reason="appeal", by="ops", at=T0, cache=cache)
    assert not lists.contains("blocklist", "u9", T0)


def test_a_cache_that_is_down_is_bypassed(sqlite_engine: Engine) -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    cache = RedisListCache(client)
    with UnitOfWork(sqlite_engine) as uow:
        add_entry(uow, "blocklist", "u9", reason="fraud", by="ops", at=T0, cache=cache)
    assert SqlLists(sqlite_engine, cache).contains("blocklist", "u9", T0)
    assert cache.failures == 3  # put, get, fill
