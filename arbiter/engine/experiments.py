"""Experiment assignment: stateless, deterministic bucketing compatible with GrowthBook.

A unit (the value of the experiment's `unit` tag, e.g. user.id) is hashed with the
experiment's seed by GrowthBook's v2 hash (32-bit FNV-1a applied twice, modulo 10,000), and
the hash picks a variant from bucket ranges laid out by weight and shrunk by traffic
coverage from their start, so raising coverage never moves a unit that was already assigned.
Experiments sharing a namespace take disjoint ranges of it (hashed by GrowthBook's v1 hash of
"__" + namespace), so one unit is in at most one of them. A global holdout keeps a share of
units out of every experiment. A stored (sticky) assignment wins over the hash, so changing
weights never reshuffles units already exposed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from arbiter.dsl.model import Experiment, Holdout
from arbiter.engine.stores import StoreUnavailable

__all__ = ["StoreUnavailable"]  # re-exported: the stores of the platform raise it from here

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv1a32(text: str) -> int:
    """32-bit FNV-1a over UTF-16 code units, as GrowthBook's JavaScript SDK computes it."""
    value = _FNV_OFFSET
    data = text.encode("utf-16-le")
    for i in range(0, len(data), 2):
        value ^= data[i] | (data[i + 1] << 8)
        value = (value * _FNV_PRIME) & 0xFFFFFFFF
    return value


def gb_hash(seed: str, value: str, version: int = 2) -> float:
    """GrowthBook's hash: v2 is unbiased, v1 is kept for namespaces."""
    if version == 2:
        return (fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000
    return (fnv1a32(value + seed) % 1000) / 1000


def bucket_ranges(weights: Sequence[Decimal], coverage: Decimal) -> list[tuple[float, float]]:
    """One [start, end) range per variant: starts at the cumulative weight, covers
    `coverage` of the variant's weight."""
    total = sum(weights) or Decimal(1)
    coverage = min(max(coverage, Decimal(0)), Decimal(1))
    ranges: list[tuple[float, float]] = []
    cumulative = Decimal(0)
    for weight in weights:
        share = weight / total
        start = cumulative
        cumulative += share
        ranges.append((float(start), float(start + coverage * share)))
    return ranges


def choose_variation(n: float, ranges: Sequence[tuple[float, float]]) -> int:
    for index, (start, end) in enumerate(ranges):
        if start <= n < end:
            return index
    return -1


def in_namespace(unit: str, namespace: str, start: Decimal, end: Decimal) -> bool:
    n = gb_hash("__" + namespace, unit, version=1)
    return float(start) <= n < float(end)


class AssignmentStore(Protocol):
    """Sticky assignments: the variant a unit was first given in an experiment."""

    def get(self, experiment: str, unit: str) -> str | None: ...

    def put(self, experiment: str, unit: str, variant: str) -> None: ...


class InMemoryAssignments:
    def __init__(self) -> None:
        self._data: dict[tuple[str, str], str] = {}

    def get(self, experiment: str, unit: str) -> str | None:
        return self._data.get((experiment, unit))

    def put(self, experiment: str, unit: str, variant: str) -> None:
        self._data.setdefault((experiment, unit), variant)


@dataclass(frozen=True, slots=True)
class Assignment:
    experiment: str
    variant: str
    strategy: str
    unit: str
    sticky: bool  # True when a stored assignment decided it


@dataclass(frozen=True, slots=True)
class Exposure:
    experiment: str
    variant: str
    unit: str
    at: datetime


class ExposureSink(Protocol):
    def record(self, exposure: Exposure) -> None: ...


def in_holdout(holdouts: Sequence[Holdout], units: Mapping[str, str]) -> bool:
    for holdout in holdouts:
        unit = units.get(holdout.unit)
        if unit is not None and gb_hash(holdout.seed, unit) < float(holdout.traffic):
            return True
    return False


def assign(
    experiment: Experiment,
    unit: str,
    store: AssignmentStore | None,
) -> Assignment | None:
    """The variant of `unit` in `experiment`, or None when the unit is not in it."""
    if experiment.namespace is not None and not in_namespace(
        unit, experiment.namespace, experiment.namespace_range[0], experiment.namespace_range[1]
    ):
        return None
    by_name = {v.name: v for v in experiment.variants}
    if store is not None:
        try:
            stored = store.get(experiment.name, unit)
        except StoreUnavailable:
            stored = None  # hashing gives the same answer unless weights changed since
        if stored is not None and stored in by_name:
            return Assignment(experiment.name, stored, by_name[stored].strategy, unit, True)
    ranges = bucket_ranges([Decimal(v.weight) for v in experiment.variants], experiment.traffic)
    index = choose_variation(gb_hash(experiment.seed, unit), ranges)
    if index < 0:
        return None
    variant = experiment.variants[index]
    if store is not None:
        try:
            store.put(experiment.name, unit, variant.name)
        except StoreUnavailable:
            pass
    return Assignment(experiment.name, variant.name, variant.strategy, unit, False)
