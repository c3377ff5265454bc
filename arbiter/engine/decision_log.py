"""The decision log: every decision, appended through a bounded buffer that never blocks or
fails the decision.

The engine appends a record per decision; a writer (in `arbiter.platform`) drains the buffer
to storage in batches. When the buffer is full the record is dropped and counted, so overload
costs log records, never latency or errors; the counts are reported (metrics, `/ready`).
The input digest is computed when the record is drained, off the decision's path.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from arbiter.dsl.runtime import EffectValue, to_json


@dataclass(frozen=True, slots=True)
class LogRecord:
    at: datetime
    scene: str
    ruleset_version: int | None
    ruleset_hash: str
    strategy: str | None
    experiment: str | None
    variant: str | None
    context: Mapping[str, Any]  # the prepared context; digested when drained
    effects: tuple[EffectValue, ...]
    fired: tuple[str, ...]
    latency_us: float
    failed: bool
    reason: str | None

    def input_digest(self) -> str:
        return input_digest(self.context)

    def to_row(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "scene": self.scene,
            "ruleset_version": self.ruleset_version,
            "ruleset_hash": self.ruleset_hash,
            "strategy": self.strategy,
            "experiment": self.experiment,
            "variant": self.variant,
            "input_digest": self.input_digest(),
            "effects": json.dumps([e.to_json() for e in self.effects], ensure_ascii=False, sort_keys=True),
            "fired": json.dumps(list(self.fired)),
            "latency_us": round(self.latency_us, 1),
            "failed": self.failed,
            "reason": self.reason,
        }


def input_digest(context: Mapping[str, Any]) -> str:
    """A stable digest of a context: same values, same digest, whatever the key order."""
    payload = {k: v for k, v in context.items() if not k.startswith("$")}  # not the time or readers
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def canonical_json(value: Any) -> str:
    """`json.dumps(to_json(value), sort_keys=True, ...)`, the text digests are taken of, made
    by the C encoder in one pass: it calls `to_json` only on the values JSON does not know
    (amounts, times, sets, other mappings), instead of a Python walk over every value."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_plain)


def _plain(value: Any) -> Any:
    plain = to_json(value)
    if plain is value:  # nothing JSON can carry: refused, as `json.dumps` refuses it
        raise TypeError(f"a {type(value).__name__} value has no JSON form")
    return plain


class DecisionLog(Protocol):
    def append(self, record: LogRecord) -> None:
        """Must return at once and never raise."""


class BoundedLog:
    """An in-memory buffer of at most `capacity` records; extra records are dropped, counted."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        # deque.append and popleft are atomic: no lock, so a decision never waits for the
        # writer. Racing appends may overshoot the capacity by a few records, which is harmless.
        self._records: deque[LogRecord] = deque()
        self._counting = threading.Lock()  # guards only the two counters, never the deque
        self.appended = 0
        self.dropped = 0

    def append(self, record: LogRecord) -> None:
        if len(self._records) >= self.capacity:
            with self._counting:
                self.dropped += 1
            return
        self._records.append(record)
        with self._counting:
            self.appended += 1

    def drain(self, limit: int = 1_000) -> list[LogRecord]:
        drained: list[LogRecord] = []
        while len(drained) < limit:
            try:
                drained.append(self._records.popleft())
            except IndexError:
                break
        return drained

    def __len__(self) -> int:
        return len(self._records)
