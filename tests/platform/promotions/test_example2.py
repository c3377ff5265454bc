"""Worked example 2, to the cent: a new-user coupon 满99减20, one per user, a budget with 30.00
left, strict. One user opens two checkouts at once with the same coupon: exactly one gets
-20.00 (10.00 left). Then 100 eligible users race: under strict none succeeds (10.00 < 20.00);
under partial exactly one gets -10.00 and the budget ends at 0.00. A cancel returns the coupon
and 20.00 of budget exactly once, though it arrives 5 times.

Run in one process (threads) on SQLite, PostgreSQL and Redis, and across two OS processes
against PostgreSQL (SqlBudgets) and against Redis (RedisBudgets)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from arbiter.clock import FixedClock
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.promotions import coupons as c
from arbiter.platform.promotions import service
from arbiter.platform.promotions.budgets import (
    BUDGET_EXHAUSTED,
    PER_USER,
    PREVIEW,
    RELEASED,
    BudgetStore,
    BudgetTerms,
    SqlBudgets,
)
from arbiter.platform.promotions.models import COUPONS, OPERATIONS
from arbiter.platform.promotions.redis_budgets import RedisBudgets

from .race import AT, outcome
from .support import cny, new_user_coupon, run, stores

ROOT = Path(__file__).resolve().parents[3]
PROMOTION = "new_user_99_20"
Order = tuple[int, str, str]  # coupon id, order id, user
# Runs one command ("checkout" or "cancel") as several racers at once; their outcomes in order.
Race = Callable[[str, list[list[Order]], dict[str, str]], list[dict[str, Any]]]


def set_up(db: Engine, budgets: BudgetStore) -> dict[str, int]:
    budgets.define(PROMOTION, cny("30.00"))
    run(db, service.define_template, new_user_coupon(), AT)
    held = {}
    for user in ["u0", *(f"u{i}" for i in range(1, 101))]:
        result = run(db, service.claim, "new_user_99_20", user, AT)
        assert result.ok and result.coupon_id is not None
        held[user] = result.coupon_id
    return held


def halves(orders: list[Order]) -> list[list[Order]]:
    return [orders[0::2], orders[1::2]]


def worked_example(db: Engine, budgets: BudgetStore, race: Race) -> None:
    held = set_up(db, budgets)
    coupon = held["u0"]

    # One user, two checkouts at once, the same coupon: exactly one gets -20.00.
    first = race("checkout", [[(coupon, "u0-a", "u0")], [(coupon, "u0-b", "u0")]],
                 {"discount": "20.00", "policy": "strict"})
    winners = [o for o in first if o["ok"]]
    assert len(winners) == 1 and winners[0]["granted"] == "20.00"
    loser = next(o for o in first if not o["ok"])
    assert loser["reason"] in {c.RESERVED_ELSEWHERE, PER_USER}
    order = ["u0-a", "u0-b"][first.index(winners[0])]
    assert budgets.remaining(PROMOTION) == cny("10.00")

    # 100 different eligible users race under strict: none succeeds.
    users = [(held[f"u{i}"], f"u{i}-strict", f"u{i}") for i in range(1, 101)]
    strict = race("checkout", halves(users), {"discount": "20.00", "policy": "strict"})
    assert len(strict) == 100
    assert [o["reason"] for o in strict] == [BUDGET_EXHAUSTED] * 100
    assert budgets.remaining(PROMOTION) == cny("10.00")
    assert available_coupons(db) == 100  # the refusals left every coupon usable

    # The same users again under partial: exactly one gets -10.00, the budget ends at 0.00.
    users = [(held[f"u{i}"], f"u{i}-partial", f"u{i}") for i in range(1, 101)]
    partial = race("checkout", halves(users), {"discount": "20.00", "policy": "partial"})
    granted = [o["granted"] for o in partial if o["ok"]]
    assert granted == ["10.00"]
    assert sorted(o["reason"] for o in partial if not o["ok"]) == [BUDGET_EXHAUSTED] * 99
    assert budgets.remaining(PROMOTION) == cny("0.00")
    assert budgets.state(PROMOTION).used == cny("30.00")
    assert available_coupons(db) == 99

    # The first user's order is cancelled; the cancel arrives 5 times, from both sides at once.
    cancels = race("cancel", [[(coupon, order, "u0")] * 3, [(coupon, order, "u0")] * 2], {})
    assert all(o["ok"] and o["status"] == c.RETURNED for o in cancels)
    assert sum(not o["replayed"] for o in cancels) == 1
    state = budgets.state(PROMOTION)
    assert (state.used, state.remaining, state.uses_used) == (cny("10.00"), cny("20.00"), 1)
    reservation = budgets.reservation(PROMOTION, order)
    assert reservation is not None and (reservation.status, reservation.granted) == (RELEASED, cny("20.00"))
    assert [h.id for h in run(db, service.held_coupons, "u0", AT)] == [coupon]  # the coupon is back


def available_coupons(db: Engine) -> int:
    with db.connect() as connection:
        return int(connection.execute(
            select(func.count()).select_from(COUPONS).where(COUPONS.c.status == c.AVAILABLE)).scalar_one())


def logged_operations(db: Engine) -> int:
    with db.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(OPERATIONS)).scalar_one())


def threads(db: Engine, budgets: BudgetStore) -> Race:
    """Each racer's orders split over two threads, all released by one barrier."""

    def one(op: str, orders: list[Order], options: dict[str, str], start: threading.Barrier) -> list[dict[str, Any]]:
        start.wait()
        results = []
        for coupon_id, order_id, user in orders:
            with UnitOfWork(db) as uow:
                if op == "checkout":
                    use = service.reserve_with_budget(
                        uow, budgets, coupon_id, order_id, user, Money.of(options["discount"]), AT,
                        terms=BudgetTerms(options["policy"], per_user=1))
                else:
                    use = service.return_with_budget(uow, budgets, coupon_id, order_id, AT)
            results.append(outcome(use))
        return results

    def race(op: str, racers: list[list[Order]], options: dict[str, str]) -> list[dict[str, Any]]:
        parts = [part for orders in racers for part in (orders[0::2], orders[1::2]) if part]
        start = threading.Barrier(len(parts))
        with ThreadPoolExecutor(len(parts)) as pool:
            futures = [pool.submit(one, op, part, options, start) for part in parts]
            done = [f.result(timeout=60) for f in futures]
        return [o for part in done for o in part]

    return race


