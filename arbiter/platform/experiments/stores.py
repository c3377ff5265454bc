"""The stores the engine's experiments take through protocols: sticky assignments in SQL or
Redis, and exposures buffered in memory and flushed to SQL.

Assignments are written insert-if-absent in one statement (`INSERT ... ON CONFLICT DO NOTHING`
on SQLite and PostgreSQL, `HSETNX` on Redis), so two processes racing for the same unit agree
on whichever variant landed first. A store that fails raises `StoreUnavailable`; the engine
then falls back to hashing, which gives the same variant unless weights changed.

Exposures never touch the database on the decision's path: `record` appends to a bounded
buffer (dropping and counting when full), `flush` writes batches that keep one row per unit,
experiment and day.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.dml import Insert

from arbiter.clock import Clock
from arbiter.engine.experiments import AssignmentStore, Exposure, StoreUnavailable
from arbiter.platform.experiments.models import ExperimentAssignment, ExperimentExposure, utc

ASSIGNMENTS: Table = getattr(ExperimentAssignment, "__table__")  # noqa: B009 - typed as a Table here
EXPOSURES: Table = getattr(ExperimentExposure, "__table__")  # noqa: B009


def insert_if_absent(table: Table, dialect: str) -> Insert:
    """An INSERT that skips rows whose key is already there, atomically, in one statement."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"insert-if-absent is not written for the {dialect} dialect")


class SqlAssignments:
    """`AssignmentStore` in the `experiment_assignment` table.

    Any database failure becomes `StoreUnavailable` (counted in `failures`, the last one kept
    in `last_error`): a broken store must cost stickiness for a while, never a decision.
    """

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.failures = 0
        self.last_error: str | None = None

    def _unavailable(self, exc: SQLAlchemyError) -> StoreUnavailable:
        self.failures += 1
        lines = str(exc).strip().splitlines()
        self.last_error = f"{exc.__class__.__name__}: {lines[0] if lines else ''}"
        return StoreUnavailable(f"assignments: {self.last_error}")

    def get(self, experiment: str, unit: str) -> str | None:
        query = select(ASSIGNMENTS.c.variant).where(
            ASSIGNMENTS.c.experiment == experiment, ASSIGNMENTS.c.unit == unit
        )
        try:
            with self.engine.connect() as connection:
                return connection.execute(query).scalar_one_or_none()
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from exc

    def put(self, experiment: str, unit: str, variant: str) -> None:
        statement = insert_if_absent(ASSIGNMENTS, self.engine.dialect.name).values(
            experiment=experiment, unit=unit, variant=variant, assigned_at=utc(self.clock.now())
        )
        try:
            with self.engine.begin() as connection:
                connection.execute(statement)
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from exc


def assignments_key(experiment: str, prefix: str = "arbiter") -> str:
    """One hash per experiment; the braces keep it in one Redis Cluster slot."""
    return f"{prefix}:{{exp:{experiment}}}:assignments"


class RedisAssignments:
    """`AssignmentStore` in a Redis hash per experiment: unit -> variant, set with HSETNX.

    Any Redis failure (connection, timeout, a wrong key type) becomes `StoreUnavailable`,
    counted in `failures`."""

    def __init__(self, client: Any, prefix: str = "arbiter") -> None:
        self.client = client  # a redis.Redis, built by the composition root
        self.prefix = prefix
        self.failures = 0
        self.last_error: str | None = None

    def get(self, experiment: str, unit: str) -> str | None:
        try:
            value = self.client.hget(assignments_key(experiment, self.prefix), unit)
        except Exception as exc:
            raise self._translate(exc) from exc
        if value is None:
            return None
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    def put(self, experiment: str, unit: str, variant: str) -> None:
        try:
            self.client.hsetnx(assignments_key(experiment, self.prefix), unit, variant)
        except Exception as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: Exception) -> Exception:
        from redis.exceptions import RedisError

        if not isinstance(exc, RedisError):
            return exc
        self.failures += 1
        self.last_error = f"{exc.__class__.__name__}: {exc}"
        return StoreUnavailable(f"assignments: {self.last_error}")


class NotCached(Exception):
    """What `CachedAssignments` raises in `cached_only` mode when only its store can answer.
    Not a `StoreUnavailable`: the engine lets it through, before the decision has recorded
    anything, and the caller decides again where I/O is allowed."""


ASSIGNMENT_CACHE_LIMIT = 100_000  # remembered assignments; past it the cache starts afresh


