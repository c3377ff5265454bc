"""Concurrent refunds of one payment from two OS processes against PostgreSQL (and a SQLite
file): 170 refunds of 1.00 under 170 keys (20 of them sent by both sides) race for a payment
of 100.00 — exactly 100 are granted, the payment ends refunded 100.00 and never showed more,
and each shared key refunds once. Then 60 refunds of 7.00 race for another 100.00: exactly
14 are granted (98.00)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from arbiter.engine.engine import Engine as Decisions
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.payments.models import REFUNDS
from arbiter.platform.payments.service import Router

from .support import paid, view

ROOT = Path(__file__).resolve().parents[3]
Race = Callable[[str, list[list[list[str]]]], list[dict[str, Any]]]


@pytest.fixture
def processes() -> Iterator[Callable[[str], Race]]:
    started: list[subprocess.Popen[str]] = []

    def start(db_url: str) -> Race:
        for _ in range(2):
            started.append(subprocess.Popen(
                [sys.executable, "-m", "tests.platform.payments.race", db_url], cwd=ROOT,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for process in started:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line == "ready", (line, process.stderr.read() if process.stderr else "")

        def race(order_id: str, requests: list[list[list[str]]]) -> list[dict[str, Any]]:
            start_at = time.time() + 0.3
            for process, mine in zip(started, requests, strict=True):
                assert process.stdin is not None
                process.stdin.write(json.dumps({"order_id": order_id, "requests": mine, "start_at": start_at}) + "\n")
                process.stdin.flush()
            results = []
            for process in started:
                assert process.stdout is not None
                line = process.stdout.readline()
                assert line, process.stderr.read() if process.stderr else ""
                results.append(json.loads(line))
            return results

        return race

    yield start
    for process in started:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _succeeded(db: Engine, payment_id: str) -> tuple[int, Decimal]:
    with UnitOfWork(db) as uow:
        count, total = uow.session.execute(select(func.count(), func.coalesce(func.sum(REFUNDS.c.amount), 0)).where(
            REFUNDS.c.payment_id == payment_id, REFUNDS.c.status == "succeeded")).one()
    return int(count), Decimal(total)


def race_for_refunds(db: Engine, decisions: Decisions, router: Router, race: Race) -> None:
    payment_id = paid(db, decisions, router, "o-race", "100", method="card")
    shared = [[f"shared-{i}", "1.00"] for i in range(20)]
    sides = [
        [*[[f"a-{i}", "1.00"] for i in range(75)], *shared],
        [*reversed(shared), *[[f"b-{i}", "1.00"] for i in range(75)]],
    ]
    results = race("o-race", sides)
    granted = [key for r in results for key in r["granted"]]
    assert len(granted) == len(set(granted)) == 100
    assert all(Decimal(r["most"]) <= 100 for r in results)
    assert view(db, "o-race").refunded == Money.of("100")
    assert _succeeded(db, payment_id)[0] == 100
    assert sum(r["replayed"] + r["refused"] for r in results) == 190 - 100
    with UnitOfWork(db) as uow:  # a shared key is one refund, whoever sent it first
        keys = uow.session.execute(select(REFUNDS.c.key, func.count()).where(REFUNDS.c.payment_id == payment_id)
                                   .group_by(REFUNDS.c.key)).all()
    assert len(keys) == 170 and {n for _, n in keys} == {1}

    second = paid(db, decisions, router, "o-race-7", "100", method="card")
    results = race("o-race-7", [[[f"a7-{i}", "7.00"] for i in range(30)], [[f"b7-{i}", "7.00"] for i in range(30)]])
    assert sum(len(r["granted"]) for r in results) == 14
    assert sum(r["refused"] for r in results) == 46
    assert view(db, "o-race-7").refunded == Money.of("98")
    assert _succeeded(db, second) == (14, Decimal("98.00"))


def test_the_refund_race_on_postgresql(postgresql_engine: Engine, decisions: Decisions, router: Router,
                                       processes: Callable[[str], Race]) -> None:
    url = postgresql_engine.url.render_as_string(hide_password=False)
    race_for_refunds(postgresql_engine, decisions, router, processes(url))


def test_the_refund_race_on_sqlite(sqlite_engine: Engine, decisions: Decisions, router: Router,
                                   processes: Callable[[str], Race]) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    race_for_refunds(sqlite_engine, decisions, router, processes(url))
