"""300 lock attempts of one unit each race for 100 units (60 at WH-SH1, 40 at WH-SH2) from
two OS processes, on PostgreSQL and on a SQLite file: exactly 100 are granted, 200 refused,
free stock is never seen below zero and ends at 0 with 100 locked. Then both processes lock
the same 50 orders at once: each order holds one unit, once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from arbiter.platform.inventory import service as inventory

from .support import run, warehouses

ROOT = Path(__file__).resolve().parents[3]
SKU = "SKU-RACE"
Race = Callable[[str, list[list[str]]], list[dict[str, Any]]]


@pytest.fixture
def processes() -> Iterator[Callable[[str], Race]]:
    started: list[subprocess.Popen[str]] = []

    def start(db_url: str) -> Race:
        for _ in range(2):
            started.append(subprocess.Popen(
                [sys.executable, "-m", "tests.platform.inventory.race", db_url, "SH"], cwd=ROOT,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for process in started:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line == "ready", (line, process.stderr.read() if process.stderr else "")

        def race(sku: str, orders: list[list[str]]) -> list[dict[str, Any]]:
            start_at = time.time() + 0.3
            for process, mine in zip(started, orders, strict=True):
                assert process.stdin is not None
                process.stdin.write(json.dumps({"sku": sku, "orders": mine, "start_at": start_at}) + "\n")
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


def race_for_stock(db: Engine, race: Race) -> None:
    run(db, inventory.receive, SKU, "WH-SH1", 60, "race-1")
    run(db, inventory.receive, SKU, "WH-SH2", 40, "race-2")
    orders = [f"order-{i}" for i in range(300)]
    sides = race(SKU, [orders[0::2], orders[1::2]])
    assert sum(s["granted"] for s in sides) == 100
    refused = [reason for s in sides for reason in s["refused"]]
    assert refused == ["SKU-RACE is out of stock in the warehouses serving SH"] * 200
    assert all(s["replayed"] == 0 and s["least_free"] >= 0 for s in sides)
    assert run(db, inventory.stock_of, SKU) == {"WH-SH1": (60, 60), "WH-SH2": (40, 40)}
    assert run(db, inventory.available, SKU, "SH") == 0
    held = [lock for o in orders for lock in run(db, inventory.locks_of, o)]
    assert len(held) == 100 and {h.state for h in held} == {"locked"}
    assert sum(1 for h in held if h.warehouse == "WH-SH1") == 60

    # Both sides lock the same 50 orders at once: each order is granted once, replayed once.
    same = [f"twice-{i}" for i in range(50)]
    run(db, inventory.receive, "SKU-TWICE", "WH-SH2", 100, "twice")
    sides = race("SKU-TWICE", [same, list(reversed(same))])
    assert sum(s["granted"] for s in sides) == 50 and sum(s["replayed"] for s in sides) == 50
    assert run(db, inventory.stock_of, "SKU-TWICE") == {"WH-SH2": (100, 50)}


def test_the_stock_race_on_postgresql(postgresql_engine: Engine, processes: Callable[[str], Race]) -> None:
    warehouses(postgresql_engine)
    race_for_stock(postgresql_engine, processes(postgresql_engine.url.render_as_string(hide_password=False)))


def test_the_stock_race_on_sqlite(sqlite_engine: Engine, processes: Callable[[str], Race]) -> None:
    warehouses(sqlite_engine)
    race_for_stock(sqlite_engine, processes(sqlite_engine.url.render_as_string(hide_password=False)))
