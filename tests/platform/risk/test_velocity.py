"""Velocity counters in Redis: each event counted once, windows that end exactly where the
controlled clock says, exact sums, two processes racing on one counter, and a decision that
reads through the store."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arbiter.clock import FixedClock
from arbiter.dsl.model import Feature
from arbiter.engine.engine import Engine
from arbiter.engine.stores import StoreUnavailable
from arbiter.engine.velocity import record_event
from arbiter.platform.risk.velocity import RedisVelocity, encode_value, feature_slot, velocity_keys

from .support import ruleset

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 11, 20, 0, tzinfo=UTC)
FAILURES = "count(login_failed by user.id within 10m)"
ACCOUNTS = "distinct(user.id by passthrough.device_id within 1d)"
AMOUNTS = "sum(payment.amount by payment.card within 1d)"
POINTS = "sum(payment.points by payment.card within 1h)"


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client: Any) -> Iterator[str]:
    """A prefix of this test's own; its keys are deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    keys = list(redis_client.scan_iter(match=f"{name}:*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def store(redis_client: Any, prefix: str) -> RedisVelocity:
    return RedisVelocity(redis_client, prefix)


def feature(name: str) -> Feature:
    return ruleset().program.features[name]


def test_keys_keep_a_feature_and_key_in_one_cluster_slot() -> None:
    slot = feature_slot(FAILURES, "u1")
    assert slot == "arbiter:{vel:" + __import__("hashlib").sha1(FAILURES.encode()).hexdigest() + ":u1}"
    assert velocity_keys(FAILURES, "u1") == (f"{slot}:events", f"{slot}:values")


def test_values_are_kept_as_exact_integer_units() -> None:
    assert encode_value(feature(AMOUNTS), Decimal("9900.00")) == "99000000"
    assert encode_value(feature(AMOUNTS), Decimal("0.00005")) == "0"  # half-even to 1/10000
    assert encode_value(feature(AMOUNTS), Decimal("-12.3456")) == "-123456"
    assert encode_value(feature(POINTS), 7) == "7"
    assert encode_value(feature(ACCOUNTS), "u1") == "u1"
    assert encode_value(feature(FAILURES), 1) == ""


def test_each_event_counts_once_and_the_window_ends_exactly(store: RedisVelocity, redis_client: Any) -> None:
    failures = feature(FAILURES)
    for minutes, event in ((0, "e1"), (4, "e2"), (4, "e2"), (8, "e3")):
        store.add(failures, "u1", T0 + timedelta(minutes=minutes), 1, event)
    assert store.read(failures, "u1", T0 + timedelta(minutes=9)) == 3
    assert store.read(failures, "u1", T0 + timedelta(minutes=7)) == 2  # e3 is after `now`
    # The oldest moment is excluded: at 20:10 the failure at 20:00 has left the window.
    assert store.read(failures, "u1", T0 + timedelta(minutes=10) - timedelta(microseconds=1)) == 3
    assert store.read(failures, "u1", T0 + timedelta(minutes=10)) == 2
    assert store.read(failures, "u1", T0 + timedelta(minutes=18)) == 0
    assert store.read(failures, "u2", T0 + timedelta(minutes=9)) == 0
    events, _ = velocity_keys(failures.id, "u1", store.prefix)
    assert redis_client.zcard(events) == 0  # trimmed, not only filtered


def test_keys_expire_one_window_after_the_last_event(store: RedisVelocity, redis_client: Any) -> None:
    failures, accounts = feature(FAILURES), feature(ACCOUNTS)
    store.add(failures, "u1", T0, 1, "e1")
    store.add(accounts, "d1", T0, "u1", "e1")
    events, values = velocity_keys(failures.id, "u1", store.prefix)
    assert 590_000 < redis_client.pttl(events) <= 600_000
    assert not redis_client.exists(values)  # a count keeps no values
    events, values = velocity_keys(accounts.id, "d1", store.prefix)
    assert 86_390_000 < redis_client.pttl(events) <= 86_400_000
    assert 86_390_000 < redis_client.pttl(values) <= 86_400_000


def test_distinct_values_and_their_trimming(store: RedisVelocity, redis_client: Any) -> None:
    accounts = feature(ACCOUNTS)
    for i, user in enumerate(["a", "b", "b", "c", "a"]):
        store.add(accounts, "d1", T0 + timedelta(hours=i), user, f"l{i}")
    assert store.read(accounts, "d1", T0 + timedelta(hours=5)) == 3
    assert store.read(accounts, "d1", T0 + timedelta(hours=26)) == 2  # a@0h, b@1h, b@2h have left
    _, values = velocity_keys(accounts.id, "d1", store.prefix)
    assert redis_client.hgetall(values) == {b"l3": b"c", b"l4": b"a"}


