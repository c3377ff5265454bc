"""200 installment payments race on credit lines from 2 OS processes (4 threads each) against
PostgreSQL: no line ever goes over its limit. One line of 5000.00 takes 100 orders of 100.00
(exactly 50 get through); another of 3000.00 takes 100 orders of mixed amounts (what got
through sums exactly to what the line has used, never more than its limit)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine as Database

from arbiter.platform.credit import lines
from arbiter.platform.credit.models import DRAWS
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger

from .support import cny, with_line

ROOT = Path(__file__).resolve().parents[3]
INSUFFICIENT = {"credit_line_insufficient", lines.INSUFFICIENT}


def race(url: str, halves: list[list[list[str]]]) -> list[dict[str, Any]]:
    started = [subprocess.Popen([sys.executable, "-m", "tests.platform.credit.race", url, "4"], cwd=ROOT,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in halves]
    try:
        for process in started:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line == "ready", (line, process.stderr.read() if process.stderr else "")
        start_at = time.time() + 0.5  # both sides sleep until then: they start together
        for process, orders in zip(started, halves, strict=True):
            assert process.stdin is not None
            process.stdin.write(json.dumps({"orders": orders, "start_at": start_at}) + "\n")
            process.stdin.flush()
        results: list[dict[str, Any]] = []
        for process in started:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            results.extend(json.loads(line))
        return results
    finally:
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


def test_200_concurrent_payments_never_push_a_line_over_its_limit(postgresql_engine: Database) -> None:
    db = postgresql_engine
    with_line(db, "even", "5000.00", "A")
    with_line(db, "mixed", "3000.00", "A")
    picks = random.Random(7)
    orders = [["even", f"e{i}", "100.00"] for i in range(100)]
    orders += [["mixed", f"m{i}", f"{picks.randint(100, 400)}.{picks.randint(0, 99):02d}"] for i in range(100)]
    picks.shuffle(orders)
    results = race(db.url.render_as_string(hide_password=False), [orders[0::2], orders[1::2]])
    assert len(results) == 200
    assert {r["reason"] for r in results if not r["ok"]} <= INSUFFICIENT
    assert sum(r["ok"] for r in results if r["user"] == "even") == 50
    with UnitOfWork(db) as uow:
        for user, limit in (("even", "5000.00"), ("mixed", "3000.00")):
            line = lines.line(uow, user)
            assert line is not None
            through = sum((Decimal(r["amount"]) for r in results if r["ok"] and r["user"] == user), Decimal(0))
            drawn = uow.session.execute(select(func.sum(DRAWS.c.principal)).where(DRAWS.c.user_id == user)).scalar()
            assert line.used == cny(str(through)) == cny(str(drawn)) and line.limit == cny(limit)
            assert line.used <= line.limit
            assert ledger.balance(uow, accounts.credit_receivable(user)) == line.used
        # some mixed order was refused while the line had less than its amount (at most 400.99), and
        # the line only shrinks: it ends below that
        assert line.available < cny("401.00")
        assert ledger.trial_balance(uow).balanced
