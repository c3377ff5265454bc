"""Supplier contracts and purchase orders: a purchase order received puts its units in stock
once and its cost on the supplier's statement once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.inventory import service as inventory
from arbiter.platform.suppliers import service as suppliers
from arbiter.platform.suppliers.service import Contract

from ..catalog.support import T0, cny, run
from .support import onboarded

LINES = [("SKU-PHONE-X1-128", 50, cny("3500.00")), ("SKU-CASE", 100, cny("12.3456"))]


def test_a_contract_reads_back(db: Engine) -> None:
    onboarded(db)
    phones = run(db, suppliers.get_supplier, "sup-phones")
    assert (phones.name, phones.kind, phones.status) == ("Phones Trading", "stock_purchase", "active")
    assert phones.contract == Contract(30, "unit cost per PO line", Decimal("1.00"))
    assert run(db, suppliers.get_supplier, "sup-topup").contract == Contract(7, "", Decimal("0.985"))
    assert run(db, suppliers.get_supplier, "sup-none") is None
    run(db, suppliers.onboard, "sup-sofa", "Sofa Works", "dropship", settlement_days=15, now=T0)  # the same again
    with pytest.raises(Conflict, match="supplier 'sup-sofa' exists already with other terms"):
        run(db, suppliers.onboard, "sup-sofa", "Sofa Works", "dropship", settlement_days=45, now=T0)
    with pytest.raises(InvalidInput, match="kind: 'broker' is not one of stock_purchase, dropship, realtime_api"):
        run(db, suppliers.onboard, "sup-x", "X", "broker", now=T0)
    with pytest.raises(InvalidInput, match="settlement_days: -1 is not a whole number from 0 to 366"):
        run(db, suppliers.onboard, "sup-x", "X", "dropship", settlement_days=-1, now=T0)
    with pytest.raises(InvalidInput, match="cost_rate: 1.2 must be more than 0 and at most 1"):
        run(db, suppliers.onboard, "sup-x", "X", "realtime_api", cost_rate="1.2", now=T0)


def test_a_purchase_order_is_received_once(db: Engine) -> None:
    onboarded(db)
    po = run(db, suppliers.create_purchase_order, "sup-phones", "WH-SH", LINES, T0)
    assert po == "PO-1"
    view = run(db, suppliers.get_purchase_order, po)
    assert (view.status, view.total) == ("created", cny("176234.56"))  # 50 x 3500.00 + 100 x 12.3456
    assert run(db, inventory.stock_of, "SKU-PHONE-X1-128") == {}
    received = run(db, suppliers.receive_purchase_order, po, T0 + timedelta(days=2))
    assert received.status == "received"
    assert run(db, suppliers.receive_purchase_order, po, T0 + timedelta(days=3)).status == "received"
    assert run(db, inventory.stock_of, "SKU-PHONE-X1-128") == {"WH-SH": (50, 0)}
    assert run(db, inventory.stock_of, "SKU-CASE") == {"WH-SH": (100, 0)}
    day = (T0 + timedelta(days=2)).date()
    statement = run(db, suppliers.statement, "sup-phones", day, day)
    assert [(line.sku, line.quantity, line.amount) for line in statement.lines] == [
        ("SKU-PHONE-X1-128", 50, cny("175000.00")), ("SKU-CASE", 100, cny("1234.56"))]
    assert statement.total == cny("176234.56")


def test_a_bad_purchase_order_is_refused(db: Engine) -> None:
    onboarded(db)
    with pytest.raises(InvalidInput, match="supplier 'sup-sofa' is a dropship supplier, not stock_purchase"):
        run(db, suppliers.create_purchase_order, "sup-sofa", "WH-SH", LINES, T0)
    with pytest.raises(NotFound, match="supplier 'sup-none' does not exist"):
        run(db, suppliers.create_purchase_order, "sup-none", "WH-SH", LINES, T0)
    with pytest.raises(NotFound, match="warehouse 'WH-XX' does not exist"):
        run(db, suppliers.create_purchase_order, "sup-phones", "WH-XX", LINES, T0)
    with pytest.raises(InvalidInput, match="lines: a purchase order is in one currency, got CNY, USD"):
        run(db, suppliers.create_purchase_order, "sup-phones", "WH-SH",
            [*LINES, ("SKU-X", 1, Money.of("5", "USD"))], T0)
    with pytest.raises(InvalidInput, match=r"lines\[0\] quantity: 0 is not a whole number of 1 or more"):
        run(db, suppliers.create_purchase_order, "sup-phones", "WH-SH", [("SKU-X", 0, cny("1"))], T0)
    with pytest.raises(InvalidInput, match="lines: expected a non-empty list"):
        run(db, suppliers.create_purchase_order, "sup-phones", "WH-SH", [], T0)
    with pytest.raises(NotFound, match="purchase order 'PO-9' does not exist"):
        run(db, suppliers.receive_purchase_order, "PO-9", T0)
    assert run(db, suppliers.get_purchase_order, "nonsense") is None
    with UnitOfWork(db) as uow:
        assert suppliers.get_purchase_order(uow, "PO-1") is None  # nothing was written
