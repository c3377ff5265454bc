"""Velocity features: counts, distinct counts and sums of recorded events per key, in sliding
windows — `count(order by user.id within 1h)`.

The platform records every event it handles (`record_event`): for each feature the event
feeds, the key (and the measured value) are evaluated on the event's own context and added to
the store under the event's id, so a retried event is counted once. A decision reads a
feature through a `VelocityReader` bound to the decision's time: what was recorded before, in
the window ending now. The store is a protocol: `InMemoryVelocity` here (embedded default,
tests), Redis in `arbiter.platform.risk`; `ReplayVelocity` is the backtest's own store,
specialised for events that come in time order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import (
    ROUND_HALF_EVEN,
    Clamped,
    Context,
    Decimal,
    DecimalException,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Subnormal,
    Underflow,
    getcontext,
)
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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)

# A replay window is one list: [start, aggregate, at, value, event id, at, value, event id, ...]
# with its entries in time order. `start` is the index of the first entry still in the
# window: expiry advances it, and the entries behind it are dropped from the list once they
# are as many as the live ones, so memory follows the window at a constant cost per entry.
# `aggregate` is kept up to date as entries come and go: for a distinct count, each value's
# occurrences; for a sum, [total, total of absolute values] while those are exact (else None,
# and the sum is taken over the window); None for a count. One list per key keeps a window
# small and its entries together in memory.
_START, _AGGREGATE, _FIRST, _STRIDE = 0, 1, 2, 3
_COUNT, _DISTINCT, _SUM = "count", "distinct", "sum"
# Running totals are kept in this context and given up at the first rounding, however small:
# while they hold, `total` is the exact sum, and — every partial sum of the window being at
# most `total of absolute values` in size, with no more decimal places — so is the sum that
# `InMemoryVelocity` takes entry by entry in any context at least as precise.
_EXACT = Context(prec=28, rounding=ROUND_HALF_EVEN, Emin=-999_999, Emax=999_999, capitals=1, clamp=0,
                 traps=[Rounded, Inexact, InvalidOperation, Overflow, Underflow, Subnormal, Clamped])


def microseconds(at: datetime) -> int:
    """A time as whole microseconds since the epoch (naive times as they stand)."""
    return (at - (_NAIVE_EPOCH if at.tzinfo is None else _EPOCH)) // _MICROSECOND


class _FeatureWindows:
    """One feature's windows, by key; and the key last looked up with its window (None: no
    window yet), which the recorder takes instead of looking it up again. Windows are only
    ever added (by the recorder, which keeps `last` in step), never replaced or removed, so
    the remembered window is the key's window for as long as it is remembered."""

    __slots__ = ("kind", "span", "empty", "integral", "windows", "last_key", "last_window")

    def __init__(self, feature: Feature) -> None:
        self.kind = {"count": _COUNT, "distinct": _DISTINCT}.get(feature.kind, _SUM)
        self.span = feature.window // _MICROSECOND
        self.integral = feature.type == t.INT
        self.empty: int | Decimal = 0 if feature.kind != "sum" or self.integral else Decimal(0)
        self.windows: dict[str, list[Any]] = {}
        self.last_key: str | None = None
        self.last_window: list[Any] | None = None


class ReplayVelocity:
    """The velocity store of a backtest: what `InMemoryVelocity` answers, for a replay whose
    times never go back, without its per-event allocations.

    The replay sets `now` (microseconds, see `microseconds`) before each event, and the
    store is its own reader: compiled rules call `read(feature, key)`. Expiry advances a
    pointer past the entries that left the window; a count is the window's length, a
    distinct count the size of a value -> occurrences map, a sum a running total while it is
    exact (the same value as `InMemoryVelocity`'s entry by entry sum, which is taken instead
    when it may not be). Windows expire exactly when `InMemoryVelocity` trims them (on every
    read and add of the key), so that an event id recorded again is skipped exactly where it
    would be there: while the earlier entry is still held.
    """

    def __init__(self) -> None:
        self.now = 0
        self._features: dict[str, _FeatureWindows] = {}

    def windows(self, feature: Feature) -> _FeatureWindows:
        found = self._features.get(feature.id)
        if found is None:
            found = self._features[feature.id] = _FeatureWindows(feature)
        return found

    def read(self, feature: Feature, key: Any) -> int | Decimal:
        state = self._features.get(feature.id) or self.windows(feature)
        if type(key) is not str:
            key = str(key)
        state.last_key = key
        state.last_window = window = state.windows.get(key)
        if window is None:
            return state.empty
        start: int = window[0]  # _START
        cutoff = self.now - state.span
        if start < len(window) and window[start] <= cutoff:
            start = _expire(window, cutoff, state.kind, state.integral)
        kind = state.kind
        if kind is _COUNT:
            return (len(window) - start) // 3  # _STRIDE
        aggregate = window[1]  # _AGGREGATE
        if kind is _DISTINCT:
            return len(aggregate)
        if aggregate is not None and (state.integral or _as_precise(getcontext())):
            return aggregate[0]  # type: ignore[no-any-return]
        return sum(window[start + 1::_STRIDE], state.empty)


