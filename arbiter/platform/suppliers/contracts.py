"""Suppliers and their contracts: onboarding (入驻) one of three kinds, reading a supplier's
terms, and the checks the other use cases share (an active supplier of the right kind)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert, select

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import to_decimal
from arbiter.platform.columns import NAME_LENGTH, exact, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.sql import write_lock
from arbiter.platform.suppliers.models import SUPPLIERS

STOCK_PURCHASE = "stock_purchase"  # the platform buys stock into its warehouses (入仓)
DROPSHIP = "dropship"  # the supplier ships the platform's orders itself (代发)
REALTIME_API = "realtime_api"  # the supplier delivers virtual goods through an API (实时采购)
KINDS = (STOCK_PURCHASE, DROPSHIP, REALTIME_API)
ACTIVE = "active"
SUSPENDED = "suspended"
MAX_SETTLEMENT_DAYS = 366


@dataclass(frozen=True)
class Contract:
    """Pay each statement `settlement_days` after its last day; `price_terms` in words;
    `cost_rate`: what a real-time purchase costs as a share of its face value."""

    settlement_days: int
    price_terms: str
    cost_rate: Decimal


@dataclass(frozen=True)
class SupplierView:
    code: str
    name: str
    kind: str
    status: str
    contract: Contract


def check_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > NAME_LENGTH:
        raise InvalidInput(f"{what}: {value!r} is not a non-empty name of at most {NAME_LENGTH} characters")
    return value


def check_count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{what}: {value!r} is not a whole number of 1 or more")
    return value


def mask(value: str) -> str:
    """A phone number or account with all but its first 3 and last 4 characters hidden."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def onboard(uow: UnitOfWork, code: str, name: str, kind: str, *, settlement_days: int = 30,
            price_terms: str = "", cost_rate: Decimal | str = Decimal(1), now: datetime) -> None:
    """Onboard an active supplier with its contract; commits. The same supplier again
    changes nothing; the same code with other terms is a conflict."""
    check_name(code, "code")
    check_name(name, "name")
    if kind not in KINDS:
        raise InvalidInput(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    days = settlement_days
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_SETTLEMENT_DAYS:
        raise InvalidInput(f"settlement_days: {days!r} is not a whole number from 0 to {MAX_SETTLEMENT_DAYS}")
    if not isinstance(price_terms, str):
        raise InvalidInput("price_terms: expected text")
    rate = exact(to_decimal(cost_rate, what="cost_rate"), "cost_rate")
    if not 0 < rate <= 1:
        raise InvalidInput(f"cost_rate: {rate} must be more than 0 and at most 1")
    write_lock(uow.session.connection())
    found = get_supplier(uow, code)
    if found is not None:
        if (found.name, found.kind, found.contract) != (name, kind, Contract(days, price_terms, rate)):
            raise Conflict(f"supplier {code!r} exists already with other terms", code="suppliers.supplier.exists")
        return
    uow.session.execute(insert(SUPPLIERS).values(
        code=code, name=name, kind=kind, status=ACTIVE, settlement_days=days, price_terms=price_terms,
        cost_rate=rate, onboarded_at=utc(now)))
    uow.commit()


def get_supplier(uow: UnitOfWork, code: str) -> SupplierView | None:
    row = uow.session.execute(select(SUPPLIERS).where(SUPPLIERS.c.code == code)).first()
    if row is None:
        return None
    return SupplierView(row.code, row.name, row.kind, row.status,
                        Contract(row.settlement_days, row.price_terms, row.cost_rate))


def suppliers(uow: UnitOfWork, kind: str | None = None) -> list[SupplierView]:
    """Every supplier (of `kind`, when given), by code."""
    query = select(SUPPLIERS).order_by(SUPPLIERS.c.code)
    if kind is not None:
        query = query.where(SUPPLIERS.c.kind == kind)
    return [SupplierView(r.code, r.name, r.kind, r.status, Contract(r.settlement_days, r.price_terms, r.cost_rate))
            for r in uow.session.execute(query)]


def active_supplier(uow: UnitOfWork, code: str, kind: str) -> SupplierView:
    """The supplier, which must be active and of `kind`."""
    found = get_supplier(uow, code)
    if found is None:
        raise NotFound(f"supplier {code!r} does not exist", code="suppliers.supplier.unknown")
    if found.kind != kind:
        raise InvalidInput(f"supplier {code!r} is a {found.kind} supplier, not {kind}",
                           code="suppliers.supplier.kind")
    if found.status != ACTIVE:
        raise Conflict(f"supplier {code!r} is {found.status}", code="suppliers.supplier.inactive")
    return found