@pytest.mark.parametrize("store", ["sqlite", "postgresql", "redis"])
def test_worked_example_2_in_one_process(store: str, request: pytest.FixtureRequest, clock: FixedClock) -> None:
    db, budgets = stores(store, request, clock)
    worked_example(db, budgets, threads(db, budgets))


@pytest.mark.parametrize("store", ["sqlite", "postgresql", "redis"])
def test_a_trial_consumes_nothing(store: str, request: pytest.FixtureRequest, clock: FixedClock) -> None:
    """The trial reads the coupons a user holds and previews their budget: nothing moves."""
    db, budgets = stores(store, request, clock)
    coupon = set_up(db, budgets)["u0"]
    before = (budgets.state(PROMOTION), available_coupons(db), logged_operations(db))
    for _ in range(3):
        held = run(db, service.held_coupons, "u0", AT)
        assert [h.id for h in held] == [coupon]
        offer = held[0]
        assert offer.promotion == PROMOTION and offer.value is not None
        preview = budgets.preview(offer.promotion, offer.value, user="u0", per_user=1, day=AT.date())
        assert (preview.status, preview.granted, preview.reason) == (PREVIEW, cny("20.00"), None)
    assert (budgets.state(PROMOTION), available_coupons(db), logged_operations(db)) == before
    assert budgets.remaining(PROMOTION) == cny("30.00")
    assert budgets.reservation(PROMOTION, "") is None


@pytest.fixture
def processes(request: pytest.FixtureRequest) -> Iterator[Callable[[str, str, str, str], Race]]:
    started: list[subprocess.Popen[str]] = []

    def start(kind: str, db_url: str, redis_url: str, prefix: str) -> Race:
        for _ in range(2):
            started.append(subprocess.Popen(
                [sys.executable, "-m", "tests.platform.promotions.race", kind, db_url, redis_url, prefix],
                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            ))
        for process in started:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line == "ready", (line, process.stderr.read() if process.stderr else "")

        def race(op: str, racers: list[list[Order]], options: dict[str, str]) -> list[dict[str, Any]]:
            start_at = time.time() + 0.2  # both sides sleep until then: they start together
            for process, orders in zip(started, racers, strict=True):
                assert process.stdin is not None
                process.stdin.write(json.dumps({"op": op, "orders": orders, "start_at": start_at, **options}) + "\n")
                process.stdin.flush()
            results: list[dict[str, Any]] = []
            for process in started:
                assert process.stdout is not None
                line = process.stdout.readline()
                assert line, process.stderr.read() if process.stderr else ""
                results.extend(json.loads(line))
            return results

        return race

    yield start
    for process in started:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_worked_example_2_across_two_processes_on_postgresql(
    postgresql_engine: Engine, clock: FixedClock, processes: Callable[[str, str, str, str], Race]
) -> None:
    url = postgresql_engine.url.render_as_string(hide_password=False)
    budgets = SqlBudgets(postgresql_engine, clock)
    budgets.define(PROMOTION, cny("30.00"))  # the workers check it is there before "ready"
    worked_example(postgresql_engine, budgets, processes("sql", url, "-", "-"))


def test_worked_example_2_across_two_processes_on_redis(
    postgresql_engine: Engine, clock: FixedClock, redis_client: Any, redis_prefix: str, redis_url: str,
    processes: Callable[[str, str, str, str], Race],
) -> None:
    url = postgresql_engine.url.render_as_string(hide_password=False)
    budgets = RedisBudgets(redis_client, clock, prefix=redis_prefix)
    budgets.define(PROMOTION, cny("30.00"))
    worked_example(postgresql_engine, budgets, processes("redis", url, redis_url, redis_prefix))
