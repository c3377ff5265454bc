"""Goods registration (商品提报): merchants nominate SKUs of their own shop into a platform
promotion declared with `registration required`; the platform approves or rejects them.

One row per promotion, shop and SKU holds its latest state:

    (none), withdrawn, rejected --register--> pending --approve--> approved
    pending, approved --reject (with a reason)--> rejected
    pending --withdraw--> withdrawn;  approved --withdraw--> withdrawn unless the promotion runs

Who acts is an `Actor`: a merchant of one shop, or platform staff. The shop a merchant acts for
is passed explicitly and checked here, in the service: a merchant of shop A can neither
register nor withdraw shop B's goods, and only the platform reviews. Refusals are values with
a reason; asking for the state a row is already in is a replay that moves nothing. Moves are
conditional updates (`... WHERE status IN (...)`), so racing reviewers cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from arbiter.dsl.model import Program
from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.promotions import lifecycle
from arbiter.platform.promotions.models import REGISTRATIONS
from arbiter.platform.sql import insert_if_absent, write_lock

PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"

UNKNOWN_PROMOTION = "unknown promotion"
NOT_REGISTRABLE = "the promotion takes no registrations"
OTHER_SHOP = "not the merchant's shop"
MERCHANTS_ONLY = "only the shop's merchant registers or withdraws its goods"
PLATFORM_ONLY = "only the platform reviews registrations"
PROMOTION_OVER = "the promotion has ended"
PROMOTION_RUNNING = "the promotion is running: approved goods stay until the platform rejects them"
NOT_REGISTERED = "not registered"
REASON_REQUIRED = "a rejection needs a reason"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: `id` is what the records keep; `shop` is the merchant's shop, None for
    platform staff."""

    id: str
    shop: str | None = None

    @classmethod
    def merchant(cls, id: str, shop: str) -> Actor:
        return cls(id, shop)

    @classmethod
    def platform(cls, id: str) -> Actor:
        return cls(id, None)

    @property
    def is_platform(self) -> bool:
        return self.shop is None


@dataclass(frozen=True, slots=True)
class RegistrationResult:
    """The outcome of a registration move: the row's status after it (None when there is no
    row), why it was refused, and whether it was already in the asked state."""

    promotion: str
    shop: str
    sku: str
    status: str | None
    reason: str | None = None
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class Registration:
    promotion: str
    shop: str
    sku: str
    status: str
    registered_by: str
    registered_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    reason: str | None


def _row(uow: UnitOfWork, promotion: str, shop: str, sku: str) -> Any:
    return uow.session.execute(select(REGISTRATIONS).where(
        REGISTRATIONS.c.promotion == promotion, REGISTRATIONS.c.shop == shop,
        REGISTRATIONS.c.sku == sku)).first()


def _move(uow: UnitOfWork, promotion: str, shop: str, sku: str, sources: Iterable[str],
          values: dict[str, Any]) -> str | None:
    """Move the row from one of `sources` in one conditional UPDATE; its new status, or None."""
    moved = uow.session.execute(
        update(REGISTRATIONS)
        .where(REGISTRATIONS.c.promotion == promotion, REGISTRATIONS.c.shop == shop,
               REGISTRATIONS.c.sku == sku, REGISTRATIONS.c.status.in_(list(sources)))
        .values(**values)
        .returning(REGISTRATIONS.c.status)
    ).first()
    return None if moved is None else str(moved.status)


def _finish(uow: UnitOfWork, result: RegistrationResult) -> RegistrationResult:
    """Commit a move; roll a refusal or a replay back (nothing to keep)."""
    if result.ok and not result.replayed:
        uow.commit()
    else:
        uow.session.rollback()
    return result


def _merchant_check(uow: UnitOfWork, program: Program, promotion: str, shop: str, actor: Actor,
                    now: datetime) -> tuple[str | None, str | None]:
    """Why the actor may not register or withdraw this shop's goods, and the promotion's status."""
    p = program.promotions.get(promotion)
    if p is None:
        return UNKNOWN_PROMOTION, None
    if not p.registration:
        return NOT_REGISTRABLE, None
    if actor.is_platform:
        return MERCHANTS_ONLY, None
    if actor.shop != shop:
        return OTHER_SHOP, None
    if p.shop is not None and p.shop != shop:
        return f"the promotion is for shop {p.shop}", None
    return None, lifecycle.status_of(uow, program, promotion, now)


def register(uow: UnitOfWork, program: Program, promotion: str, shop: str, sku: str, *,
             actor: Actor, now: datetime) -> RegistrationResult:
    """The merchant of `shop` nominates `sku` into `promotion` (pending the platform's review)."""
    refusal, status = _merchant_check(uow, program, promotion, shop, actor, now)
    if refusal is None and status == lifecycle.ENDED:
        refusal = PROMOTION_OVER
    if refusal is not None:
        return _finish(uow, RegistrationResult(promotion, shop, sku, None, refusal))
    write_lock(uow.session.connection())
    at = utc(now)
    fresh = dict(status=PENDING, registered_by=actor.id, registered_at=at, reviewed_by=None,
                 reviewed_at=None, reason=None)
    inserted = uow.session.execute(insert_if_absent(REGISTRATIONS, uow.engine.dialect.name, dict(
        promotion=promotion, shop=shop, sku=sku, **fresh)).returning(REGISTRATIONS.c.id)).first()
    if inserted is not None:
        return _finish(uow, RegistrationResult(promotion, shop, sku, PENDING))
    if _move(uow, promotion, shop, sku, (WITHDRAWN, REJECTED), fresh) is not None:
        return _finish(uow, RegistrationResult(promotion, shop, sku, PENDING))
    row = _row(uow, promotion, shop, sku)
    return _finish(uow, RegistrationResult(promotion, shop, sku, row.status, replayed=True))


