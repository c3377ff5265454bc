"""Onboarding raced from four OS processes on PostgreSQL: four merchants applying for one shop
code leave exactly one merchant with it; four payments of one merchant's deposit post it once
and open the shop once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy.engine import Engine

from arbiter.platform.db import UnitOfWork
from arbiter.platform.merchants import service as merchants
from arbiter.platform.settlement import service as settlement

from .support import T0, apply, m

ROOT = Path(__file__).resolve().parents[3]
SIDES = 4


def race(url: str, action: str, *, same: bool = False) -> Counter[str]:
    """Race SIDES processes; each acts as `m-N` (or all as `m-0` when `same`)."""
    sides = [subprocess.Popen([sys.executable, "-m", "tests.platform.merchants.race", url, action,
                               f"m-{0 if same else n}"],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for n in range(SIDES)]
    outcomes: Counter[str] = Counter()
    try:
        for side in sides:
            assert side.stdout is not None and side.stdout.readline().strip() == "ready"
        start = json.dumps({"start_at": time.time() + 0.5}) + "\n"
        for side in sides:
            assert side.stdin is not None
            side.stdin.write(start)
            side.stdin.flush()
        for side in sides:
            assert side.stdout is not None
            outcomes.update(f"{k}: {v}" for k, v in json.loads(side.stdout.readline()).items())
            assert side.wait(timeout=120) == 0
    finally:
        for side in sides:
            if side.poll() is None:
                side.kill()
    return outcomes


def test_four_merchants_racing_for_one_shop_leave_one(postgresql_engine: Engine, postgres_schema_url: str) -> None:
    outcomes = race(postgres_schema_url, "apply")
    assert outcomes == Counter({"ok: applied": 1, "conflict: merchants.shop.taken": SIDES - 1})
    with UnitOfWork(postgresql_engine) as uow:
        [only] = merchants.merchants(uow)
        assert merchants.merchant_of_shop(uow, "shop-race") == only
        assert len(merchants.history(uow, only.id)) == 1


def test_a_deposit_paid_four_times_at_once_is_posted_once(postgresql_engine: Engine, postgres_schema_url: str) -> None:
    with UnitOfWork(postgresql_engine) as uow:
        apply(uow, "m-race", "shop-race")
        merchants.review(uow, "m-race", approve=True, reasons=[], by="reviewer-1", now=T0)
    # the same payment notified four times at once: the shop opens, the losers either see it
    # open or lose the compare-and-set on the status
    outcomes = race(postgres_schema_url, "deposit", same=True)
    assert outcomes["ok: active"] >= 1 and sum(outcomes.values()) == SIDES
    assert set(outcomes) <= {"ok: active", "conflict: merchants.moved"}
    # four other receipts at once, after it: each is refused, the deposit is paid once
    assert race(postgres_schema_url, "deposit") == Counter({"conflict: merchants.deposit.paid": SIDES - 1,
                                                            "ok: active": 1})
    with UnitOfWork(postgresql_engine) as uow:
        assert settlement.balances(uow, "shop-race").deposit == m("10000.00")
        assert [c.to_status for c in merchants.history(uow, "m-race")] == ["applied", "approved", "active"]