def _as_precise(context: Context) -> bool:
    return context.prec >= _EXACT.prec and context.Emax >= _EXACT.Emax and context.Emin <= _EXACT.Emin


def _sum_of(value: Any, integral: bool) -> list[Any] | None:
    """A new window's running totals, or None when they cannot be kept exactly."""
    totals: list[Any] = [0, 0] if integral else [Decimal(0), Decimal(0)]
    return totals if _add_to_sum(totals, value, integral) else None


def _add_to_sum(totals: list[Any], value: Any, integral: bool) -> bool:
    """Add one value to running totals; False when they can no longer be kept exactly."""
    if integral:
        if type(value) is not int:
            return False
        totals[0] += value
        return True
    try:
        if type(value) is Decimal and value.is_finite():
            totals[0] = _EXACT.add(totals[0], value)
            totals[1] = _EXACT.add(totals[1], value.copy_abs())
        elif type(value) is int:
            totals[0] = _EXACT.add(totals[0], value)
            totals[1] = _EXACT.add(totals[1], abs(value))
        else:
            return False
    except DecimalException:
        return False
    return True


def _take_from_sum(totals: list[Any], value: Any, integral: bool) -> bool:
    """Take an expired value from running totals (it was added, so it is an int or a finite
    Decimal); False when they can no longer be kept exactly."""
    if integral:
        totals[0] -= value
        return True
    try:
        totals[0] = _EXACT.subtract(totals[0], value)
        totals[1] = _EXACT.subtract(totals[1], value.copy_abs() if type(value) is Decimal else abs(value))
    except DecimalException:
        return False
    return True


def _expire(window: list[Any], cutoff: int, kind: str, integral: bool) -> int:
    """Drop the entries at or before `cutoff` (as `InMemoryVelocity._trim` does); returns
    the new start."""
    start: int = window[_START]
    end = len(window)
    aggregate = window[_AGGREGATE]
    first = start
    while start < end and window[start] <= cutoff:
        start += _STRIDE
    if aggregate is not None and kind is not _COUNT:
        if kind is _DISTINCT:
            for value in window[first + 1:start:_STRIDE]:
                left = aggregate[value] - 1
                if left:
                    aggregate[value] = left
                else:
                    del aggregate[value]
        else:
            for value in window[first + 1:start:_STRIDE]:
                if not _take_from_sum(aggregate, value, integral):
                    window[_AGGREGATE] = None
                    break
    if 2 * (start - _FIRST) >= end - _FIRST:
        del window[_FIRST:start]
        start = _FIRST
    window[_START] = start
    return start


class ReplayRecorder:
    """Feeds a `ReplayVelocity` from prepared contexts, as `record_prepared` feeds any store:
    the same features, skipped for the same events."""

    def __init__(self, ruleset: Ruleset, store: ReplayVelocity) -> None:
        self.store = store
        self.features = tuple(
            (store.windows(c.feature), c.feature.kind == "count", c.feature.event, c.key.fn,
             c.measure.fn if c.measure is not None else None)
            for c in ruleset.features.values()
        )
        self._by_kind: dict[str, tuple[Any, ...]] = {}

    def _fed_by(self, kind: str) -> tuple[Any, ...]:
        """The features an event of `kind` feeds: all but the counts of other kinds."""
        found = self._by_kind.get(kind)
        if found is None:
            found = self._by_kind[kind] = tuple(
                (state, key_of, measure) for state, counts, event, key_of, measure in self.features
                if not counts or event == kind
            )
        return found

    def record(self, kind: str, ctx: Mapping[str, Any], at: int, event_id: str, again: bool) -> None:
        """Record one event at `at` (microseconds, never before the last). `again` says the
        event id may have been recorded before (the caller keeps track): only then are the
        windows searched for an earlier copy, which `InMemoryVelocity` would skip it for."""
        for state, key_of, measure in self._by_kind.get(kind) or self._fed_by(kind):
            try:
                key = key_of(ctx)
                value = measure(ctx) if measure is not None else 1
            except EvaluationError:
                continue
            if type(key) is not str:
                key = str(key)
            # The decision has usually just read this key: its window is at hand, and
            # already expired up to now.
            window = state.last_window if key is state.last_key else state.windows.get(key)
            kind_ = state.kind
            if window is None:
                aggregate = None if kind_ is _COUNT else {value: 1} if kind_ is _DISTINCT else _sum_of(value, state.integral)
                window = state.windows[key] = [_FIRST, aggregate, at, value, event_id]
                state.last_key, state.last_window = key, window
            else:
                if again and event_id in window[window[0] + 2::_STRIDE]:
                    continue
                window += (at, value, event_id)
                aggregate = window[1]  # _AGGREGATE
                if aggregate is not None:
                    if kind_ is _DISTINCT:
                        aggregate[value] = aggregate.get(value, 0) + 1
                    elif kind_ is _SUM and not _add_to_sum(aggregate, value, state.integral):
                        window[1] = None
            if window[window[0]] <= at - state.span:
                _expire(window, at - state.span, kind_, state.integral)
