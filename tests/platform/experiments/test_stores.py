"""Sticky assignments in SQL and Redis (insert-if-absent, races between processes, outages,
weight changes through the Engine) and exposures buffered then flushed once per unit per day."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from arbiter.clock import FixedClock
from arbiter.engine.engine import Engine as DecisionEngine
from arbiter.engine.experiments import Exposure, StoreUnavailable
from arbiter.platform.db import make_engine
from arbiter.platform.experiments.stores import (
    ASSIGNMENTS,
    EXPOSURES,
    BufferedExposures,
    RedisAssignments,
    SqlAssignments,
    assignments_key,
)

from .support import ruleset

ROOT = Path(__file__).resolve().parents[3]
CLOCK = FixedClock(datetime(2026, 11, 11, 12, 0, tzinfo=UTC))
UNREACHABLE_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1"


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[object]:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=3)
    yield client
    client.close()


def test_sql_put_is_insert_if_absent(db: Engine) -> None:
    store = SqlAssignments(db, CLOCK)
    assert store.get("exp", "u1") is None
    store.put("exp", "u1", "treatment")
    store.put("exp", "u1", "control")  # a later put never overwrites
    assert store.get("exp", "u1") == "treatment"
    assert store.get("other", "u1") is None
    with db.connect() as connection:
        rows = connection.execute(select(ASSIGNMENTS)).all()
    assert len(rows) == 1
    assert rows[0].variant == "treatment"


def test_redis_put_is_insert_if_absent(redis_client: object) -> None:
    store = RedisAssignments(redis_client)
    name = f"exp-{uuid.uuid4().hex}"
    try:
        assert store.get(name, "u1") is None
        store.put(name, "u1", "treatment")
        store.put(name, "u1", "control")
        assert store.get(name, "u1") == "treatment"
        assert redis_client.hgetall(assignments_key(name)) == {b"u1": b"treatment"}  # type: ignore[attr-defined]
    finally:
        redis_client.delete(assignments_key(name))  # type: ignore[attr-defined]


def test_the_redis_key_keeps_an_experiment_in_one_cluster_slot() -> None:
    assert assignments_key("home_popup_ab") == "arbiter:{exp:home_popup_ab}:assignments"


def _race(kind: str, url: str, experiment: str, count: int = 300) -> list[dict[str, str]]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.platform.experiments.race", kind, url, experiment, variant,
             str(count)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for variant in ("control", "treatment")
    ]
    for process in processes:  # both connected: start them together
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    seen = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        seen.append(json.loads(out))
    return seen


def _assert_one_variant_per_unit(seen: list[dict[str, str]], stored: dict[str, str], count: int = 300) -> None:
    first, second = seen
    assert first == second == stored  # both processes read the same winner for every unit
    assert len(stored) == count
    assert set(stored.values()) <= {"control", "treatment"}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_racing_put_agree_on_one_variant(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    db: Engine = request.getfixturevalue(f"{backend}_engine")
    url = db.url.render_as_string(hide_password=False)
    experiment = f"race-{uuid.uuid4().hex[:8]}"
    seen = _race("sql", url, experiment)
    with db.connect() as connection:
        rows = connection.execute(
            select(ASSIGNMENTS.c.unit, ASSIGNMENTS.c.variant).where(ASSIGNMENTS.c.experiment == experiment)
        ).all()
    stored = {unit: variant for unit, variant in rows}
    assert len(rows) == len(stored)
    _assert_one_variant_per_unit(seen, stored)


def test_two_processes_racing_hsetnx_agree_on_one_variant(redis_url: str, redis_client: object) -> None:
    experiment = f"race-{uuid.uuid4().hex[:8]}"
    try:
        seen = _race("redis", redis_url, experiment)
        raw = redis_client.hgetall(assignments_key(experiment))  # type: ignore[attr-defined]
        stored = {k.decode(): v.decode() for k, v in raw.items()}
        _assert_one_variant_per_unit(seen, stored)
    finally:
        redis_client.delete(assignments_key(experiment))  # type: ignore[attr-defined]


def test_an_unreachable_database_is_store_unavailable_and_decisions_go_on() -> None:
    engine = make_engine(UNREACHABLE_POSTGRES)
    try:
        store = SqlAssignments(engine, CLOCK)
        with pytest.raises(StoreUnavailable):
            store.get("popup_ab", "u1")
        with pytest.raises(StoreUnavailable):
            store.put("popup_ab", "u1", "control")
        decider = DecisionEngine(ruleset(), CLOCK, assignments=store)
        stateless = DecisionEngine(ruleset(), CLOCK)
        for i in range(5):
            context = {"user": {"id": f"u{i}"}}
            assert decider.decide("popup", context).variant == stateless.decide("popup", context).variant
        assert store.failures == 12 and store.last_error is not None
        assert store.last_error.startswith("OperationalError")
    finally:
        engine.dispose()


def test_a_broken_table_is_store_unavailable_too(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no schema: no such table
    try:
        store = SqlAssignments(engine, CLOCK)
        with pytest.raises(StoreUnavailable):
            store.get("popup_ab", "u1")
        decision = DecisionEngine(ruleset(), CLOCK, assignments=store).decide("popup", {"user": {"id": "u1"}})
        assert decision.experiment == "popup_ab" and not decision.failed
    finally:
        engine.dispose()


def test_an_unreachable_redis_is_store_unavailable() -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, socket_timeout=0.5,
                         retry=Retry(NoBackoff(), 0))
    store = RedisAssignments(client)
    with pytest.raises(StoreUnavailable):
        store.get("popup_ab", "u1")
    with pytest.raises(StoreUnavailable):
        store.put("popup_ab", "u1", "control")
    decision = DecisionEngine(ruleset(), CLOCK, assignments=store).decide("popup", {"user": {"id": "u1"}})
    assert decision.experiment == "popup_ab"
    assert store.failures == 4
    client.close()


def test_a_redis_key_of_the_wrong_type_is_store_unavailable(redis_client: object) -> None:
    name = f"exp-{uuid.uuid4().hex}"
    redis_client.set(assignments_key(name), "not a hash")  # type: ignore[attr-defined]
    try:
        with pytest.raises(StoreUnavailable):
            RedisAssignments(redis_client).get(name, "u1")
    finally:
        redis_client.delete(assignments_key(name))  # type: ignore[attr-defined]


def test_a_sticky_assignment_in_the_database_survives_a_weight_change(db: Engine) -> None:
    store = SqlAssignments(db, CLOCK)
    units = [f"u{i}" for i in range(200)]
    before = DecisionEngine(ruleset(50, 50), CLOCK, assignments=store)
    first = {u: before.decide("popup", {"user": {"id": u}}).variant for u in units}
    after = DecisionEngine(ruleset(10, 90), CLOCK, assignments=SqlAssignments(db, CLOCK))
    again = {u: after.decide("popup", {"user": {"id": u}}).variant for u in units}
    assert again == first
    stateless = DecisionEngine(ruleset(10, 90), CLOCK)
    moved = sum(1 for u in units if stateless.decide("popup", {"user": {"id": u}}).variant != first[u])
    assert moved > 40  # the new weights alone would have moved these units
    with db.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ASSIGNMENTS)).scalar_one() == 200


def _exposure_rows(db: Engine) -> list[tuple[str, str, object, str, datetime]]:
    with db.connect() as connection:
        rows = connection.execute(
            select(EXPOSURES.c.experiment, EXPOSURES.c.unit, EXPOSURES.c.day, EXPOSURES.c.variant,
                   EXPOSURES.c.first_at).order_by(EXPOSURES.c.unit, EXPOSURES.c.day)
        ).all()
    return [(e, u, d, v, at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC))
            for e, u, d, v, at in rows]


def test_exposures_are_stored_once_per_unit_experiment_and_day(db: Engine) -> None:
    clock = FixedClock(datetime(2026, 11, 11, 8, 0, tzinfo=UTC))
    sink = BufferedExposures()
    decider = DecisionEngine(ruleset(), clock, exposures=sink)
    first_variant = decider.decide("popup", {"user": {"id": "u1"}}).variant
    for _ in range(4):
        clock.advance(timedelta(hours=1))
        decider.decide("popup", {"user": {"id": "u1"}})
    assert sink.flush(db) == 1  # the five of the day collapse in the batch
    clock.advance(timedelta(days=1))
    decider.decide("popup", {"user": {"id": "u1"}})
    decider.decide("popup", {"user": {"id": "u1"}})
    sink.flush(db)
    sink.record(Exposure("popup_ab", str(first_variant), "u1", datetime(2026, 11, 11, 23, 0, tzinfo=UTC)))
    sink.flush(db)  # a later flush of the same day changes nothing
    rows = _exposure_rows(db)
    assert [(r[2].isoformat(), r[3]) for r in rows] == [  # type: ignore[attr-defined]
        ("2026-11-11", first_variant), ("2026-11-12", first_variant),
    ]
    assert rows[0][4] == datetime(2026, 11, 11, 8, 0, tzinfo=UTC)  # the first time of the day
    assert rows[1][4] == datetime(2026, 11, 12, 12, 0, tzinfo=UTC)
    assert sink.recorded == 8 and sink.dropped == 0 and len(sink) == 0


def test_the_day_follows_the_configured_time_zone(sqlite_engine: Engine) -> None:
    china = timezone(timedelta(hours=8))
    sink = BufferedExposures(tz=china)
    # 23:00 and 17:00 UTC the next day are the same day in China (07:00 and 01:00 +08:00).
    sink.record(Exposure("e", "control", "u1", datetime(2026, 11, 10, 23, 0, tzinfo=UTC)))
    sink.record(Exposure("e", "control", "u1", datetime(2026, 11, 11, 15, 59, tzinfo=UTC)))
    sink.record(Exposure("e", "control", "u1", datetime(2026, 11, 11, 16, 0, tzinfo=UTC)))
    sink.flush(sqlite_engine)
    assert [r[2].isoformat() for r in _exposure_rows(sqlite_engine)] == ["2026-11-11", "2026-11-12"]  # type: ignore[attr-defined]


def test_a_full_buffer_drops_and_counts_and_a_failed_flush_keeps_the_batch(sqlite_engine: Engine) -> None:
    sink = BufferedExposures(capacity=10, batch=4)
    for i in range(15):
        sink.record(Exposure("e", "control", f"u{i}", CLOCK.now()))
    assert (sink.recorded, sink.dropped, len(sink)) == (10, 5, 10)
    down = make_engine(UNREACHABLE_POSTGRES)
    try:
        assert sink.flush(down) == 0
    finally:
        down.dispose()
    assert sink.failures == 1 and sink.last_error is not None and "OperationalError" in sink.last_error
    assert len(sink) == 10  # four pending, six buffered: nothing lost
    assert sink.flush(sqlite_engine) == 10
    assert [r[1] for r in _exposure_rows(sqlite_engine)] == sorted(f"u{i}" for i in range(10))
