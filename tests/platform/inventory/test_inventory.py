"""Stock: receiving, serving regions, locking all lines or none, release, deduct, restock;
each idempotent, with exact figures, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.platform.db import UnitOfWork
from arbiter.platform.inventory import service as inventory
from arbiter.platform.inventory.service import LockResult

from .support import CASE, PHONE, run, stocked, warehouses


def test_warehouses_serve_regions_in_priority_order(db: Engine) -> None:
    warehouses(db)
    run(db, inventory.add_warehouse, "WH-SH0", "Shanghai 0", "SH", ["SH"], priority=5)
    assert run(db, inventory.serving, "SH") == ["WH-SH1", "WH-SH0", "WH-SH2"]  # 10, then 5 by code
    assert run(db, inventory.serving, "JS") == ["WH-SH1"]
    assert run(db, inventory.serving, "XJ") == []
    run(db, inventory.add_warehouse, "WH-ALL", "Everywhere", "HB", ["*"], priority=-1)
    assert run(db, inventory.serving, "XJ") == ["WH-ALL"]
    run(db, inventory.add_warehouse, "WH-GZ", "Guangzhou", "GD", ["GD"])  # the same again: nothing changes
    with pytest.raises(Conflict, match="warehouse 'WH-GZ' exists already with other details"):
        run(db, inventory.add_warehouse, "WH-GZ", "Guangzhou", "GD", ["GD", "GX"])
    warehouse = run(db, inventory.get_warehouse, "WH-SH1")
    assert (warehouse.region, warehouse.serves, warehouse.priority) == ("SH", ("JS", "SH"), 10)


def test_receiving_is_idempotent_by_key(db: Engine) -> None:
    stocked(db)
    assert run(db, inventory.receive, PHONE, "WH-SH1", 3, "r1") is False  # the same receipt again
    assert run(db, inventory.receive, PHONE, "WH-SH1", 2, "r5") is True
    assert run(db, inventory.stock_of, PHONE) == {"WH-GZ": (4, 0), "WH-SH1": (5, 0), "WH-SH2": (10, 0)}
    with pytest.raises(Conflict, match="key 'receive:r1' was used for another movement"):
        run(db, inventory.receive, PHONE, "WH-SH1", 7, "r1")
    with pytest.raises(NotFound, match="warehouse 'WH-XX' does not exist"):
        run(db, inventory.receive, PHONE, "WH-XX", 1, "r6")
    with pytest.raises(InvalidInput, match="quantity: 0 is not a whole number of 1 or more"):
        run(db, inventory.receive, PHONE, "WH-SH1", 0, "r7")
    assert run(db, inventory.available, PHONE) == 19
    assert run(db, inventory.available, PHONE, "SH") == 15
    assert run(db, inventory.available, PHONE, "JS") == 5
    assert run(db, inventory.available, PHONE, "XJ") == 0
    assert run(db, inventory.available_many, [PHONE, CASE, "SKU-NONE"], "SH") == {PHONE: 15, CASE: 1, "SKU-NONE": 0}


def test_a_lock_takes_each_line_from_the_first_warehouse_with_enough(db: Engine) -> None:
    stocked(db)
    result = run(db, inventory.lock, "o1", [("l1", PHONE, 2), ("l2", CASE, 1)], "SH")
    assert result == LockResult(True, None, {"l1": "WH-SH1", "l2": "WH-SH2"})
    # WH-SH1 has 1 left: a line of 2 goes to WH-SH2 whole, never split
    assert run(db, inventory.lock, "o2", [("l1", PHONE, 2)], "SH").warehouses == {"l1": "WH-SH2"}
    assert run(db, inventory.stock_of, PHONE) == {"WH-GZ": (4, 0), "WH-SH1": (3, 2), "WH-SH2": (10, 2)}
    assert run(db, inventory.available, PHONE, "SH") == 9
    # locking an order again returns its result and moves nothing
    again = run(db, inventory.lock, "o1", [("l1", PHONE, 2), ("l2", CASE, 1)], "SH")
    assert again == LockResult(True, None, {"l1": "WH-SH1", "l2": "WH-SH2"}, replayed=True)
    assert run(db, inventory.stock_of, CASE) == {"WH-SH2": (1, 1)}


def test_all_lines_or_none(db: Engine) -> None:
    stocked(db)
    refused = run(db, inventory.lock, "o1", [("l1", PHONE, 2), ("l2", CASE, 2)], "SH")
    assert refused == LockResult(False, "SKU-CASE is out of stock in the warehouses serving SH")
    assert run(db, inventory.stock_of, PHONE) == {"WH-GZ": (4, 0), "WH-SH1": (3, 0), "WH-SH2": (10, 0)}
    assert run(db, inventory.locks_of, "o1") == []
    assert run(db, inventory.lock, "o1", [("l1", PHONE, 5)], "GD") == LockResult(
        False, "SKU-PHONE-X1-128 is out of stock in the warehouses serving GD")
    assert run(db, inventory.lock, "o1", [("l1", PHONE, 1)], "XJ") == LockResult(False, "no warehouse serves XJ")
    # a refusal records nothing: the same order is decided afresh
    assert run(db, inventory.lock, "o1", [("l1", PHONE, 4)], "GD") == LockResult(True, None, {"l1": "WH-GZ"})
    with pytest.raises(InvalidInput, match="lines: each line id may appear once"):
        run(db, inventory.lock, "o9", [("l1", PHONE, 1), ("l1", CASE, 1)], "SH")
    with pytest.raises(InvalidInput, match=r"lines\[0\] quantity: -1 is not a whole number of 1 or more"):
        run(db, inventory.lock, "o9", [("l1", PHONE, -1)], "SH")


def test_nothing_moves_until_the_caller_commits(db: Engine) -> None:
    stocked(db)
    with UnitOfWork(db) as uow:
        assert inventory.lock(uow, "o1", [("l1", PHONE, 3)], "SH").ok
    assert run(db, inventory.stock_of, PHONE)["WH-SH1"] == (3, 0)
    assert run(db, inventory.locks_of, "o1") == []


def test_release_and_deduct(db: Engine) -> None:
    stocked(db)
    run(db, inventory.lock, "o1", [("l1", PHONE, 2), ("l2", CASE, 1)], "SH")
    run(db, inventory.lock, "o2", [("l1", PHONE, 1), ("l2", PHONE, 5)], "SH")
    assert run(db, inventory.stock_of, PHONE) == {"WH-GZ": (4, 0), "WH-SH1": (3, 3), "WH-SH2": (10, 5)}
    assert run(db, inventory.release, "o1") == ["l2", "l1"]  # in (sku, line) order: SKU-CASE first
    assert run(db, inventory.release, "o1") == []
    assert run(db, inventory.stock_of, CASE) == {"WH-SH2": (1, 0)}
    assert run(db, inventory.deduct, "o2", "l2") == ["l2"]
    assert run(db, inventory.stock_of, PHONE) == {"WH-GZ": (4, 0), "WH-SH1": (3, 1), "WH-SH2": (5, 0)}
    assert run(db, inventory.deduct, "o2") == ["l1"]
    assert run(db, inventory.deduct, "o2") == []
    assert run(db, inventory.stock_of, PHONE) == {"WH-GZ": (4, 0), "WH-SH1": (2, 0), "WH-SH2": (5, 0)}
    assert run(db, inventory.release, "o2") == []  # shipped lines stay shipped
    with pytest.raises(Conflict, match="order 'o1' released line"):
        run(db, inventory.deduct, "o1")
    with pytest.raises(NotFound, match="order 'o2' holds no stock for line 'l9'"):
        run(db, inventory.deduct, "o2", "l9")
    assert [(m.kind, m.quantity, m.warehouse) for m in run(db, inventory.movements, order_id="o2")] == [
        ("lock", 1, "WH-SH1"), ("lock", 5, "WH-SH2"), ("deduct", 5, "WH-SH2"), ("deduct", 1, "WH-SH1")]


def test_restock_returns_shipped_units_once_per_key(db: Engine) -> None:
    stocked(db)
    run(db, inventory.lock, "o1", [("l1", PHONE, 3)], "SH")
    with pytest.raises(Conflict, match="order 'o1' line 'l1' was not shipped \\(locked\\)"):
        run(db, inventory.restock, "o1", "l1", 1, "ret-1")
    run(db, inventory.deduct, "o1")
    assert run(db, inventory.stock_of, PHONE)["WH-SH1"] == (0, 0)
    assert run(db, inventory.restock, "o1", "l1", 2, "ret-1") is True
    assert run(db, inventory.restock, "o1", "l1", 2, "ret-1") is False
    assert run(db, inventory.stock_of, PHONE)["WH-SH1"] == (2, 0)
    with pytest.raises(InvalidInput, match="quantity: 2 is more than the 1 unit\\(s\\) of order 'o1' line 'l1'"):
        run(db, inventory.restock, "o1", "l1", 2, "ret-2")
    assert run(db, inventory.stock_of, PHONE)["WH-SH1"] == (2, 0)  # the refusal moved nothing
    assert run(db, inventory.restock, "o1", "l1", 1, "ret-2") is True
    assert [(h.state, h.returned) for h in run(db, inventory.locks_of, "o1")] == [("returned", 3)]
    assert run(db, inventory.stock_of, PHONE)["WH-SH1"] == (3, 0)
    with pytest.raises(NotFound):
        run(db, inventory.restock, "o1", "l9", 1, "ret-3")
    kinds = [m.kind for m in run(db, inventory.movements, sku=PHONE)]
    assert kinds == ["receive", "receive", "receive", "lock", "deduct", "restock", "restock"]
