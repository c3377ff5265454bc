"""Ruleset versions against SQLite and PostgreSQL: publish, refuse, roll back, diff, drafts,
and concurrent publishers (threads and OS processes)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from arbiter.clock import FixedClock, SystemClock
from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import compile_program
from arbiter.errors import InvalidInput
from arbiter.platform.db import UnitOfWork
from arbiter.platform.rules import service
from arbiter.platform.rules.diff import Changes
from arbiter.platform.rules.service import RulesRejected, UnchangedRules, VersionNotFound
from tests.platform.rules.conftest import NOW, Database
from tests.platform.rules.samples import broken, sources

ROOT = Path(__file__).resolve().parents[3]


def hash_of(files: dict[str, str]) -> str:
    return compile_program(check_sources(files)).hash


def statuses(db: Database) -> list[tuple[int, str]]:
    with UnitOfWork(db.engine) as uow:
        return [(v.number, v.status) for v in service.versions(uow)]


def publish(db: Database, clock: FixedClock, content: str, who: str = "alice") -> service.PublishResult:
    with UnitOfWork(db.engine) as uow:
        return service.publish(uow, sources(content), by=who, why=f"show {content}", clock=clock)


def test_first_publish(db: Database, clock: FixedClock) -> None:
    result = publish(db, clock, "v1")
    version = result.version
    assert (version.number, version.status, version.rollback_of, result.archived) == (1, "published", None, None)
    assert (version.created_by, version.published_by, version.why) == ("alice", "alice", "show v1")
    assert version.created_at == version.published_at == NOW
    assert version.hash == hash_of(sources("v1")) == result.ruleset.hash
    assert dict(version.sources) == sources("v1")
    assert result.warnings == ()
    assert result.notified is None
    with UnitOfWork(db.engine) as uow:
        assert service.current(uow) == version
        assert service.current_number(uow) == 1
        assert service.get(uow, 1) == version


def test_publish_archives_the_previous_version(db: Database, clock: FixedClock) -> None:
    first = publish(db, clock, "v1").version
    clock.advance(timedelta(minutes=5))
    second = publish(db, clock, "v2", who="bob")
    assert (second.version.number, second.archived) == (2, 1)
    assert second.version.published_at == NOW + timedelta(minutes=5)
    assert statuses(db) == [(1, "archived"), (2, "published")]
    with UnitOfWork(db.engine) as uow:
        archived = service.get(uow, 1)
        assert service.current(uow) == second.version
    # Only the status of the earlier version changed.
    assert archived == replace(first, status="archived")
    assert (archived.why, archived.published_by, archived.published_at) == ("show v1", "alice", NOW)


def test_a_version_that_does_not_compile_is_refused_and_nothing_is_written(
    db: Database, clock: FixedClock
) -> None:
    publish(db, clock, "v1")
    with UnitOfWork(db.engine) as uow, pytest.raises(RulesRejected) as refused:
        service.publish(uow, broken(), by="mallory", why="oops", clock=clock)
    assert [(d.code, str(d.span)) for d in refused.value.diagnostics] == [
        ("dsl.tag.unknown", "rules/home.rules:12:14")
    ]
    assert refused.value.sources == broken()
    assert statuses(db) == [(1, "published")]


def test_publishing_the_published_rules_again_is_refused(db: Database, clock: FixedClock) -> None:
    publish(db, clock, "v1")
    with UnitOfWork(db.engine) as uow, pytest.raises(UnchangedRules, match="version 1"):
        service.publish(uow, sources("v1"), by="alice", why="again", clock=clock)
    assert statuses(db) == [(1, "published")]


def test_who_and_why_are_required(db: Database, clock: FixedClock) -> None:
    with UnitOfWork(db.engine) as uow:
        with pytest.raises(InvalidInput, match="`by`"):
            service.publish(uow, sources(), by=" ", why="x", clock=clock)
        with pytest.raises(InvalidInput, match="`why`"):
            service.publish(uow, sources(), by="alice", why="", clock=clock)
        with pytest.raises(InvalidInput, match="no rule files"):
            service.publish(uow, {}, by="alice", why="x", clock=clock)
    assert statuses(db) == []


def test_rollback_republishes_an_earlier_version_as_a_new_one(db: Database, clock: FixedClock) -> None:
    for content in ("v1", "v2", "v3"):
        publish(db, clock, content)
    clock.advance(timedelta(hours=1))
    with UnitOfWork(db.engine) as uow:
        result = service.rollback(uow, 1, by="carol", why="v3 broke checkout", clock=clock)
    version = result.version
    assert (version.number, version.status, version.rollback_of, result.archived) == (4, "published", 1, 3)
    assert (version.published_by, version.why, version.published_at) == (
        "carol", "v3 broke checkout", NOW + timedelta(hours=1),
    )
    assert dict(version.sources) == sources("v1")
    assert version.hash == hash_of(sources("v1"))
    assert statuses(db) == [(1, "archived"), (2, "archived"), (3, "archived"), (4, "published")]
    with UnitOfWork(db.engine) as uow:
        with pytest.raises(UnchangedRules, match="version 4 is the published version"):
            service.rollback(uow, 4, by="carol", why="again", clock=clock)
        with pytest.raises(UnchangedRules, match="version 4, published already"):
            service.rollback(uow, 1, by="carol", why="same rules as 4", clock=clock)
        with pytest.raises(VersionNotFound, match="no ruleset version 9"):
            service.rollback(uow, 9, by="carol", why="?", clock=clock)
    assert len(statuses(db)) == 4


def test_diff_between_two_versions(db: Database, clock: FixedClock) -> None:
    publish(db, clock, "v1")
    changed = sources("v2")
    changed["rules/home.rules"] += (
        "\nstrategy other {\n    scene home_popup\n    hit all\n"
        "    rule late { then show(content: \"late\", slot: \"x\") }\n}\n"
    )
    changed["rules/catalog.rules"] = changed["rules/catalog.rules"].replace(
        "tag user.registered_days: int { default 0 }\n", "tag user.registered_days: int { default 0 }\ntag user.age: int\n"
    )
    with UnitOfWork(db.engine) as uow:
        service.publish(uow, changed, by="alice", why="more", clock=clock)
        result = service.diff(uow, 1, 2)
        back = service.diff(uow, 2, 1)
        same = service.diff(uow, 2, 2)
        with pytest.raises(VersionNotFound):
            service.diff(uow, 1, 3)
    assert (result.a, result.b) == (1, 2)
    assert result.rules == Changes(added=("other.late",), changed=("welcome.new_user",))
    assert result.strategies == Changes(added=("other",))
    assert result.tags == Changes(added=("user.age",))
    assert result.conditions == result.scenes == result.experiments == result.promotions == Changes()
    assert back.rules == Changes(removed=("other.late",), changed=("welcome.new_user",))
    assert back.tags == Changes(removed=("user.age",))
    assert same.empty and not result.empty
    assert result.lines() == [
        "+ rules other.late", "~ rules welcome.new_user", "+ tags user.age", "+ strategies other",
    ]


def test_drafts(db: Database, clock: FixedClock) -> None:
    publish(db, clock, "v1")
    with UnitOfWork(db.engine) as uow:
        draft = service.save_draft(uow, broken(), by="dave", why="work in progress", clock=clock)
    assert (draft.version.number, draft.version.status, draft.ok) == (2, "draft", False)
    assert draft.version.published_by is None and draft.version.published_at is None
    with UnitOfWork(db.engine) as uow, pytest.raises(RulesRejected):
        service.publish_draft(uow, 2, by="dave", why="try", clock=clock)
    assert statuses(db) == [(1, "published"), (2, "draft")]

    with UnitOfWork(db.engine) as uow:
        good = service.save_draft(uow, sources("v3"), by="dave", why="for the sale", clock=clock)
    assert (good.version.number, good.ok) == (3, True)
    clock.advance(timedelta(minutes=1))
    with UnitOfWork(db.engine) as uow:
        result = service.publish_draft(uow, 3, by="erin", why="sale starts", clock=clock)
        with pytest.raises(InvalidInput, match="version 3 is published, not a draft"):
            service.publish_draft(uow, 3, by="erin", why="again", clock=clock)
        with pytest.raises(InvalidInput, match="version 2 is a draft"):
            service.rollback(uow, 2, by="erin", why="no", clock=clock)
    version = result.version
    assert (version.number, version.status, result.archived) == (3, "published", 1)
    assert (version.created_by, version.published_by, version.why) == ("dave", "erin", "sale starts")
    assert (version.created_at, version.published_at) == (NOW, NOW + timedelta(minutes=1))
    assert statuses(db) == [(1, "archived"), (2, "draft"), (3, "published")]


def test_concurrent_publishers_in_threads(db: Database) -> None:
    threads, each = 4, 5
    published: list[int] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def worker(name: str) -> None:
        barrier.wait()
        for i in range(each):
            try:
                with UnitOfWork(db.engine) as uow:
                    result = service.publish(uow, sources(f"{name}-{i}"), by=name, why="race",
                                             clock=SystemClock())
                published.append(result.version.number)
            except BaseException as exc:
                failures.append(exc)

    pool = [threading.Thread(target=worker, args=(f"t{k}",)) for k in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert failures == []
    assert sorted(published) == list(range(1, threads * each + 1))
    found = statuses(db)
    assert [n for n, s in found if s == "published"] == [threads * each]
    assert len([n for n, s in found if s == "archived"]) == threads * each - 1


def test_concurrent_publishers_in_processes(db: Database) -> None:
    processes, each = 3, 4
    start_at = time.time() + 2.0  # every worker imports first, then all start together
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.platform.rules.workers", "publish", "--url", db.url,
             "--name", f"p{k}", "--count", str(each), "--start-at", str(start_at)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for k in range(processes)
    ]
    numbers: list[int] = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        numbers.extend(json.loads(out.strip().splitlines()[-1])["published"])
    assert sorted(numbers) == list(range(1, processes * each + 1))
    found = statuses(db)
    assert [n for n, s in found if s == "published"] == [processes * each]
    with db.engine.connect() as connection:
        published = connection.execute(
            text("select count(*) from ruleset_versions where status = 'published'")
        ).scalar_one()
    assert published == 1
