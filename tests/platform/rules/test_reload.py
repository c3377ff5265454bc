"""Hot reload: a Reloader keeps an Engine on the published version, in this process and, the
point of it all, in another OS process within a second (Redis pub/sub or database polling)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import update
from sqlmodel import col

from arbiter.clock import FixedClock
from arbiter.dsl.compiler import source_hash
from arbiter.platform.db import UnitOfWork
from arbiter.platform.rules import service
from arbiter.platform.rules.models import RulesetVersion
from arbiter.platform.rules.reload import NothingPublished, Reloader
from arbiter.platform.rules.service import RulesRejected
from tests.platform.rules.conftest import NOW, Database
from tests.platform.rules.samples import NEW_USER, broken, sources

ROOT = Path(__file__).resolve().parents[3]
LATENCY_LIMIT_S = 1.0


def publish(db: Database, content: str, clock: Any, client: Any = None) -> int:
    with UnitOfWork(db.engine) as uow:
        result = service.publish(uow, sources(content), by="ops", why=content, clock=clock, redis=client)
    return result.version.number


def shown(reloader: Reloader) -> tuple[int | None, str]:
    decision = reloader.engine.decide("home_popup", NEW_USER)
    return decision.ruleset_version, str(decision.effects[0].fields[0][1])


def test_serves_the_published_version_and_follows_publishes(db: Database, clock: FixedClock) -> None:
    reloader = Reloader(db.engine, clock)
    with pytest.raises(NothingPublished):
        _ = reloader.engine
    assert reloader.load_current() is False
    publish(db, "v1", clock)
    assert reloader.load_current() is True
    assert (reloader.version, shown(reloader)) == (1, (1, "v1"))
    assert reloader.load_current() is False  # nothing new
    engine = reloader.engine
    publish(db, "v2", clock)
    assert reloader.load_current() is True
    assert reloader.engine is engine  # swapped in place, not replaced
    assert shown(reloader) == (2, "v2")
    assert reloader.engine.ruleset.hash == source_hash(sources("v2"))


def test_a_rollback_reuses_the_compiled_ruleset(db: Database, clock: FixedClock) -> None:
    publish(db, "v1", clock)
    reloader = Reloader(db.engine, clock)
    reloader.load_current()
    first = reloader.engine.ruleset
    publish(db, "v2", clock)
    reloader.load_current()
    with UnitOfWork(db.engine) as uow:
        service.rollback(uow, 1, by="ops", why="back", clock=clock)
    reloader.load_current()
    assert shown(reloader) == (3, "v1")
    assert reloader.engine.ruleset is first  # from the cache, keyed by hash


def test_a_version_that_fails_to_load_is_never_served(db: Database, clock: FixedClock) -> None:
    publish(db, "v1", clock)
    reloader = Reloader(db.engine, clock)
    reloader.load_current()
    # Publishing refuses broken rules, so write such a row behind its back.
    with UnitOfWork(db.engine) as uow:
        uow.session.execute(update(RulesetVersion).where(col(RulesetVersion.number) == 1)
                            .values(status="archived"))
        uow.session.add(RulesetVersion(
            number=2, hash=source_hash(broken()), status="published", sources=json.dumps(broken()),
            why="corrupt", created_by="db", created_at=NOW, published_by="db", published_at=NOW,
        ))
        uow.commit()
    assert reloader.load_current() is False
    assert reloader.load_current() is False  # not retried: it would fail the same way
    assert shown(reloader) == (1, "v1")
    assert [(e.number, e.at) for e in reloader.errors] == [(2, NOW)]
    assert "error(s)" in reloader.errors[0].message
    publish(db, "v3", clock)
    assert reloader.load_current() is True
    assert shown(reloader) == (3, "v3")


def test_a_version_whose_sources_do_not_match_its_hash_is_never_served(
    db: Database, clock: FixedClock
) -> None:
    publish(db, "v1", clock)
    reloader = Reloader(db.engine, clock)
    reloader.load_current()
    with UnitOfWork(db.engine) as uow:
        uow.session.execute(update(RulesetVersion).where(col(RulesetVersion.number) == 1)
                            .values(status="archived"))
        uow.session.add(RulesetVersion(
            number=2, hash="0" * 64, status="published", sources=json.dumps(sources("v2")),
            why="tampered", created_by="db", created_at=NOW,
        ))
        uow.commit()
    assert reloader.load_current() is False
    assert shown(reloader) == (1, "v1")
    assert "not the recorded 000000000000" in reloader.errors[0].message


class InterruptingClock:
    """Runs `during` the first time the engine asks for the time, i.e. mid-decision."""

    def __init__(self, during: Callable[[], None]) -> None:
        self.during: Callable[[], None] | None = during

    def now(self) -> datetime:
        if self.during is not None:
            during, self.during = self.during, None
            during()
        return NOW


def test_a_decision_in_flight_keeps_the_ruleset_it_began_with(db: Database, clock: FixedClock) -> None:
    publish(db, "v1", clock)
    swapped: list[bool] = []

    def publish_and_reload() -> None:
        publish(db, "v2", clock)
        swapped.append(reloader.load_current())

    reloader = Reloader(db.engine, InterruptingClock(publish_and_reload))
    reloader.load_current()
    decision = reloader.engine.decide("home_popup", NEW_USER)
    assert swapped == [True]  # the swap happened during the decision...
    assert (decision.ruleset_version, decision.effects[0].fields[0][1]) == (1, "v1")  # ...unseen
    assert decision.ruleset_hash == source_hash(sources("v1"))
    assert shown(reloader) == (2, "v2")  # the next decision sees it


def test_the_watcher_thread_picks_up_a_publish(db: Database, clock: FixedClock) -> None:
    publish(db, "v1", clock)
    changes: list[int] = []
    with Reloader(db.engine, clock, poll_interval=0.05, on_swap=lambda n, h: changes.append(n)) as reloader:
        assert reloader.version == 1
        publish(db, "v2", clock)
        deadline = time.monotonic() + 5
        while reloader.version != 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert shown(reloader) == (2, "v2")
    assert changes == [1, 2]


# ----------------------------------------------------------------------------- another process


class Child:
    """A serving process; its JSON lines arrive on a queue stamped with when they were read."""

    def __init__(self, url: str, redis_url: str | None) -> None:
        command = [sys.executable, "-m", "tests.platform.rules.workers", "serve", "--url", url]
        if redis_url:
            command += ["--redis", redis_url, "--safety", "30"]
        self.process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put((time.perf_counter(), json.loads(line)))

    def next(self, timeout: float) -> tuple[float, dict[str, Any]]:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the serving process said nothing for {timeout} s") from None

    def stop(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write("stop\n")
        self.process.stdin.flush()
        _, last = self.next(10)
        self.process.wait(10)
        return last

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.mark.parametrize("notice", ["poll", pytest.param("redis", marks=pytest.mark.services)])
def test_hot_reload_seen_by_another_process_within_a_second(
    db: Database, notice: str, request: pytest.FixtureRequest
) -> None:
    redis_url = request.getfixturevalue("redis_url") if notice == "redis" else None
    client = redis.Redis.from_url(redis_url) if redis_url else None
    clock = FixedClock(NOW)
    publish(db, "v1", clock, client)
    child = Child(db.url, redis_url)
    try:
        _, first = child.next(30)
        assert first == {"event": "served", "number": 1, "hash": source_hash(sources("v1")),
                         "decided_version": 1, "content": "v1"}
        _, ready = child.next(10)
        assert ready == {"event": "ready", "mode": notice}
        latencies: list[float] = []
        for number, content in ((2, "v2"), (3, "v3"), (4, "v4")):
            if content == "v3":  # a refused publish in between never reaches the process
                with UnitOfWork(db.engine) as uow, pytest.raises(RulesRejected):
                    service.publish(uow, broken(), by="ops", why="broken", clock=clock, redis=client)
            started = time.perf_counter()
            assert publish(db, content, clock, client) == number  # the refusal took no number
            seen_at, line = child.next(5)
            latencies.append(seen_at - started)
            assert line == {"event": "served", "number": number, "hash": source_hash(sources(content)),
                            "decided_version": number, "content": content}
        figures = ", ".join(f"{s * 1000:.0f} ms" for s in latencies)
        print(f"\nreload latency in another process ({db.kind}, {notice}): {figures}")
        assert max(latencies) < LATENCY_LIMIT_S, figures
        assert child.stop() == {"event": "stopped", "errors": []}
        assert child.process.returncode == 0
    finally:
        child.kill()
        if client is not None:
            client.close()


def test_with_redis_unreachable_the_database_is_polled(db: Database, clock: FixedClock) -> None:
    publish(db, "v1", clock)
    unreachable = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    with Reloader(db.engine, clock, redis=unreachable, poll_interval=0.05) as reloader:
        assert (reloader.mode, reloader.version) == ("redis", 1)
        publish(db, "v2", clock)
        deadline = time.monotonic() + 5
        while reloader.version != 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert shown(reloader) == (2, "v2")


def test_run_time_experiment_statuses_reach_the_engine() -> None:
    from datetime import UTC, datetime

    from arbiter.clock import FixedClock
    from arbiter.dsl.checker import check_sources
    from arbiter.dsl.compiler import compile_program
    from arbiter.engine.engine import Engine
    from arbiter.platform.db import make_engine
    from arbiter.platform.rules.reload import Reloader

    rules = """
    tag user.id: string
    effect show(content: string)
    scene s { strategy a }
    strategy a { scene s hit first rule r { then show(content: "a") } }
    strategy b { scene s hit first rule r { then show(content: "b") } }
    experiment e { scene s unit user.id status draft variant only { strategy b weight 1 } }
    """
    engine = Engine(compile_program(check_sources({"r.rules": rules})), FixedClock(datetime(2026, 1, 1, tzinfo=UTC)), version=1)
    statuses = {"e": "draft"}
    reloader = Reloader(make_engine("sqlite://"), engine.clock, engine=engine, experiment_statuses=lambda: statuses)
    assert reloader.apply_experiment_statuses() is True
    assert engine.decide("s", {"user": {"id": "u1"}}).strategy == "a"
    statuses["e"] = "running"
    assert reloader.apply_experiment_statuses() is True
    assert engine.decide("s", {"user": {"id": "u1"}}).strategy == "b"
    assert reloader.apply_experiment_statuses() is False  # nothing changed