def withdraw(uow: UnitOfWork, program: Program, promotion: str, shop: str, sku: str, *,
             actor: Actor, now: datetime) -> RegistrationResult:
    """The merchant of `shop` takes `sku` out: pending goods at any time, approved goods only
    while the promotion is not running (scheduled, or not yet approved)."""
    refusal, status = _merchant_check(uow, program, promotion, shop, actor, now)
    if refusal is not None:
        return _finish(uow, RegistrationResult(promotion, shop, sku, None, refusal))
    write_lock(uow.session.connection())
    running = status in (lifecycle.ACTIVE, lifecycle.PAUSED)
    sources = (PENDING,) if running else (PENDING, APPROVED)
    moved = _move(uow, promotion, shop, sku, sources, dict(status=WITHDRAWN, reason=None))
    if moved is not None:
        return _finish(uow, RegistrationResult(promotion, shop, sku, moved))
    row = _row(uow, promotion, shop, sku)
    if row is None:
        return _finish(uow, RegistrationResult(promotion, shop, sku, None, NOT_REGISTERED))
    if row.status == WITHDRAWN:
        return _finish(uow, RegistrationResult(promotion, shop, sku, WITHDRAWN, replayed=True))
    reason = PROMOTION_RUNNING if row.status == APPROVED else f"cannot withdraw goods that are {row.status}"
    return _finish(uow, RegistrationResult(promotion, shop, sku, row.status, reason))


def _review(uow: UnitOfWork, promotion: str, shop: str, sku: str, actor: Actor, now: datetime,
            target: str, sources: tuple[str, ...], reason: str | None) -> RegistrationResult:
    if not actor.is_platform:
        return _finish(uow, RegistrationResult(promotion, shop, sku, None, PLATFORM_ONLY))
    write_lock(uow.session.connection())
    moved = _move(uow, promotion, shop, sku, sources, dict(
        status=target, reviewed_by=actor.id, reviewed_at=utc(now), reason=reason))
    if moved is not None:
        return _finish(uow, RegistrationResult(promotion, shop, sku, moved))
    row = _row(uow, promotion, shop, sku)
    if row is None:
        return _finish(uow, RegistrationResult(promotion, shop, sku, None, NOT_REGISTERED))
    if row.status == target:
        return _finish(uow, RegistrationResult(promotion, shop, sku, target, replayed=True))
    verb = "approve" if target == APPROVED else "reject"
    return _finish(uow, RegistrationResult(promotion, shop, sku, row.status,
                                           f"cannot {verb} goods that are {row.status}"))


def approve(uow: UnitOfWork, promotion: str, shop: str, sku: str, *, actor: Actor,
            now: datetime) -> RegistrationResult:
    """The platform admits pending goods into the promotion."""
    return _review(uow, promotion, shop, sku, actor, now, APPROVED, (PENDING,), None)


def reject(uow: UnitOfWork, promotion: str, shop: str, sku: str, *, actor: Actor, now: datetime,
           reason: str) -> RegistrationResult:
    """The platform turns pending goods down, or takes approved goods out, with a reason."""
    if not reason.strip():
        return _finish(uow, RegistrationResult(promotion, shop, sku, None, REASON_REQUIRED))
    return _review(uow, promotion, shop, sku, actor, now, REJECTED, (PENDING, APPROVED), reason)


def registrations(uow: UnitOfWork, promotion: str, *, shop: str | None = None,
                  status: str | None = None) -> list[Registration]:
    """The promotion's registrations (of one shop, in one status), by shop then SKU."""
    query = select(REGISTRATIONS).where(REGISTRATIONS.c.promotion == promotion)
    if shop is not None:
        query = query.where(REGISTRATIONS.c.shop == shop)
    if status is not None:
        query = query.where(REGISTRATIONS.c.status == status)
    rows = uow.session.execute(query.order_by(REGISTRATIONS.c.shop, REGISTRATIONS.c.sku)).all()
    return [
        Registration(r.promotion, r.shop, r.sku, r.status, r.registered_by, utc(r.registered_at),
                     r.reviewed_by, as_utc(r.reviewed_at), r.reason)
        for r in rows
    ]


def approved_skus(uow: UnitOfWork, promotion: str) -> frozenset[str]:
    """The SKUs approved into `promotion`, whatever their shop."""
    return approved_by_promotion(uow, [promotion]).get(promotion, frozenset())


def approved_by_promotion(uow: UnitOfWork, promotions: Iterable[str]) -> dict[str, frozenset[str]]:
    """The approved SKUs of several promotions in one query."""
    names = list(promotions)
    found: dict[str, set[str]] = {name: set() for name in names}
    rows = uow.session.execute(
        select(REGISTRATIONS.c.promotion, REGISTRATIONS.c.sku)
        .where(REGISTRATIONS.c.promotion.in_(names), REGISTRATIONS.c.status == APPROVED)
    )
    for row in rows:
        found[row.promotion].add(row.sku)
    return {name: frozenset(skus) for name, skus in found.items()}
