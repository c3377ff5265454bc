"""Drains the engine's bounded decision log into the `decision_log` table.

Decisions only ever append to the `BoundedLog`; this writer, on its own thread or when called,
takes a batch, turns it into rows (computing the input digests, off the decisions' path) and
bulk-inserts it. When the database fails, the batch stays pending and is retried by the next
flush; meanwhile records wait in the buffer, and once it is full new ones are dropped and
counted there. Nothing here ever blocks or fails a decision.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from arbiter.engine.decision_log import BoundedLog
from arbiter.platform.decisions.models import DecisionLogEntry, utc

YIELD_S = 0.0005  # the longest the writer keeps the interpreter lock while building rows
DECISION_LOG: Table = getattr(DecisionLogEntry, "__table__")  # noqa: B009 - typed as a Table here


@dataclass(frozen=True, slots=True)
class WriterStats:
    written: int  # rows stored
    dropped: int  # records lost: buffer full, or a record that could not be turned into a row
    buffered: int  # waiting in the buffer or in the pending batch
    failures: int  # flushes the database refused
    last_error: str | None


class LogWriter:
    def __init__(self, log: BoundedLog, engine: Engine, *, batch: int = 1_000) -> None:
        self.log = log
        self.engine = engine
        self.batch = batch
        self.written = 0
        self.unwritable = 0  # records whose row could not be built (counted as dropped)
        self.failures = 0
        self.last_error: str | None = None
        self._pending: list[dict[str, Any]] = []
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def dropped(self) -> int:
        return self.log.dropped + self.unwritable

    def stats(self) -> WriterStats:
        return WriterStats(self.written, self.dropped, len(self.log) + len(self._pending),
                           self.failures, self.last_error)

    def _rows(self) -> list[dict[str, Any]]:
        rows = []
        handed_back = time.perf_counter()
        for record in self.log.drain(self.batch):
            try:
                row = record.to_row()
            except Exception:  # a context value that cannot be digested: lose the record, count it
                self.unwritable += 1
                continue
            row["at"] = utc(row["at"])
            rows.append(row)
            # Hand the interpreter lock back every YIELD_S: serialising a batch in one go would
            # keep decisions waiting for up to a whole switch interval (5 ms), and handing it
            # back after every record costs a thread switch per record.
            if time.perf_counter() - handed_back >= YIELD_S:
                time.sleep(0)
                handed_back = time.perf_counter()
        return rows

    def flush(self) -> int:
        """Write everything buffered; the number of rows written. A database failure is
        counted and kept in `last_error`, never raised: the batch is retried next time."""
        written = 0
        refused: tuple[type[Exception], ...] = (SQLAlchemyError, *_driver_errors(self.engine))
        with self._flushing:
            while True:
                if not self._pending:
                    self._pending = self._rows()
                    if not self._pending:
                        return written
                try:
                    with self.engine.begin() as connection:
                        _insert(connection, self._pending)
                except refused as exc:
                    self.failures += 1
                    text = str(exc).splitlines()
                    self.last_error = f"{exc.__class__.__name__}: {text[0] if text else ''}"
                    return written
                written += len(self._pending)
                self.written += len(self._pending)
                self._pending = []

    def start(self, every_ms: int = 200) -> None:
        """Flush on a daemon thread every `every_ms` milliseconds until `stop`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(every_ms / 1000,), name="arbiter-decision-log", daemon=True
        )
        self._thread.start()

    def _run(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            try:
                self.flush()
            except Exception as exc:  # keep the thread alive whatever happens
                self.failures += 1
                self.last_error = f"{exc.__class__.__name__}: {exc}"

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread and make a last flush."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout_s)
        self.flush()


def _insert(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Bulk-insert rows: PostgreSQL through psycopg takes them as one COPY stream (a few
    microseconds a row, on the client and on the server, against tens for an INSERT each);
    any other database as an executemany."""
    if connection.dialect.name != "postgresql" or connection.dialect.driver != "psycopg":
        connection.execute(insert(DECISION_LOG), rows)
        return
    columns = list(rows[0])
    quote = connection.dialect.identifier_preparer.quote
    statement = f"COPY {quote(DECISION_LOG.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with connection.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])


def _driver_errors(engine: Engine) -> tuple[type[Exception], ...]:
    """What the driver itself raises: a COPY runs on the driver's connection, beneath
    SQLAlchemy's wrapping of errors."""
    error = getattr(engine.dialect.dbapi, "Error", None)
    return (error,) if isinstance(error, type) and issubclass(error, Exception) else ()
