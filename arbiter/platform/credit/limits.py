"""Opening lines and changing them: a granted line, limit changes (提额, or a decrease down to
what is used), special-purpose lines (专项额度) and the line's status (freeze, close, reopen).

A granted line never lowers an existing limit by itself: an application that grants less than
the user already has keeps the higher limit and takes the new tier. Operators lower a limit
with `change_limit`, never below what is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, delete, select, type_coerce, update

from arbiter.errors import InvalidInput, NotFound
from arbiter.money import CENT, Money
from arbiter.platform.columns import Amount, exact, utc
from arbiter.platform.credit.lines import (
    LINE_STATUSES,
    TIERS,
    LineState,
    SpecialLineState,
    check_key,
    line,
    special_state,
)
from arbiter.platform.credit.models import LIMIT_CHANGES, LINES, SPECIAL_LINES
from arbiter.platform.db import UnitOfWork
from arbiter.platform.sql import insert_if_absent, upsert, write_lock

SCOPE_KINDS = ("scene", "category")
BELOW_USED = "limit_below_used"


@dataclass(frozen=True, slots=True)
class LimitChange:
    user_id: str
    before: Money
    after: Money
    reason: str | None = None  # why it was refused
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.reason is None


def _limit(limit: Money, what: str = "limit") -> Decimal:
    if not isinstance(limit, Money):
        raise InvalidInput(f"{what}: expected Money, got {type(limit).__name__}")
    if limit.amount < 0 or limit.amount != limit.amount.quantize(CENT):
        raise InvalidInput(f"{what}: {limit} must be zero or more, in whole cents")
    return exact(limit.amount, what)


def grant(uow: UnitOfWork, user_id: str, limit: Money, tier: str, *, now: datetime) -> LineState:
    """Open the user's line at `limit`, or raise an existing one to it (never lower it) and
    set its tier. Does not commit."""
    amount = _limit(limit)
    if tier not in TIERS:
        raise InvalidInput(f"tier: {tier!r} is not one of {', '.join(TIERS)}")
    write_lock(uow.session.connection())
    at = utc(now)
    new = type_coerce(amount, Amount())
    uow.session.execute(upsert(
        LINES, uow.engine.dialect.name,
        dict(user_id=user_id, currency=limit.currency, credit_limit=amount, used=Decimal(0), tier=tier,
             status="active", overdue_days=0, opened_at=at, updated_at=at),
        keys=[LINES.c.user_id],
        update=dict(credit_limit=case((LINES.c.credit_limit < new, new), else_=LINES.c.credit_limit),
                    tier=tier, updated_at=at),
        where=LINES.c.currency == limit.currency,
    ))
    state = line(uow, user_id)
    assert state is not None
    if state.limit.currency != limit.currency:
        raise InvalidInput(f"limit: the line of {user_id} is in {state.limit.currency}, not {limit.currency}")
    return state


def change_limit(uow: UnitOfWork, user_id: str, limit: Money, *, key: str, reason: str,
                 now: datetime) -> LimitChange:
    """Set the line's limit (提额 or a decrease), once per key; a limit below what is used is
    refused with BELOW_USED. Commits."""
    check_key(key)
    amount = _limit(limit)
    if not reason:
        raise InvalidInput("reason: say why the limit changes")
    write_lock(uow.session.connection())
    current = uow.session.execute(select(LINES).where(LINES.c.user_id == user_id).with_for_update()).first()
    if current is None:
        raise NotFound(f"{user_id} has no credit line")
    if current.currency != limit.currency:
        raise InvalidInput(f"limit: the line of {user_id} is in {current.currency}, not {limit.currency}")
    at = utc(now)
    claimed = uow.session.execute(insert_if_absent(LIMIT_CHANGES, uow.engine.dialect.name, dict(
        key=key, user_id=user_id, before=current.credit_limit, after=amount, reason=reason, at=at,
    )).returning(LIMIT_CHANGES.c.key)).first()
    if claimed is None:
        first = uow.session.execute(select(LIMIT_CHANGES).where(LIMIT_CHANGES.c.key == key)).one()
        return LimitChange(user_id, Money(first.before, limit.currency), Money(first.after, limit.currency),
                           replayed=True)
    moved = uow.session.execute(
        update(LINES).where(LINES.c.user_id == user_id, LINES.c.used <= type_coerce(amount, Amount()))
        .values(credit_limit=amount, updated_at=at).returning(LINES.c.user_id)
    ).first()
    before = Money(current.credit_limit, limit.currency)
    if moved is None:
        uow.session.execute(delete(LIMIT_CHANGES).where(LIMIT_CHANGES.c.key == key))
        uow.session.rollback()
        return LimitChange(user_id, before, before, reason=BELOW_USED)
    uow.commit()
    return LimitChange(user_id, before, limit)


def grant_special_line(uow: UnitOfWork, user_id: str, *, scope_kind: str, scope_value: str, limit: Money,
                       now: datetime, expires_at: datetime | None = None) -> SpecialLineState:
    """Give the user a special-purpose line for one scene or one goods category, or set the
    limit of the one they have (never below what it has used). Setting the same values again
    changes nothing. Commits."""
    if scope_kind not in SCOPE_KINDS:
        raise InvalidInput(f"scope_kind: {scope_kind!r} is not one of {', '.join(SCOPE_KINDS)}")
    if not scope_value:
        raise InvalidInput("scope_value: name the scene or category")
    amount = _limit(limit)
    if line(uow, user_id) is None:
        raise NotFound(f"{user_id} has no credit line: grant one before a special-purpose line")
    write_lock(uow.session.connection())
    at = utc(now)
    uow.session.execute(upsert(
        SPECIAL_LINES, uow.engine.dialect.name,
        dict(user_id=user_id, scope_kind=scope_kind, scope_value=scope_value, currency=limit.currency,
             credit_limit=amount, used=Decimal(0), status="active",
             expires_at=None if expires_at is None else utc(expires_at), created_at=at, updated_at=at),
        keys=[SPECIAL_LINES.c.user_id, SPECIAL_LINES.c.scope_kind, SPECIAL_LINES.c.scope_value],
        update=dict(credit_limit=amount, updated_at=at, status="active",
                    expires_at=None if expires_at is None else utc(expires_at)),
        where=SPECIAL_LINES.c.used <= type_coerce(amount, Amount()),
    ))
    row = uow.session.execute(select(SPECIAL_LINES).where(
        SPECIAL_LINES.c.user_id == user_id, SPECIAL_LINES.c.scope_kind == scope_kind,
        SPECIAL_LINES.c.scope_value == scope_value)).one()
    state = special_state(row)
    if state.limit != limit:
        uow.session.rollback()
        raise InvalidInput(f"limit: {limit} is below the {state.used} the special line already uses")
    uow.commit()
    return state


def set_status(uow: UnitOfWork, user_id: str, status: str, *, now: datetime) -> LineState:
    """Freeze, close or reopen a line: a frozen or closed line takes no new deductions, but
    restores still reach it. Commits."""
    if status not in LINE_STATUSES:
        raise InvalidInput(f"status: {status!r} is not one of {', '.join(LINE_STATUSES)}")
    write_lock(uow.session.connection())
    moved = uow.session.execute(update(LINES).where(LINES.c.user_id == user_id)
                                .values(status=status, updated_at=utc(now)).returning(LINES.c.user_id)).first()
    if moved is None:
        raise NotFound(f"{user_id} has no credit line")
    state = line(uow, user_id)
    assert state is not None
    uow.commit()
    return state
