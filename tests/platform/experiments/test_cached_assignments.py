"""Sticky assignments remembered in front of a store: what the store answered, never a
miss; in `cached_only` mode a read the cache cannot answer (and any write) raises NotCached
before the engine has recorded anything, so the decision can be made again with I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from arbiter.clock import FixedClock
from arbiter.engine.decision_log import BoundedLog
from arbiter.engine.engine import Engine as DecisionEngine
from arbiter.platform.experiments.stores import (
    BufferedExposures,
    CachedAssignments,
    NotCached,
    SqlAssignments,
)

from .support import ruleset

CLOCK = FixedClock(datetime(2026, 11, 11, 12, 0, tzinfo=UTC))


def test_found_assignments_are_remembered_misses_are_not(db: Engine) -> None:
    store = SqlAssignments(db, CLOCK)
    cached = CachedAssignments(store)
    assert cached.get("popup_ab", "u1") is None
    store.put("popup_ab", "u1", "treatment")  # another process assigns it meanwhile
    assert cached.get("popup_ab", "u1") == "treatment"
    with cached.cached_only():
        assert cached.get("popup_ab", "u1") == "treatment"
        with pytest.raises(NotCached):
            cached.get("popup_ab", "u2")
        with pytest.raises(NotCached):
            cached.put("popup_ab", "u2", "control")
    cached.put("popup_ab", "u2", "control")
    assert store.get("popup_ab", "u2") == "control"
    assert cached.failures == 0  # the store's own figures show through


def test_the_cache_starts_afresh_past_its_limit(db: Engine) -> None:
    store = SqlAssignments(db, CLOCK)
    cached = CachedAssignments(store, limit=2)
    for unit in ("a", "b", "c"):
        store.put("popup_ab", unit, "control")
        assert cached.get("popup_ab", unit) == "control"
    with cached.cached_only():
        assert cached.get("popup_ab", "c") == "control"
        with pytest.raises(NotCached):
            cached.get("popup_ab", "a")


def test_a_decision_refused_by_the_cache_records_nothing_and_is_the_same_made_again(db: Engine) -> None:
    cached = CachedAssignments(SqlAssignments(db, CLOCK))
    log, exposures = BoundedLog(), BufferedExposures()
    engine = DecisionEngine(ruleset(), CLOCK, assignments=cached, exposures=exposures, log=log)
    context = {"user": {"id": "u7"}}
    with cached.cached_only(), pytest.raises(NotCached):
        engine.decide("popup", context)
    assert (len(log), len(exposures)) == (0, 0)
    first = engine.decide("popup", context)  # with I/O: assigned and stored
    assert (len(log), len(exposures)) == (1, 1)
    with cached.cached_only(), pytest.raises(NotCached):
        engine.decide("popup", context)  # a unit just assigned is read back before it is remembered
    engine.decide("popup", context)
    with cached.cached_only():
        again = engine.decide("popup", context)
    assert (again.variant, again.effects, again.fired) == (first.variant, first.effects, first.fired)
    assert (len(log), len(exposures)) == (3, 3)