def test_sums_are_exact_to_the_cent(store: RedisVelocity) -> None:
    amounts = feature(AMOUNTS)
    for i in range(1_000):
        store.add(amounts, "c1", T0 + timedelta(seconds=i), Decimal("0.01"), f"p{i}")
    store.add(amounts, "c1", T0, Decimal("0.01"), "p0")  # a replay
    assert store.read(amounts, "c1", T0 + timedelta(hours=1)) == Decimal("10.00")
    store.add(amounts, "c1", T0 + timedelta(hours=2), Decimal("9999999999999.99"), "big")
    store.add(amounts, "c1", T0 + timedelta(hours=2), Decimal("-0.03"), "refund")
    assert store.read(amounts, "c1", T0 + timedelta(hours=3)) == Decimal("10000000000009.96")
    # 0.1 + 0.2 in floats is not 0.3; here it is.
    store.add(amounts, "c2", T0, Decimal("0.1"), "x")
    store.add(amounts, "c2", T0, Decimal("0.2"), "y")
    assert store.read(amounts, "c2", T0) == Decimal("0.3")
    points = feature(POINTS)
    store.add(points, "c1", T0, 600, "p1")
    store.add(points, "c1", T0 + timedelta(minutes=30), 500, "p2")
    assert store.read(points, "c1", T0 + timedelta(minutes=30)) == 1100
    assert store.read(points, "c1", T0 + timedelta(minutes=60)) == 500


def test_two_processes_count_exactly(redis_url: str, redis_client: Any, prefix: str) -> None:
    count = 2_000
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.platform.risk.race", redis_url, prefix, side, str(count)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for side in ("left", "right")
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [p.returncode for p in processes] == [0, 0]
    # 1,000 ids both sides share, each new to exactly one of them, and 1,000 own ids each.
    assert sum(int(out.strip()) for out in outputs) == 3_000
    store = RedisVelocity(redis_client, prefix)
    now = T0 + timedelta(hours=1)
    assert store.read(feature("count(payment by payment.card within 1d)"), "card-1", now) == 3_000
    assert store.read(feature(AMOUNTS), "card-1", now) == Decimal("30.00")


def test_a_decision_reads_through_redis(store: RedisVelocity) -> None:
    rules = ruleset()
    clock = FixedClock(T0)
    engine = Engine(rules, clock, velocity=store)
    for i in range(3):
        record_event(rules, store, "login_failed", {"user": {"id": "u1"}}, T0 + timedelta(minutes=i), f"f{i}")
    for i, amount in enumerate(["2999.99", "2000.00"]):
        record_event(rules, store, "payment", {"user": {"id": "u2"}, "payment": {"card": "c1", "amount": amount}},
                     T0 + timedelta(minutes=i), f"p{i}")
    clock.advance(timedelta(minutes=5))
    assert [str(e) for e in engine.decide("login", {"user": {"id": "u1"}}).effects] == [
        'reject(reason: "too many failures")'
    ]
    u2 = {"user": {"id": "u2"}, "payment": {"card": "c1"}}
    assert [str(e) for e in engine.decide("login", u2).effects] == ["pass()"]
    record_event(rules, store, "payment", {"user": {"id": "u2"}, "payment": {"card": "c1", "amount": "0.01"}},
                 T0 + timedelta(minutes=5), "p2")
    assert [str(e) for e in engine.decide("login", u2).effects] == ['verify(method: "face")']
    clock.advance(timedelta(minutes=8))  # 20:13: two of the three failures have left the window
    assert [str(e) for e in engine.decide("login", {"user": {"id": "u1"}}).effects] == ["pass()"]


def test_an_unreachable_redis_fails_the_decision_closed() -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    store = RedisVelocity(client)
    with pytest.raises(StoreUnavailable, match="velocity: ConnectionError"):
        store.add(feature(FAILURES), "u1", T0, 1, "e1")
    decision = Engine(ruleset(), FixedClock(T0), velocity=store).decide("login", {"user": {"id": "u1"}})
    assert (decision.failed, decision.failure_policy) == (True, "closed")
    assert [str(e) for e in decision.effects] == ['reject(reason: "risk check unavailable")']
    assert store.failures == 2
