"""300 orders race for a phone with 100 in stock, from two OS processes on PostgreSQL: exactly
100 are paid, the other 200 are refused as out of stock at the cashier, and the stock is never
oversold."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy.engine import Engine

from arbiter.dsl.compiler import Ruleset
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import world
from arbiter.platform.inventory import service as inventory
from arbiter.platform.orders import records

from .conftest import build_platform

ROOT = Path(__file__).resolve().parents[3]
PER_PROCESS = 150


def test_300_orders_for_100_phones_across_two_processes(postgresql_engine: Engine, postgres_schema_url: str,
                                                        demo_rules: Ruleset) -> None:
    build_platform(postgresql_engine, demo_rules)
    sides = [subprocess.Popen([sys.executable, "-m", "tests.platform.flows.race", postgres_schema_url,
                               str(PER_PROCESS), str(n * PER_PROCESS)], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for n in range(2)]
    try:
        for side in sides:
            assert side.stdout is not None and side.stdout.readline().strip() == "ready"
        start = json.dumps({"start_at": time.time() + 0.5}) + "\n"
        for side in sides:
            assert side.stdin is not None
            side.stdin.write(start)
            side.stdin.flush()
        totals: Counter[str] = Counter()
        for side in sides:
            assert side.stdout is not None
            totals.update(json.loads(side.stdout.readline()))
            assert side.wait(timeout=300) == 0
    finally:
        for side in sides:
            if side.poll() is None:
                side.kill()
    out_of_stock = f"{world.PHONE} is out of stock in the warehouses serving 上海"
    assert dict(totals) == {"paid": 100, out_of_stock: 200}
    with UnitOfWork(postgresql_engine) as uow:
        assert inventory.stock_of(uow, world.PHONE)[world.WAREHOUSE] == (100, 100)
        assert len(records.orders_of(uow, status="paid")) == 100
        assert len(records.orders_of(uow, status="created")) == 200  # unpaid: they close at the timeout
