"""Velocity features: counts, distinct counts and sums of recorded events per key, in sliding
windows — `count(order by user.id within 1h)`.

The platform records every event it handles (`record_event`): for each feature the event
feeds, the key (and the measured value) are evaluated on the event's own context and added to
the store under the event's id, so a retried event is counted once. A decision reads a
feature through a `VelocityReader` bound to the decision's time: what was recorded before, in
the window ending now. The store is a protocol: `InMemoryVelocity` here (embedded default,
tests, backtests), Redis in `arbiter.platform.risk`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from arbiter.dsl import types as t
from arbiter.dsl.compiler import Ruleset
from arbiter.dsl.model import Feature
from arbiter.dsl.runtime import EvaluationError


class VelocityStore(Protocol):
    def add(self, feature: Feature, key: str, at: datetime, value: Any, event_id: str) -> None:
        """Record one event's contribution; the same event id twice counts once."""

    def read(self, feature: Feature, key: str, now: datetime) -> int | Decimal:
        """The feature's value for `key` over the window ending at `now`."""


@dataclass(slots=True)
class _Entry:
    at: datetime
    value: Any
    event_id: str


class InMemoryVelocity:
    """Per (feature, key) the entries of the last window, oldest first; old ones are trimmed
    on every read and add."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], deque[_Entry]] = {}
        self._seen: dict[tuple[str, str], set[str]] = {}

    def add(self, feature: Feature, key: str, at: datetime, value: Any, event_id: str) -> None:
        slot = (feature.id, key)
        seen = self._seen.setdefault(slot, set())
        if event_id in seen:
            return
        seen.add(event_id)
        entries = self._entries.setdefault(slot, deque())
        entries.append(_Entry(at, value, event_id))
        if len(entries) > 1 and entries[-2].at > at:  # out of order: keep time order
            ordered = sorted(entries, key=lambda e: e.at)
            entries.clear()
            entries.extend(ordered)
        self._trim(feature, slot, at)

    def read(self, feature: Feature, key: str, now: datetime) -> int | Decimal:
        slot = (feature.id, key)
        self._trim(feature, slot, now)
        entries = [e for e in self._entries.get(slot, ()) if e.at <= now]
        if feature.kind == "count":
            return len(entries)
        if feature.kind == "distinct":
            return len({e.value for e in entries})
        total = Decimal(0) if feature.type != t.INT else 0
        for entry in entries:
            total += entry.value
        return total

    def _trim(self, feature: Feature, slot: tuple[str, str], now: datetime) -> None:
        entries = self._entries.get(slot)
        if not entries:
            return
        start = now - feature.window
        seen = self._seen[slot]
        while entries and entries[0].at <= start:
            seen.discard(entries.popleft().event_id)


class VelocityReader:
    """What compiled rules call: `read(feature, key)` at the decision's time."""

    def __init__(self, store: VelocityStore, now: datetime) -> None:
        self.store = store
        self.now = now

    def read(self, feature: Feature, key: Any) -> int | Decimal:
        return self.store.read(feature, str(key), self.now)


def record_event(
    ruleset: Ruleset,
    store: VelocityStore,
    kind: str,
    context: Mapping[str, Any],
    at: datetime,
    event_id: str,
) -> int:
    """Feed one event to every feature it concerns; returns how many it fed. A feature whose
    key or value the event does not carry is skipped for that event."""
    return record_prepared(ruleset, store, kind, ruleset.prepare(context, now=at), at, event_id)


def record_prepared(
    ruleset: Ruleset,
    store: VelocityStore,
    kind: str,
    ctx: Mapping[str, Any],
    at: datetime,
    event_id: str,
) -> int:
    """`record_event` for a context already prepared (a backtest prepares each event once)."""
    fed = 0
    for compiled in ruleset.features.values():
        feature = compiled.feature
        if feature.kind == "count" and feature.event != kind:
            continue
        try:
            key = compiled.key.fn(ctx)
            value = compiled.measure.fn(ctx) if compiled.measure is not None else 1
        except EvaluationError:
            continue
        store.add(feature, str(key), at, value, event_id)
        fed += 1
    return fed
