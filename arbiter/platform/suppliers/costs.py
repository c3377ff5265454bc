"""What the platform owes its suppliers: one cost line per thing delivered (a received
purchase order line, a shipped dropship line, a successful real-time purchase), recorded once
per key, and the statement (对账单) of a period that adds them up.

A line's amount is its unit cost times its quantity, exact; the statement's total is rounded
to the cent once, ROUND_HALF_UP. Days are UTC days; a period includes its first and last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from arbiter.errors import InvalidInput, NotFound
from arbiter.money import DEFAULT_CURRENCY, Money
from arbiter.platform.columns import utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.sql import insert_if_absent
from arbiter.platform.suppliers.contracts import get_supplier
from arbiter.platform.suppliers.models import COSTS

PURCHASE_ORDER = "purchase_order"
DROPSHIP_COST = "dropship"
REALTIME_COST = "realtime"


@dataclass(frozen=True)
class StatementLine:
    day: date
    kind: str
    reference: str
    sku: str | None
    quantity: int
    unit_cost: Money
    amount: Money


@dataclass(frozen=True)
class SupplierStatement:
    """A supplier's cost lines of a period, their total to the cent, and the day it is due
    under the contract (`settlement_days` after the period's last day)."""

    supplier: str
    start: date
    end: date
    lines: tuple[StatementLine, ...]
    total: Money
    due: date


def record_cost(uow: UnitOfWork, key: str, supplier: str, kind: str, reference: str, sku: str | None,
                quantity: int, unit_cost: Money, now: datetime) -> bool:
    """Record a cost line once per `key` (joins the caller's transaction); True when new."""
    values = {"key": key, "supplier": supplier, "kind": kind, "reference": reference, "sku": sku,
              "quantity": quantity, "currency": unit_cost.currency, "unit_cost": unit_cost.amount,
              "amount": unit_cost.amount * quantity, "day": utc(now).date(), "at": utc(now)}
    inserted = insert_if_absent(COSTS, uow.engine.dialect.name, values).returning(COSTS.c.id)
    return uow.session.execute(inserted).first() is not None


def statement(uow: UnitOfWork, supplier: str, start: date, end: date) -> SupplierStatement:
    """The supplier's cost lines from `start` to `end` (both included), oldest first."""
    if not isinstance(start, date) or not isinstance(end, date) or isinstance(start, datetime) \
            or isinstance(end, datetime):
        raise InvalidInput("start, end: expected dates")
    if end < start:
        raise InvalidInput(f"end: {end} is before start {start}")
    found = get_supplier(uow, supplier)
    if found is None:
        raise NotFound(f"supplier {supplier!r} does not exist", code="suppliers.supplier.unknown")
    rows = uow.session.execute(select(COSTS).where(
        COSTS.c.supplier == supplier, COSTS.c.day >= start, COSTS.c.day <= end).order_by(COSTS.c.day, COSTS.c.id))
    lines = tuple(StatementLine(r.day, r.kind, r.reference, r.sku, r.quantity, Money(r.unit_cost, r.currency),
                                Money(r.amount, r.currency)) for r in rows)
    total = Money.zero(lines[0].amount.currency if lines else DEFAULT_CURRENCY)
    for line in lines:
        total = total + line.amount  # lines in another currency fail loudly: CurrencyMismatch
    return SupplierStatement(supplier, start, end, lines, total.quantize_cents(),
                             end + timedelta(days=found.contract.settlement_days))
