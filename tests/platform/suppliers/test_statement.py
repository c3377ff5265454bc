"""A supplier's statement of a period: its cost lines from the first day to the last (both
included, UTC days), the total rounded to the cent once, and the day it is due."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine

from arbiter.errors import InvalidInput, NotFound
from arbiter.platform.db import UnitOfWork
from arbiter.platform.suppliers import service as suppliers
from arbiter.platform.suppliers.service import SimulatedTopUp

from ..catalog.support import cny, run
from .support import onboarded

NOV_1 = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
NOV_30_LATE = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
DEC_1 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def received(db: Engine, lines: list[tuple[str, int, object]], at: datetime) -> str:
    po: str = run(db, suppliers.create_purchase_order, "sup-phones", "WH-SH", lines, at)
    run(db, suppliers.receive_purchase_order, po, at)
    return po


def test_a_month_of_purchase_orders(db: Engine) -> None:
    onboarded(db)
    first = received(db, [("SKU-PHONE-X1-128", 50, cny("3500.00")), ("SKU-CASE", 100, cny("12.3456"))], NOV_1)
    second = received(db, [("SKU-CASE", 3, cny("0.3333"))], NOV_30_LATE)
    received(db, [("SKU-CASE", 10, cny("12.00"))], DEC_1)  # the next month's
    statement = run(db, suppliers.statement, "sup-phones", date(2026, 11, 1), date(2026, 11, 30))
    assert [(line.day, line.reference, line.sku, line.amount) for line in statement.lines] == [
        (date(2026, 11, 1), first, "SKU-PHONE-X1-128", cny("175000.00")),
        (date(2026, 11, 1), first, "SKU-CASE", cny("1234.56")),
        (date(2026, 11, 30), second, "SKU-CASE", cny("0.9999")),
    ]
    assert str(statement.total) == "176235.56 CNY"  # 176235.5599, rounded once
    assert statement.due == date(2026, 12, 30)
    december = run(db, suppliers.statement, "sup-phones", date(2026, 12, 1), date(2026, 12, 31))
    assert december.total == cny("120.00")


def test_real_time_purchases_cost_their_face_value_times_the_rate(db: Engine) -> None:
    onboarded(db)
    gateway = SimulatedTopUp(always_fail=["13900000000"])
    with UnitOfWork(db) as uow:
        for order_id, account, amount in [("o1", "13800000001", "100.00"), ("o2", "13800000002", "100.00"),
                                          ("o3", "13800000003", "30.00"), ("o4", "13800000004", "33.33"),
                                          ("o5", "13900000000", "50.00")]:
            suppliers.purchase_realtime(uow, gateway, "sup-topup", order_id, account, cny(amount), NOV_1)
        uow.commit()
    statement = run(db, suppliers.statement, "sup-topup", date(2026, 11, 1), date(2026, 11, 1))
    # 98.50, 98.50, 29.55, 32.83 (32.83005); the failed o5 costs nothing
    assert [line.amount for line in statement.lines] == [cny("98.50"), cny("98.50"), cny("29.55"), cny("32.83")]
    assert (statement.total, statement.due) == (cny("259.38"), date(2026, 11, 8))


def test_statement_arguments_are_checked(db: Engine) -> None:
    onboarded(db)
    with pytest.raises(InvalidInput, match="end: 2026-10-31 is before start 2026-11-01"):
        run(db, suppliers.statement, "sup-phones", date(2026, 11, 1), date(2026, 10, 31))
    with pytest.raises(NotFound, match="supplier 'sup-none' does not exist"):
        run(db, suppliers.statement, "sup-none", date(2026, 11, 1), date(2026, 11, 30))
    empty = run(db, suppliers.statement, "sup-sofa", date(2026, 11, 1), date(2026, 11, 30))
    assert (empty.lines, str(empty.total)) == ((), "0.00 CNY")
