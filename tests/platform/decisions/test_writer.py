"""The decision log writer: rows with the right fields and a stable input digest, drops
counted when the buffer is full, and a database outage that never blocks or fails a decision."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine, make_url

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.engine.decision_log import BoundedLog, LogRecord, input_digest
from arbiter.engine.engine import Engine as DecisionEngine
from arbiter.platform.db import create_schema, make_engine
from arbiter.platform.decisions.writer import DECISION_LOG, LogWriter

RULES = """
tag user.id: string
tag user.level: int { default 0 }
tag user.budget: int { default 100 }
effect show(content: string)
scene popup { strategy popup_a on_failure open fallback show(content: "safe") }
strategy popup_a {
  scene popup
  hit first
  rule vip { priority 10 when user.level >= 3 then show(content: "vip") }
  rule share { priority 5 when 100 / user.budget > 1 then show(content: "share") }
  rule rest { then show(content: "A") }
}
strategy popup_b { scene popup hit first rule b { then show(content: "B") } }
experiment popup_ab {
  scene popup unit user.id seed "popup-ab" status running
  variant control { strategy popup_a weight 50 }
  variant treatment { strategy popup_b weight 50 }
}
"""
CLOCK = FixedClock(datetime(2026, 11, 11, 12, 0, tzinfo=UTC))
UNREACHABLE_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1"


def ruleset() -> Ruleset:
    result = check_sources({"popup.rules": RULES})
    assert result.ok, [d.message for d in result.diagnostics]
    return compile_program(result)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'arbiter.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def postgresql_engine(postgres_url: str) -> Iterator[Engine]:
    """A private schema, dropped afterwards."""
    schema = f"test_decisions_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        create_schema(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Engine:
    engine: Engine = request.getfixturevalue(f"{request.param}_engine")
    return engine


@pytest.fixture
def down() -> Iterator[Engine]:
    engine = make_engine(UNREACHABLE_POSTGRES)
    yield engine
    engine.dispose()


def rows(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(DECISION_LOG).order_by(DECISION_LOG.c.id))]


def control_units(n: int) -> list[str]:
    """Units the experiment puts in control (so that popup_a's rules serve them)."""
    engine = DecisionEngine(ruleset(), CLOCK)
    found = [f"u{i}" for i in range(200) if engine.decide("popup", {"user": {"id": f"u{i}"}}).variant == "control"]
    return found[:n]


def test_records_are_written_with_every_field(db: Engine) -> None:
    log = BoundedLog(100)
    decider = DecisionEngine(ruleset(), CLOCK, version=7, log=log)
    vip, broken = control_units(2)
    decided = [
        decider.decide("popup", {"user": {"id": vip, "level": 3}}),
        decider.decide("popup", {"user": {"id": broken, "budget": 0}}),  # 100 / 0 fails: fallback
    ]
    writer = LogWriter(log, db)
    assert writer.flush() == 2
    first, second = rows(db)
    assert first["scene"] == "popup" and first["ruleset_version"] == 7
    assert first["ruleset_hash"] == decider.ruleset.hash
    assert (first["strategy"], first["experiment"], first["variant"]) == ("popup_a", "popup_ab", "control")
    assert json.loads(str(first["effects"])) == [e.to_json() for e in decided[0].effects]
    assert json.loads(str(first["fired"])) == list(decided[0].fired)
    assert first["failed"] is False and first["reason"] is None
    at = first["at"]
    assert isinstance(at, datetime)
    assert (at if at.tzinfo else at.replace(tzinfo=UTC)) == CLOCK.now()  # SQLite keeps UTC wall time
    expected = input_digest(decider.ruleset.prepare({"user": {"level": 3, "id": vip}}, now=CLOCK.now()))
    assert first["input_digest"] == expected and len(expected) == 64
    assert second["failed"] is True and "zero" in str(second["reason"]).lower()
    assert json.loads(str(second["effects"])) == [{"type": "show", "content": "safe"}]
    assert json.loads(str(first["effects"])) == [{"type": "show", "content": "vip"}]
    assert writer.stats().written == 2 and writer.dropped == 0


def test_the_input_digest_ignores_key_order_and_time() -> None:
    rules = ruleset()
    a = rules.prepare({"user": {"id": "u1", "level": 2}}, now=CLOCK.now())
    b = rules.prepare({"user": {"level": 2, "id": "u1"}}, now=datetime(2030, 1, 1, tzinfo=UTC))
    c = rules.prepare({"user": {"level": 3, "id": "u1"}}, now=CLOCK.now())
    assert input_digest(a) == input_digest(b) != input_digest(c)


def test_a_full_buffer_drops_and_counts(sqlite_engine: Engine) -> None:
    log = BoundedLog(5)
    decider = DecisionEngine(ruleset(), CLOCK, log=log)
    for i in range(12):
        assert not decider.decide("popup", {"user": {"id": f"u{i}"}}).failed
    writer = LogWriter(log, sqlite_engine)
    assert writer.flush() == 5
    assert writer.dropped == 7 and writer.written == 5
    assert len(rows(sqlite_engine)) == 5


def test_an_outage_keeps_records_until_the_buffer_is_full_then_counts_the_losses(
    sqlite_engine: Engine, down: Engine
) -> None:
    log = BoundedLog(50)
    decider = DecisionEngine(ruleset(), CLOCK, log=log)
    writer = LogWriter(log, down, batch=20)
    for i in range(30):
        decider.decide("popup", {"user": {"id": f"u{i}"}})
    assert writer.flush() == 0  # the database is down: 20 wait as the pending batch, 10 buffered
    assert writer.failures == 1 and writer.last_error is not None
    for i in range(30, 130):
        assert decider.decide("popup", {"user": {"id": f"u{i}"}}).effects  # decisions go on
    assert decider.log_failures == 0
    stats = writer.stats()
    assert (stats.buffered, stats.dropped, stats.written) == (70, 60, 0)
    writer.engine = sqlite_engine  # the database is back
    assert writer.flush() == 70
    assert writer.stats().buffered == 0 and writer.dropped == 60
    written = [r["input_digest"] for r in rows(sqlite_engine)]
    assert len(written) == len(set(written)) == 70  # u0..u69, once each, in order


def test_the_thread_flushes_and_survives_an_outage(sqlite_engine: Engine, down: Engine) -> None:
    log = BoundedLog(1000)
    decider = DecisionEngine(ruleset(), CLOCK, log=log)
    writer = LogWriter(log, down)
    writer.start(every_ms=5)
    try:
        for i in range(200):
            assert decider.decide("popup", {"user": {"id": f"u{i}"}}).effects
        deadline = time.monotonic() + 5
        while writer.failures == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writer.failures >= 1 and writer.written == 0
        writer.engine = sqlite_engine
        deadline = time.monotonic() + 5
        while writer.written < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        writer.stop()
    assert writer.written == 200 and writer.dropped == 0
    assert len(rows(sqlite_engine)) == 200


def test_a_batch_postgresql_refuses_is_kept_and_counted(postgresql_engine: Engine) -> None:
    log = BoundedLog(10)
    # A scene name longer than its column: the COPY fails as a whole, nothing is written.
    log.append(LogRecord(CLOCK.now(), "s" * 300, 1, "h" * 64, None, None, None, {}, (), (), 1.0, False, None))
    writer = LogWriter(log, postgresql_engine)
    assert writer.flush() == 0
    assert writer.failures == 1 and "StringDataRightTruncation" in str(writer.last_error)
    assert writer.stats().buffered == 1 and writer.written == 0
