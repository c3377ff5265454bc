"""Purchase orders (采购): the platform buys stock from a stock-purchase supplier into one of
its warehouses. Receiving a purchase order puts every line's units in stock (through
`inventory.receive`, keyed by the purchase order and line, so a second receipt adds nothing)
and records what the platform owes for them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update

from arbiter.errors import InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.columns import exact, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.inventory import service as inventory
from arbiter.platform.sql import write_lock
from arbiter.platform.suppliers.contracts import (
    STOCK_PURCHASE,
    active_supplier,
    check_count,
    check_name,
)
from arbiter.platform.suppliers.costs import PURCHASE_ORDER, record_cost
from arbiter.platform.suppliers.models import PURCHASE_LINES, PURCHASE_ORDERS

CREATED = "created"
RECEIVED = "received"
PREFIX = "PO-"

PurchaseLine = tuple[str, int, Money]  # sku, quantity, unit cost


@dataclass(frozen=True)
class PurchaseOrderView:
    id: str
    supplier: str
    warehouse: str
    status: str
    lines: tuple[PurchaseLine, ...]
    total: Money


def _lines(lines: Sequence[PurchaseLine]) -> list[PurchaseLine]:
    if isinstance(lines, str) or not isinstance(lines, Sequence) or not lines:
        raise InvalidInput("lines: expected a non-empty list of (sku, quantity, unit cost)")
    checked: list[PurchaseLine] = []
    for index, line in enumerate(lines):
        if not isinstance(line, tuple | list) or len(line) != 3:
            raise InvalidInput(f"lines[{index}]: expected (sku, quantity, unit cost), got {line!r}")
        sku, quantity, cost = line
        if not isinstance(cost, Money) or cost.amount < 0:
            raise InvalidInput(f"lines[{index}] unit cost: expected Money of zero or more, got {cost!r}")
        exact(cost.amount, f"lines[{index}] unit cost")
        checked.append((check_name(sku, f"lines[{index}] sku"), check_count(quantity, f"lines[{index}] quantity"), cost))
    currencies = {line[2].currency for line in checked}
    if len(currencies) != 1:
        raise InvalidInput(f"lines: a purchase order is in one currency, got {', '.join(sorted(currencies))}")
    return checked


def _number(po_id: str) -> int:
    digits = po_id[len(PREFIX):] if isinstance(po_id, str) and po_id.startswith(PREFIX) else ""
    if not digits.isdigit() or len(digits) > 18:
        raise NotFound(f"purchase order {po_id!r} does not exist", code="suppliers.purchase_order.unknown")
    return int(digits)


def create_purchase_order(uow: UnitOfWork, supplier: str, warehouse: str, lines: Sequence[PurchaseLine],
                          now: datetime) -> str:
    """Order stock from a stock-purchase supplier into `warehouse`; commits; the id."""
    checked = _lines(lines)
    write_lock(uow.session.connection())
    active_supplier(uow, supplier, STOCK_PURCHASE)
    if inventory.get_warehouse(uow, warehouse) is None:
        raise NotFound(f"warehouse {warehouse!r} does not exist", code="inventory.warehouse.unknown")
    number = uow.session.execute(insert(PURCHASE_ORDERS).values(
        supplier=supplier, warehouse=warehouse, currency=checked[0][2].currency, status=CREATED,
        created_at=utc(now)).returning(PURCHASE_ORDERS.c.id)).scalar_one()
    uow.session.execute(insert(PURCHASE_LINES), [
        {"purchase_order": number, "line_no": i, "sku": sku, "quantity": quantity, "unit_cost": cost.amount}
        for i, (sku, quantity, cost) in enumerate(checked, start=1)])
    uow.commit()
    return f"{PREFIX}{number}"


def get_purchase_order(uow: UnitOfWork, po_id: str) -> PurchaseOrderView | None:
    try:
        number = _number(po_id)
    except NotFound:
        return None
    row = uow.session.execute(select(PURCHASE_ORDERS).where(PURCHASE_ORDERS.c.id == number)).first()
    if row is None:
        return None
    lines = tuple((r.sku, r.quantity, Money(r.unit_cost, row.currency)) for r in uow.session.execute(
        select(PURCHASE_LINES).where(PURCHASE_LINES.c.purchase_order == number).order_by(PURCHASE_LINES.c.line_no)))
    total = Money.zero(row.currency)
    for _, quantity, cost in lines:
        total = total + cost * quantity
    return PurchaseOrderView(po_id, row.supplier, row.warehouse, row.status, lines, total)


def receive_purchase_order(uow: UnitOfWork, po_id: str, now: datetime) -> PurchaseOrderView:
    """Receive a purchase order: its units into the warehouse, its cost onto the supplier's
    statement; commits. Receiving it again changes nothing."""
    number = _number(po_id)
    write_lock(uow.session.connection())
    moved = uow.session.execute(update(PURCHASE_ORDERS).where(
        PURCHASE_ORDERS.c.id == number, PURCHASE_ORDERS.c.status == CREATED).values(status=RECEIVED, received_at=utc(now)))
    view = get_purchase_order(uow, po_id)
    if view is None:
        raise NotFound(f"purchase order {po_id!r} does not exist", code="suppliers.purchase_order.unknown")
    if int(moved.rowcount) != 1:  # type: ignore[attr-defined]
        return view  # received before
    for line_no, (sku, quantity, cost) in enumerate(view.lines, start=1):
        key = f"{po_id}:{line_no}"
        inventory.receive(uow, sku, view.warehouse, quantity, key, now=now)
        record_cost(uow, f"purchase:{key}", view.supplier, PURCHASE_ORDER, po_id, sku, quantity, cost, now)
    uow.commit()
    return view
