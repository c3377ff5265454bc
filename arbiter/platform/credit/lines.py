"""Credit lines (额度): the revolving line, special-purpose lines, deductions and restores.

A line's `used` is the outstanding principal drawn on it; available = limit - used. A purchase
deducts its principal (额度扣减), each repaid principal and each refund restores it. Every
move is one conditional UPDATE (`... SET used = used + :p WHERE credit_limit - used >= :p`),
so that concurrent payments can never push a line below zero or over its limit, and every
move takes an idempotency key: a repeat returns the first outcome and moves nothing.

An order draws on exactly one line: the special-purpose line (专项额度) of its scene or of one
of its goods categories when that line alone covers it, else the general line. Restores go
back to the line the order drew on. Special lines work only while the general line is active.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select, type_coerce, update

from arbiter.errors import Conflict, CurrencyMismatch, InvalidInput
from arbiter.money import CENT, Money
from arbiter.platform.columns import Amount, as_utc, exact, utc
from arbiter.platform.credit.models import DRAWS, LINES, RESTORES, SPECIAL_LINES
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.sql import insert_if_absent, write_lock

ACTIVE, FROZEN, CLOSED = "active", "frozen", "closed"
LINE_STATUSES = (ACTIVE, FROZEN, CLOSED)
TIERS = ("A", "B", "C", "D")

# Why a deduction is refused.
NO_LINE = "no_credit_line"
NOT_ACTIVE = "credit_line_not_active"
INSUFFICIENT = "credit_line_insufficient"


@dataclass(frozen=True, slots=True)
class LineState:
    user_id: str
    status: str
    limit: Money
    used: Money
    tier: str
    overdue_days: int = 0

    @property
    def available(self) -> Money:
        return self.limit - self.used


@dataclass(frozen=True, slots=True)
class SpecialLineState:
    id: int
    user_id: str
    scope_kind: str  # scene | category
    scope_value: str
    limit: Money
    used: Money
    status: str
    expires_at: datetime | None

    @property
    def available(self) -> Money:
        return self.limit - self.used

    def usable(self, now: datetime) -> bool:
        return self.status == ACTIVE and (self.expires_at is None or utc(now) < self.expires_at)


@dataclass(frozen=True, slots=True)
class DrawPlan:
    """The installment terms a draw was approved on (stored with it, financed later)."""

    term: int = 1
    method: str = "shop"
    term_rate: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)  # the user's fee
    subsidy: Decimal = Decimal(0)  # the fee paid by the interest-free offer's funder
    subsidy_by: str | None = None  # merchant | platform
    subsidy_payer: str | None = None  # the shop paying, or "platform"


@dataclass(frozen=True, slots=True)
class Draw:
    order_id: str
    user_id: str
    key: str
    principal: Money
    restored: Money
    special_line_id: int | None
    plan: DrawPlan
    drawn_at: datetime

    @property
    def outstanding(self) -> Money:
        return self.principal - self.restored


@dataclass(frozen=True, slots=True)
class LineMove:
    """The outcome of a deduction or a restore: refused with a reason, or done (`available`
    is then what the line it moved has left); `replayed` when the key had been applied."""

    order_id: str
    amount: Money
    reason: str | None = None
    available: Money | None = None
    special_line_id: int | None = None
    replayed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.reason is None


# ------------------------------------------------------------------------------ reading


def line(uow: UnitOfWork, user_id: str) -> LineState | None:
    row = uow.session.execute(select(LINES).where(LINES.c.user_id == user_id)).first()
    return None if row is None else _line(row)


def special_lines(uow: UnitOfWork, user_id: str) -> list[SpecialLineState]:
    rows = uow.session.execute(select(SPECIAL_LINES).where(SPECIAL_LINES.c.user_id == user_id)
                               .order_by(SPECIAL_LINES.c.id))
    return [special_state(row) for row in rows]


def draw_of(uow: UnitOfWork, order_id: str, *, lock: bool = False) -> Draw | None:
    """What the order drew; with `lock`, its row is locked until the caller's commit (on
    PostgreSQL), so that one flow at a time moves it on."""
    query = select(DRAWS).where(DRAWS.c.order_id == order_id)
    row = uow.session.execute(query.with_for_update() if lock else query).first()
    return None if row is None else _draw(row)


def restored_with(uow: UnitOfWork, key: str) -> bool:
    """Whether a restore was made under `key`."""
    return uow.session.execute(select(RESTORES.c.key).where(RESTORES.c.key == key)).first() is not None


def usable_available(uow: UnitOfWork, user_id: str, now: datetime, *, scene: str | None = None,
                     categories: Sequence[str] = ()) -> Money:
    """The most one order may draw now: the general line's available, or a special line's
    of this scene or these categories when larger (an order draws on one line)."""
    general = line(uow, user_id)
    if general is None or general.status != ACTIVE:
        return Money.zero(general.limit.currency if general else Money.zero().currency)
    best = general.available
    for special in _applicable(uow, user_id, now, scene, categories):
        if special.available > best:
            best = special.available
    return best


# ------------------------------------------------------------------------------ moving


def deduct(uow: UnitOfWork, user_id: str, order_id: str, principal: Money, key: str, *, now: datetime,
           scene: str | None = None, categories: Sequence[str] = (), plan: DrawPlan | None = None) -> LineMove:
    """Draw `principal` for `order_id` (once per order); refused with NO_LINE, NOT_ACTIVE or
    INSUFFICIENT, moving nothing. Does not commit."""
    check_key(key)
    _check_id(order_id, "order_id")
    amount = positive_cents(principal, "principal")
    plan = plan or DrawPlan()
    write_lock(uow.session.connection())
    dialect = uow.engine.dialect.name
    at = utc(now)
    claimed = uow.session.execute(insert_if_absent(DRAWS, dialect, dict(
        order_id=order_id, key=key, user_id=user_id, special_line_id=None, currency=principal.currency,
        principal=amount, restored=Decimal(0), term=plan.term, method=plan.method, term_rate=plan.term_rate,
        fee=plan.fee, subsidy=plan.subsidy, subsidy_by=plan.subsidy_by, subsidy_payer=plan.subsidy_payer,
        drawn_at=at, updated_at=at,
    )).returning(DRAWS.c.order_id)).first()
    if claimed is None:
        return _replayed_draw(uow, user_id, order_id, principal, key)
    general = line(uow, user_id)
    if general is not None and general.limit.currency != principal.currency:
        raise CurrencyMismatch(f"the credit line of {user_id} is in {general.limit.currency}, not {principal.currency}")
    for special in _applicable(uow, user_id, now, scene, categories):
        moved = uow.session.execute(
            update(SPECIAL_LINES)
            .where(SPECIAL_LINES.c.id == special.id,
                   SPECIAL_LINES.c.credit_limit - SPECIAL_LINES.c.used >= type_coerce(amount, Amount()),
                   exists().where(LINES.c.user_id == user_id, LINES.c.status == ACTIVE))
            .values(used=SPECIAL_LINES.c.used + type_coerce(amount, Amount()), updated_at=at)
            .returning(SPECIAL_LINES.c.credit_limit, SPECIAL_LINES.c.used)
        ).first()
        if moved is not None:
            uow.session.execute(update(DRAWS).where(DRAWS.c.order_id == order_id).values(special_line_id=special.id))
            _drawn_event(uow, user_id, order_id, principal, at)
            return LineMove(order_id, principal, available=_money(moved.credit_limit - moved.used, principal.currency),
                            special_line_id=special.id)
    moved = uow.session.execute(
        update(LINES)
        .where(LINES.c.user_id == user_id, LINES.c.status == ACTIVE,
               LINES.c.credit_limit - LINES.c.used >= type_coerce(amount, Amount()))
        .values(used=LINES.c.used + type_coerce(amount, Amount()), updated_at=at)
        .returning(LINES.c.credit_limit, LINES.c.used)
    ).first()
    if moved is None:
        # nobody else has seen the claimed row: dropping it leaves the order free to try again
        uow.session.execute(delete(DRAWS).where(DRAWS.c.order_id == order_id, DRAWS.c.key == key))
        reason = NO_LINE if general is None else NOT_ACTIVE if general.status != ACTIVE else INSUFFICIENT
        return LineMove(order_id, principal, reason=reason)
    _drawn_event(uow, user_id, order_id, principal, at)
    return LineMove(order_id, principal, available=_money(moved.credit_limit - moved.used, principal.currency))


def restore(uow: UnitOfWork, user_id: str, order_id: str, principal: Money, key: str, *,
            now: datetime) -> LineMove:
    """Give `principal` of what `order_id` drew back to its line, once per key. Restoring more
    than the order has outstanding is refused with Conflict. Does not commit."""
    check_key(key)
    amount = positive_cents(principal, "principal")
    write_lock(uow.session.connection())
    at = utc(now)
    claimed = uow.session.execute(insert_if_absent(RESTORES, uow.engine.dialect.name, dict(
        key=key, order_id=order_id, amount=amount, at=at)).returning(RESTORES.c.key)).first()
    if claimed is None:
        first = uow.session.execute(select(RESTORES).where(RESTORES.c.key == key)).one()
        if first.order_id != order_id or first.amount != amount:
            raise Conflict(f"restore key {key!r} was used for {first.amount} on order {first.order_id}")
        return LineMove(order_id, principal, available=_available_for(uow, order_id), replayed=True)
    drawn = uow.session.execute(
        update(DRAWS)
        .where(DRAWS.c.order_id == order_id, DRAWS.c.user_id == user_id, DRAWS.c.currency == principal.currency,
               DRAWS.c.principal - DRAWS.c.restored >= type_coerce(amount, Amount()))
        .values(restored=DRAWS.c.restored + type_coerce(amount, Amount()), updated_at=at)
        .returning(DRAWS.c.special_line_id)
    ).first()
    if drawn is None:
        raise Conflict(f"order {order_id} of {user_id} has less than {principal} outstanding on the line")
    target = SPECIAL_LINES if drawn.special_line_id is not None else LINES
    where = (SPECIAL_LINES.c.id == drawn.special_line_id if drawn.special_line_id is not None
             else LINES.c.user_id == user_id)
    moved = uow.session.execute(
        update(target).where(where, target.c.used >= type_coerce(amount, Amount()))
        .values(used=target.c.used - type_coerce(amount, Amount()), updated_at=at)
        .returning(target.c.credit_limit, target.c.used)
    ).first()
    if moved is None:  # a draw always sits on its line: this is a broken invariant
        raise Conflict(f"the line of {user_id} holds less than {principal} for order {order_id}")
    return LineMove(order_id, principal, available=_money(moved.credit_limit - moved.used, principal.currency),
                    special_line_id=drawn.special_line_id)


def set_overdue(uow: UnitOfWork, user_id: str, days: int, *, now: datetime) -> None:
    """Record how many days the user's oldest unpaid bill is overdue (0 when none): the
    `user.overdue_days` the rules read. Does not commit."""
    if days < 0:
        raise InvalidInput(f"overdue days: {days} is negative")
    uow.session.execute(update(LINES).where(LINES.c.user_id == user_id)
                        .values(overdue_days=days, updated_at=utc(now)))


# ------------------------------------------------------------------------------ helpers


def _applicable(uow: UnitOfWork, user_id: str, now: datetime, scene: str | None,
                categories: Sequence[str]) -> list[SpecialLineState]:
    scopes = []
    if scene:
        scopes.append(and_(SPECIAL_LINES.c.scope_kind == "scene", SPECIAL_LINES.c.scope_value == scene))
    if categories:
        scopes.append(and_(SPECIAL_LINES.c.scope_kind == "category",
                           SPECIAL_LINES.c.scope_value.in_(sorted(set(categories)))))
    if not scopes:
        return []
    rows = uow.session.execute(select(SPECIAL_LINES).where(SPECIAL_LINES.c.user_id == user_id, or_(*scopes))
                               .order_by(SPECIAL_LINES.c.id))
    return [s for s in (special_state(row) for row in rows) if s.usable(now)]


def _replayed_draw(uow: UnitOfWork, user_id: str, order_id: str, principal: Money, key: str) -> LineMove:
    first = draw_of(uow, order_id)
    assert first is not None
    if first.key != key:
        raise Conflict(f"order {order_id} already drew on the credit line (key {first.key!r})")
    if first.user_id != user_id or first.principal != principal:
        raise Conflict(f"key {key!r} drew {first.principal} for {first.user_id}, not {principal} for {user_id}")
    return LineMove(order_id, principal, available=_available_for(uow, order_id),
                    special_line_id=first.special_line_id, replayed=True)


def _available_for(uow: UnitOfWork, order_id: str) -> Money | None:
    first = draw_of(uow, order_id)
    if first is None:
        return None
    if first.special_line_id is not None:
        row = uow.session.execute(select(SPECIAL_LINES).where(SPECIAL_LINES.c.id == first.special_line_id)).one()
        return special_state(row).available
    state = line(uow, first.user_id)
    return None if state is None else state.available


def _drawn_event(uow: UnitOfWork, user_id: str, order_id: str, principal: Money, at: datetime) -> None:
    events.emit(uow, "credit_draw", order_id, {"user_id": user_id, "amount": str(principal.amount),
                                               "currency": principal.currency}, at)


def positive_cents(amount: Money, what: str) -> Decimal:
    if not isinstance(amount, Money):
        raise InvalidInput(f"{what}: expected Money, got {type(amount).__name__}")
    if amount.amount <= 0 or amount.amount != amount.amount.quantize(CENT):
        raise InvalidInput(f"{what}: {amount} must be more than zero, in whole cents")
    return exact(amount.amount, what)


def check_key(key: str) -> None:
    if not isinstance(key, str) or not key or len(key) > 200:
        raise InvalidInput(f"key: {key!r} must be 1 to 200 characters")


def _check_id(value: str, what: str) -> None:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise InvalidInput(f"{what}: {value!r} must be 1 to 200 characters")


def _money(amount: Decimal, currency: str) -> Money:
    return Money(amount, currency)


def _line(row: Any) -> LineState:
    return LineState(row.user_id, row.status, Money(row.credit_limit, row.currency), Money(row.used, row.currency),
                     row.tier, row.overdue_days)


def special_state(row: Any) -> SpecialLineState:
    return SpecialLineState(row.id, row.user_id, row.scope_kind, row.scope_value, Money(row.credit_limit, row.currency),
                            Money(row.used, row.currency), row.status, as_utc(row.expires_at))


def _draw(row: Any) -> Draw:
    drawn_at = as_utc(row.drawn_at)
    assert drawn_at is not None
    plan = DrawPlan(row.term, row.method, row.term_rate, row.fee, row.subsidy, row.subsidy_by, row.subsidy_payer)
    return Draw(row.order_id, row.user_id, row.key, Money(row.principal, row.currency),
                Money(row.restored, row.currency), row.special_line_id, plan, drawn_at)