class CachedAssignments:
    """An `AssignmentStore` in front of another that remembers the assignments it has read.

    Assignments are written once and never changed (insert-if-absent), so a remembered one
    is what the store would answer; a unit not found is not remembered, since any process
    may assign it at any time. In `cached_only()` (for the calling thread only), a read the
    cache cannot answer and any write raise `NotCached` instead of doing I/O: the HTTP
    service decides on its event loop when it can, and in a worker thread when it cannot.
    """

    def __init__(self, store: AssignmentStore, limit: int = ASSIGNMENT_CACHE_LIMIT) -> None:
        self.store = store
        self.limit = limit
        self._known: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    def get(self, experiment: str, unit: str) -> str | None:
        found = self._known.get((experiment, unit))
        if found is not None:
            return found
        if getattr(self._local, "cached_only", False):
            raise NotCached(f"{experiment}: {unit}")
        found = self.store.get(experiment, unit)
        if found is not None:
            with self._lock:
                if len(self._known) >= self.limit:
                    self._known.clear()
                self._known[(experiment, unit)] = found
        return found

    def put(self, experiment: str, unit: str, variant: str) -> None:
        if getattr(self._local, "cached_only", False):
            raise NotCached(f"{experiment}: {unit}")
        self.store.put(experiment, unit, variant)

    @contextmanager
    def cached_only(self) -> Iterator[None]:
        self._local.cached_only = True
        try:
            yield
        finally:
            self._local.cached_only = False

    def __getattr__(self, name: str) -> Any:  # the store's own figures: failures, last_error
        if name == "store":  # not set yet (a copy being made): no recursion
            raise AttributeError(name)
        return getattr(self.store, name)


def exposure_day(at: datetime, tz: tzinfo) -> date:
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return aware.astimezone(tz).date()


def exposure_rows(exposures: Iterable[Exposure], tz: tzinfo) -> list[dict[str, Any]]:
    """One row per (experiment, unit, day): the earliest exposure of the batch wins."""
    first: dict[tuple[str, str, date], Exposure] = {}
    for exposure in exposures:
        key = (exposure.experiment, exposure.unit, exposure_day(exposure.at, tz))
        seen = first.get(key)
        if seen is None or utc(exposure.at) < utc(seen.at):
            first[key] = exposure
    return [
        {"experiment": e, "unit": u, "day": d, "variant": x.variant, "first_at": utc(x.at)}
        for (e, u, d), x in first.items()
    ]


def write_exposures(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        connection.execute(insert_if_absent(EXPOSURES, connection.dialect.name), list(rows))


class BufferedExposures:
    """`ExposureSink`: `record` costs one append and never fails; `flush` writes to SQL.

    `tz` fixes where a day begins and ends (UTC unless the business says otherwise). A batch
    whose write fails stays pending and is retried by the next flush; meanwhile new exposures
    wait in the buffer until it is full, then are dropped and counted.
    """

    def __init__(self, capacity: int = 100_000, *, batch: int = 1_000, tz: tzinfo = UTC) -> None:
        self.capacity = capacity
        self.batch = batch
        self.tz = tz
        self._buffer: deque[Exposure] = deque()  # append/popleft are atomic: no lock on record
        self._pending: list[dict[str, Any]] = []
        self._flushing = threading.Lock()
        self.recorded = 0
        self.dropped = 0
        self.written = 0  # rows sent to the database, new or already there
        self.failures = 0
        self.last_error: str | None = None

    def record(self, exposure: Exposure) -> None:
        if len(self._buffer) >= self.capacity:
            self.dropped += 1
            return
        self._buffer.append(exposure)
        self.recorded += 1

    def __len__(self) -> int:
        return len(self._buffer) + len(self._pending)

    def _drain(self) -> list[Exposure]:
        drained: list[Exposure] = []
        while len(drained) < self.batch:
            try:
                drained.append(self._buffer.popleft())
            except IndexError:
                break
        return drained

    def flush(self, engine: Engine) -> int:
        """Write everything buffered; the number of rows sent. Never raises for a database
        failure: it is counted, kept in `last_error`, and the batch is retried next time."""
        sent = 0
        with self._flushing:
            while True:
                if not self._pending:
                    self._pending = exposure_rows(self._drain(), self.tz)
                    if not self._pending:
                        return sent
                try:
                    with engine.begin() as connection:
                        write_exposures(connection, self._pending)
                except SQLAlchemyError as exc:
                    self.failures += 1
                    self.last_error = f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    return sent
                sent += len(self._pending)
                self.written += len(self._pending)
                self._pending = []
