"""Warehouses and stock for the inventory tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from arbiter.platform.db import UnitOfWork
from arbiter.platform.inventory import service as inventory

PHONE = "SKU-PHONE-X1-128"
CASE = "SKU-CASE"


def run(db: Engine, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a use case in a unit of work of its own, and commit it."""
    with UnitOfWork(db) as uow:
        result = fn(uow, *args, **kwargs)
        uow.commit()
        return result


def warehouses(db: Engine) -> None:
    """WH-SH1 (priority 10, serves SH and JS), WH-SH2 (priority 5, SH), WH-GZ (GD)."""
    with UnitOfWork(db) as uow:
        inventory.add_warehouse(uow, "WH-SH1", "Shanghai 1", "SH", ["SH", "JS"], priority=10)
        inventory.add_warehouse(uow, "WH-SH2", "Shanghai 2", "SH", ["SH"], priority=5)
        inventory.add_warehouse(uow, "WH-GZ", "Guangzhou", "GD", ["GD"])


def stocked(db: Engine) -> None:
    """Phones: 3 at WH-SH1, 10 at WH-SH2, 4 at WH-GZ; cases: 1 at WH-SH2."""
    warehouses(db)
    with UnitOfWork(db) as uow:
        inventory.receive(uow, PHONE, "WH-SH1", 3, "r1")
        inventory.receive(uow, PHONE, "WH-SH2", 10, "r2")
        inventory.receive(uow, PHONE, "WH-GZ", 4, "r3")
        inventory.receive(uow, CASE, "WH-SH2", 1, "r4")
        uow.commit()
