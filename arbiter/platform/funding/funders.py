"""Funders (资方): who lends the money for financed orders, and how much of it they have left.

A funder has a type (direct lending 直贷, trust 信托, factoring 保理, or the platform's own
self-held funds 自持资金), the capital it commits, a priority and a price (its annual rate).
Who may take an asset is decided by the `asset_routing` rules; which of them first by
priority (higher first), then price (cheaper first), then code. Capacity = capital -
outstanding; taking an asset adds its principal to `outstanding` in one conditional UPDATE,
so that two orders can never both take the last of a funder's capital; repaid and repurchased
principal gives it back (the capital revolves).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, type_coerce, update

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import CENT, Money
from arbiter.platform.columns import Amount, exact, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.funding.models import FUNDERS
from arbiter.platform.sql import upsert, write_lock

DIRECT_LENDING, TRUST, FACTORING, SELF_HELD = "direct_lending", "trust", "factoring", "self_held"
KINDS = (DIRECT_LENDING, TRUST, FACTORING, SELF_HELD)
ACTIVE, PAUSED = "active", "paused"


@dataclass(frozen=True, slots=True)
class Funder:
    code: str
    name: str
    kind: str
    capital: Money
    outstanding: Money
    priority: int
    price: Decimal
    status: str

    @property
    def available(self) -> Money:
        return self.capital - self.outstanding

    @property
    def self_held(self) -> bool:
        return self.kind == SELF_HELD


def define_funder(uow: UnitOfWork, *, code: str, name: str, kind: str, capital: Money, priority: int = 0,
                  price: Decimal = Decimal(0), status: str = ACTIVE, now: datetime) -> Funder:
    """Add a funder or change its terms (capital, priority, price, status); its outstanding
    principal is kept, its kind and currency never change. At most one funder is self-held. Commits."""
    if not code or ":" in code or len(code) > 100:
        raise InvalidInput(f"code: {code!r} must be 1 to 100 characters without ':'")
    if kind not in KINDS:
        raise InvalidInput(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if status not in (ACTIVE, PAUSED):
        raise InvalidInput(f"status: {status!r} is not active or paused")
    if not isinstance(capital, Money) or capital.amount < 0 or capital.amount != capital.amount.quantize(CENT):
        raise InvalidInput(f"capital: {capital!r} must be Money of zero or more, in whole cents")
    if not isinstance(price, Decimal) or not 0 <= price < 1:
        raise InvalidInput(f"price: {price!r} must be an annual rate from 0 up to 1")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidInput(f"priority: {priority!r} must be a whole number")
    write_lock(uow.session.connection())
    if kind == SELF_HELD:
        other = uow.session.execute(select(FUNDERS.c.code).where(FUNDERS.c.kind == SELF_HELD,
                                                                 FUNDERS.c.code != code)).scalar()
        if other is not None:
            raise Conflict(f"funder {other!r} already holds the self-held funds")
    at = utc(now)
    values = dict(name=name or code, kind=kind, capital=exact(capital.amount, "capital"), priority=priority,
                  price=exact(price, "price"), status=status, updated_at=at)
    uow.session.execute(upsert(FUNDERS, uow.engine.dialect.name,
                               dict(code=code, currency=capital.currency, outstanding=Decimal(0), created_at=at,
                                    **values),
                               keys=[FUNDERS.c.code], update={k: v for k, v in values.items() if k != "kind"},
                               where=FUNDERS.c.currency == capital.currency))
    found = funder(uow, code)
    if found.capital.currency != capital.currency or found.kind != kind:
        uow.session.rollback()
        raise InvalidInput(f"funder {code!r} is a {found.kind} funder in {found.capital.currency}")
    uow.commit()
    return found


def add_capital(uow: UnitOfWork, code: str, amount: Money, *, now: datetime) -> Funder:
    """Commit `amount` more capital of the funder (in its currency, whole cents, above zero)
    in one conditional UPDATE, so that two additions never lose one. Commits."""
    if not isinstance(amount, Money) or amount.amount <= 0 or amount.amount != amount.amount.quantize(CENT):
        raise InvalidInput(f"amount: {amount!r} must be Money above zero, in whole cents")
    added = type_coerce(exact(amount.amount, "amount"), Amount())
    write_lock(uow.session.connection())
    found = funder(uow, code)
    if found.capital.currency != amount.currency:
        raise InvalidInput(f"amount: funder {code!r} commits capital in {found.capital.currency}, not {amount.currency}")
    exact(found.capital.amount + amount.amount, "capital")
    uow.session.execute(update(FUNDERS).where(FUNDERS.c.code == code, FUNDERS.c.currency == amount.currency)
                        .values(capital=FUNDERS.c.capital + added, updated_at=utc(now)))
    uow.commit()
    return funder(uow, code)


def funder(uow: UnitOfWork, code: str) -> Funder:
    row = uow.session.execute(select(FUNDERS).where(FUNDERS.c.code == code)).first()
    if row is None:
        raise NotFound(f"no funder {code!r}")
    return _funder(row)


def funders(uow: UnitOfWork) -> list[Funder]:
    """Every funder in routing order: priority (higher first), price (cheaper first), code."""
    rows = uow.session.execute(select(FUNDERS).order_by(FUNDERS.c.priority.desc(), FUNDERS.c.price, FUNDERS.c.code))
    return [_funder(row) for row in rows]


def self_held(uow: UnitOfWork) -> Funder | None:
    row = uow.session.execute(select(FUNDERS).where(FUNDERS.c.kind == SELF_HELD)).first()
    return None if row is None else _funder(row)


def take(uow: UnitOfWork, code: str, principal: Money, *, now: datetime, beyond_capital: bool = False) -> bool:
    """Put `principal` of the funder's capital into an asset: True when it had the capacity
    (or `beyond_capital`, for self-held funds kept by policy). Does not commit."""
    amount = type_coerce(exact(principal.amount, "principal"), Amount())
    where = [FUNDERS.c.code == code, FUNDERS.c.currency == principal.currency]
    if not beyond_capital:
        where += [FUNDERS.c.status == ACTIVE, FUNDERS.c.capital - FUNDERS.c.outstanding >= amount]
    moved = uow.session.execute(update(FUNDERS).where(*where)
                                .values(outstanding=FUNDERS.c.outstanding + amount, updated_at=utc(now))
                                .returning(FUNDERS.c.code)).first()
    return moved is not None


def give_back(uow: UnitOfWork, code: str, principal: Money, *, now: datetime) -> None:
    """Return repaid or repurchased principal to the funder's capacity. Does not commit."""
    if principal.amount == 0:
        return
    amount = type_coerce(exact(principal.amount, "principal"), Amount())
    moved = uow.session.execute(update(FUNDERS).where(FUNDERS.c.code == code, FUNDERS.c.outstanding >= amount)
                                .values(outstanding=FUNDERS.c.outstanding - amount, updated_at=utc(now))
                                .returning(FUNDERS.c.code)).first()
    if moved is None:  # an asset's principal always sits in its funder's outstanding
        raise Conflict(f"funder {code!r} has less than {principal} outstanding")


def _funder(row: Any) -> Funder:
    return Funder(row.code, row.name, row.kind, Money(row.capital, row.currency), Money(row.outstanding, row.currency),
                  row.priority, row.price, row.status)
