"""Coupon use cases: define templates; claim, grant (by a rule effect), issue bulk codes and bind
them; reserve at order, redeem at payment, return on cancel, expire; the coupons a user holds
(for the pricing trial); and the same moves together with the template's budget.

Each use case owns its unit of work's transaction: it takes the write lock (SQLite), applies
conditional statements, and commits once when it succeeded; a refusal rolls back and comes
back as a value with a reason. Limits and stock move by conditional single-statement updates
(`... SET stock_issued = stock_issued + 1 WHERE stock_issued + 1 <= stock_total`), never read
then written. Every operation on an order is recorded in `promotion_operation` under
(coupon, operation, order): a repeat returns the first result and moves nothing, even after
the coupon moved on (a late duplicate of a reserve cannot take back a returned coupon).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from arbiter.errors import ArbiterError, InvalidInput
from arbiter.money import Money
from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.promotions import coupons as c
from arbiter.platform.promotions.budgets import BudgetStore, BudgetTerms, Reservation, SqlBudgets
from arbiter.platform.promotions.coupons import (
    CouponInfo,
    CouponResult,
    HeldCoupon,
    IssuedCodes,
    TemplateSpec,
    new_code,
)
from arbiter.platform.promotions.models import CLAIMS, COUPONS, OPERATIONS, TEMPLATES
from arbiter.platform.sql import (
    insert_if_absent,
    insert_many_if_absent,
    upsert,
    write_lock,
)

MAX_CODES = 100_000  # per issue_codes call
CODE_ATTEMPTS = 10


class CodeSpaceExhausted(ArbiterError):
    """No free coupon code was found after several draws: the code space is too small."""

    code = "promotions.coupon.codes"


# -- plumbing --------------------------------------------------------------------------------


def _dialect(uow: UnitOfWork) -> str:
    return uow.engine.dialect.name


def _begin(uow: UnitOfWork, key: str | None, kind: str, at: datetime) -> dict[str, Any] | None:
    """Take the write lock and claim `key` in the operations log: the first result when the
    key was applied before (PostgreSQL waits here for a concurrent twin to finish), else None."""
    write_lock(uow.session.connection())
    if key is None:
        return None
    claimed = uow.session.execute(insert_if_absent(OPERATIONS, _dialect(uow), dict(
        key=key, kind=kind, result="{}", at=utc(at))).returning(OPERATIONS.c.key)).first()
    if claimed is not None:
        return None
    stored = uow.session.execute(select(OPERATIONS.c.result).where(OPERATIONS.c.key == key)).scalar_one()
    first: dict[str, Any] = json.loads(stored)
    return first


def _done(uow: UnitOfWork, key: str | None, result: dict[str, Any]) -> None:
    if key is not None:
        uow.session.execute(update(OPERATIONS).where(OPERATIONS.c.key == key)
                            .values(result=json.dumps(result, sort_keys=True)))


def _settle(uow: UnitOfWork, key: str | None, result: CouponResult) -> CouponResult:
    """Commit a success (recording it under `key` unless it is a replay); roll a refusal back."""
    if result.ok:
        if not result.replayed:
            _done(uow, key, {"coupon_id": result.coupon_id, "status": result.status})
        uow.commit()
    else:
        uow.session.rollback()
    return result


def _replayed(first: dict[str, Any]) -> CouponResult:
    return CouponResult(first.get("coupon_id"), first.get("status"), replayed=True)


def _money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount, currency)


def _spec(row: Row[Any]) -> TemplateSpec:
    return TemplateSpec(
        code=row.code, display=row.display, kind=row.kind, threshold=Money(row.threshold, row.currency),
        value=_money(row.value, row.currency), percent=row.percent, cap=_money(row.cap, row.currency),
        scope=row.scope, starts_at=as_utc(row.starts_at), ends_at=as_utc(row.ends_at),
        days_after_claim=row.days_after_claim, claim_limit=row.claim_limit,
        device_limit=row.device_limit, stock=row.stock_total, promotion=row.promotion,
    )


def _template_row(uow: UnitOfWork, code: str) -> Row[Any] | None:
    return uow.session.execute(select(TEMPLATES).where(TEMPLATES.c.code == code)).first()


def _coupon_row(uow: UnitOfWork, coupon_id: int) -> Row[Any] | None:
    return uow.session.execute(select(COUPONS).where(COUPONS.c.id == coupon_id)).first()


# -- templates -------------------------------------------------------------------------------


def define_template(uow: UnitOfWork, spec: TemplateSpec, at: datetime) -> TemplateSpec:
    """Create a template or change its definition; the stock already issued stays counted
    (a total below it is refused)."""
    definition = dict(
        display=spec.display, kind=spec.kind, currency=spec.currency,
        value=None if spec.value is None else spec.value.amount, percent=spec.percent,
        cap=None if spec.cap is None else spec.cap.amount, threshold=spec.threshold.amount,
        scope=spec.scope, starts_at=None if spec.starts_at is None else utc(spec.starts_at),
        ends_at=None if spec.ends_at is None else utc(spec.ends_at),
        days_after_claim=spec.days_after_claim, claim_limit=spec.claim_limit,
        device_limit=spec.device_limit, stock_total=spec.stock, promotion=spec.promotion,
    )
    write_lock(uow.session.connection())
    try:
        uow.session.execute(upsert(
            TEMPLATES, _dialect(uow), values=dict(code=spec.code, stock_issued=0, created_at=utc(at), **definition),
            keys=[TEMPLATES.c.code], update=definition,
        ))
        uow.commit()
    except IntegrityError as exc:
        uow.session.rollback()
        raise InvalidInput(f"template {spec.code}: the stock is below what was already issued") from exc
    return spec


def template(uow: UnitOfWork, code: str) -> TemplateSpec | None:
    row = _template_row(uow, code)
    return None if row is None else _spec(row)


def stock_issued(uow: UnitOfWork, code: str) -> int:
    issued = uow.session.execute(select(TEMPLATES.c.stock_issued).where(TEMPLATES.c.code == code)).scalar_one()
    return int(issued)


# -- claiming --------------------------------------------------------------------------------


def _count_claim(uow: UnitOfWork, template_code: str, kind: str, holder: str, limit: int | None) -> bool:
    if limit is not None and limit <= 0:
        return False
    statement = upsert(
        CLAIMS, _dialect(uow), values=dict(template=template_code, kind=kind, holder=holder, count=1),
        keys=[CLAIMS.c.template, CLAIMS.c.kind, CLAIMS.c.holder],
        update=dict(count=CLAIMS.c.count + 1), where=None if limit is None else CLAIMS.c.count < limit,
    ).returning(CLAIMS.c.count)
    return uow.session.execute(statement).first() is not None


def _take_stock(uow: UnitOfWork, template_code: str, count: int) -> bool:
    statement = (
        update(TEMPLATES)
        .where(TEMPLATES.c.code == template_code,
               or_(TEMPLATES.c.stock_total.is_(None), TEMPLATES.c.stock_issued + count <= TEMPLATES.c.stock_total))
        .values(stock_issued=TEMPLATES.c.stock_issued + count)
        .returning(TEMPLATES.c.code)
    )
    return uow.session.execute(statement).first() is not None


def _holder_limits(uow: UnitOfWork, spec: TemplateSpec, user: str, device: str | None) -> str | None:
    """Count the claim against the user's and the device's limits; why not, or None."""
    if spec.device_limit is not None and device is None:
        return c.DEVICE_REQUIRED
    if not _count_claim(uow, spec.code, "user", user, spec.claim_limit):
        return c.CLAIM_LIMIT
    if device is not None and not _count_claim(uow, spec.code, "device", device, spec.device_limit):
        return c.DEVICE_LIMIT
    return None


def _insert_coupon(uow: UnitOfWork, values: dict[str, Any]) -> int:
    for _ in range(CODE_ATTEMPTS):
        row = uow.session.execute(insert_if_absent(COUPONS, _dialect(uow), dict(values, code=new_code()))
                                  .returning(COUPONS.c.id)).first()
        if row is not None:
            return int(row.id)
    raise CodeSpaceExhausted("no free coupon code after several draws")


def _claim(uow: UnitOfWork, template_code: str, user: str, at: datetime, device: str | None,
           key: str | None, source: str) -> CouponResult:
    first = _begin(uow, key, f"coupon.{source}", at)
    if first is not None:
        return _settle(uow, key, _replayed(first))
    row = _template_row(uow, template_code)
    if row is None:
        return _settle(uow, key, CouponResult(None, None, c.UNKNOWN_TEMPLATE))
    spec = _spec(row)
    reason = spec.claimable(at) or _holder_limits(uow, spec, user, device)
    if reason is None and not _take_stock(uow, spec.code, 1):
        reason = c.OUT_OF_STOCK
    if reason is not None:
        return _settle(uow, key, CouponResult(None, None, reason))
    valid_from, expires_at = spec.validity(at)
    coupon_id = _insert_coupon(uow, dict(
        template=spec.code, user=user, source=source, status=c.AVAILABLE, issued_at=utc(at),
        claimed_at=utc(at), valid_from=valid_from, expires_at=expires_at,
    ))
    return _settle(uow, key, CouponResult(coupon_id, c.AVAILABLE))


def claim(uow: UnitOfWork, template: str, user: str, at: datetime, device: str | None = None, *,
          key: str | None = None) -> CouponResult:
    """The user claims a coupon (领券): within the template's claim period, its per-user and
    per-device limits and its stock. With `key`, a repeat returns the first result."""
    return _claim(uow, template, user, at, device, None if key is None else f"claim:{template}:{key}", "claim")


def grant(uow: UnitOfWork, template: str, user: str, at: datetime, *, key: str,
          device: str | None = None) -> CouponResult:
    """A rule effect gives the user a coupon, under the same limits as a claim; `key` (the
    decision and effect that granted it) makes a redelivered effect grant once."""
    return _claim(uow, template, user, at, device, f"grant:{template}:{key}", "grant")


def issue_codes(uow: UnitOfWork, template: str, count: int, at: datetime, *,
                key: str | None = None) -> IssuedCodes:
    """`count` unbound coupons with unique codes (all or none, within the stock); each is
    held by whoever binds it first (`bind_code`)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_CODES:
        raise InvalidInput(f"count: {count!r} must be between 1 and {MAX_CODES}")
    op_key = None if key is None else f"codes:{template}:{key}"
    first = _begin(uow, op_key, "coupon.codes", at)
    if first is not None:
        uow.session.rollback()
        return IssuedCodes(template, tuple(first.get("codes", ())), replayed=True)
    row = _template_row(uow, template)
    reason = c.UNKNOWN_TEMPLATE if row is None else _spec(row).claimable(at)
    if reason is None and not _take_stock(uow, template, count):
        reason = c.OUT_OF_STOCK
    if reason is not None or row is None:
        uow.session.rollback()
        return IssuedCodes(template, (), reason)
    spec = _spec(row)
    valid_from, expires_at = (None, None) if spec.days_after_claim else spec.validity(at)
    base = dict(template=template, user=None, source="code", status=c.AVAILABLE, issued_at=utc(at),
                valid_from=valid_from, expires_at=expires_at)
    codes: list[str] = []
    for _ in range(CODE_ATTEMPTS):
        missing = count - len(codes)
        if missing == 0:
            break
        for start in range(0, missing, 1000):
            draws = {new_code() for _ in range(min(1000, missing - start))}
            inserted = uow.session.execute(insert_many_if_absent(
                COUPONS, _dialect(uow), [dict(base, code=code) for code in draws]).returning(COUPONS.c.code))
            codes.extend(r.code for r in inserted)
    if len(codes) != count:
        raise CodeSpaceExhausted(f"only {len(codes)} of {count} codes were free")
    _done(uow, op_key, {"codes": codes})
    uow.commit()
    return IssuedCodes(template, tuple(codes))


def bind_code(uow: UnitOfWork, code: str, user: str, at: datetime, device: str | None = None) -> CouponResult:
    """The user types a bulk code: the coupon becomes theirs (per-user and per-device limits
    apply; its stock was taken at issue). Binding one's own code again is a replay."""
    write_lock(uow.session.connection())
    row = uow.session.execute(select(COUPONS).where(COUPONS.c.code == code)).first()
    if row is None:
        return _settle(uow, None, CouponResult(None, None, c.UNKNOWN_COUPON))
    if row.user == user:
        return _settle(uow, None, CouponResult(row.id, row.status, replayed=True))
    if row.user is not None:
        return _settle(uow, None, CouponResult(None, None, c.CODE_TAKEN))
    template_row = _template_row(uow, row.template)
    assert template_row is not None, "a coupon's template is there (foreign key)"
    spec = _spec(template_row)
    reason = spec.claimable(at) or _holder_limits(uow, spec, user, device)
    if reason is not None:
        return _settle(uow, None, CouponResult(None, None, reason))
    valid_from, expires_at = spec.validity(at)
    bound = uow.session.execute(
        update(COUPONS)
        .where(COUPONS.c.id == row.id, COUPONS.c.user.is_(None), COUPONS.c.status == c.AVAILABLE)
        .values(user=user, claimed_at=utc(at), valid_from=valid_from, expires_at=expires_at)
        .returning(COUPONS.c.id)
    ).first()
    if bound is None:
        return _settle(uow, None, CouponResult(None, None, c.CODE_TAKEN))
    return _settle(uow, None, CouponResult(row.id, c.AVAILABLE))


# -- an order's coupon -------------------------------------------------------------------------


def _op_key(coupon_id: int, operation: str, order_id: str) -> str:
    return f"coupon:{coupon_id}:{operation}:{order_id}"


def _reserve(uow: UnitOfWork, coupon_id: int, order_id: str, user: str, at: datetime) -> CouponResult:
    first = _begin(uow, _op_key(coupon_id, "reserve", order_id), "coupon.reserve", at)
    if first is not None:
        return _replayed(first)
    moved = uow.session.execute(
        update(COUPONS)
        .where(COUPONS.c.id == coupon_id, COUPONS.c.user == user, COUPONS.c.status.in_(c.USABLE),
               or_(COUPONS.c.valid_from.is_(None), COUPONS.c.valid_from <= utc(at)),
               COUPONS.c.expires_at > utc(at))
        .values(status=c.RESERVED, order_id=order_id, reserved_at=utc(at))
        .returning(COUPONS.c.id)
    ).first()
    if moved is not None:
        return CouponResult(coupon_id, c.RESERVED)
    row = _coupon_row(uow, coupon_id)
    expires_at = None if row is None else as_utc(row.expires_at)
    if row is None:
        reason = c.UNKNOWN_COUPON
    elif row.user != user:
        reason = c.NOT_HOLDER
    elif row.status in (c.RESERVED, c.REDEEMED):
        reason = c.RESERVED_ELSEWHERE if row.status == c.RESERVED else c.ALREADY_REDEEMED
    elif row.status == c.EXPIRED or (expires_at is not None and expires_at <= utc(at)):
        reason = c.COUPON_EXPIRED
    else:
        reason = c.NOT_YET_VALID
    return CouponResult(coupon_id, None if row is None else row.status, reason)


def _redeem(uow: UnitOfWork, coupon_id: int, order_id: str, at: datetime) -> CouponResult:
    first = _begin(uow, _op_key(coupon_id, "redeem", order_id), "coupon.redeem", at)
    if first is not None:
        return _replayed(first)
    moved = uow.session.execute(
        update(COUPONS)
        .where(COUPONS.c.id == coupon_id, COUPONS.c.status == c.RESERVED, COUPONS.c.order_id == order_id)
        .values(status=c.REDEEMED, redeemed_at=utc(at))
        .returning(COUPONS.c.id)
    ).first()
    if moved is not None:
        return CouponResult(coupon_id, c.REDEEMED)
    row = _coupon_row(uow, coupon_id)
    if row is None:
        return CouponResult(coupon_id, None, c.UNKNOWN_COUPON)
    if row.status == c.RESERVED:
        return CouponResult(coupon_id, row.status, c.RESERVED_ELSEWHERE)
    return CouponResult(coupon_id, row.status, c.ALREADY_REDEEMED if row.status == c.REDEEMED else c.NOT_RESERVED)


def _return(uow: UnitOfWork, coupon_id: int, order_id: str, at: datetime) -> CouponResult:
    first = _begin(uow, _op_key(coupon_id, "return", order_id), "coupon.return", at)
    if first is not None:
        return _replayed(first)
    past = COUPONS.c.expires_at <= utc(at)
    moved = uow.session.execute(
        update(COUPONS)
        .where(COUPONS.c.id == coupon_id, COUPONS.c.order_id == order_id,
               COUPONS.c.status.in_((c.RESERVED, c.REDEEMED)))
        .values(status=case((past, c.EXPIRED), else_=c.RETURNED), returned_at=utc(at),
                expired_at=case((past, utc(at)), else_=COUPONS.c.expired_at))
        .returning(COUPONS.c.status)
    ).first()
    if moved is not None:
        return CouponResult(coupon_id, moved.status)
    row = _coupon_row(uow, coupon_id)
    if row is None:
        return CouponResult(coupon_id, None, c.UNKNOWN_COUPON)
    return CouponResult(coupon_id, row.status, c.NOT_FOR_ORDER)


def reserve(uow: UnitOfWork, coupon_id: int, order_id: str, user: str, at: datetime) -> CouponResult:
    """The order places the user's coupon on hold (available or returned -> reserved)."""
    return _settle(uow, _op_key(coupon_id, "reserve", order_id), _reserve(uow, coupon_id, order_id, user, at))


def redeem(uow: UnitOfWork, coupon_id: int, order_id: str, at: datetime) -> CouponResult:
    """The order is paid: its reserved coupon is spent (reserved -> redeemed)."""
    return _settle(uow, _op_key(coupon_id, "redeem", order_id), _redeem(uow, coupon_id, order_id, at))


def return_coupon(uow: UnitOfWork, coupon_id: int, order_id: str, at: datetime) -> CouponResult:
    """The order is cancelled: its coupon goes back to the user (returned), or to expired when
    its validity ended meanwhile."""
    return _settle(uow, _op_key(coupon_id, "return", order_id), _return(uow, coupon_id, order_id, at))


def expire_due(uow: UnitOfWork, now: datetime) -> int:
    """Expire every unused coupon whose validity ended by `now`, in one statement; how many."""
    write_lock(uow.session.connection())
    expired = uow.session.execute(
        update(COUPONS)
        .where(COUPONS.c.status.in_(c.USABLE), COUPONS.c.expires_at <= utc(now))
        .values(status=c.EXPIRED, expired_at=utc(now))
        .returning(COUPONS.c.id)
    ).all()
    uow.commit()
    return len(expired)


# -- reading ---------------------------------------------------------------------------------


def held_coupons(uow: UnitOfWork, user: str, at: datetime) -> list[HeldCoupon]:
    """The coupons `user` may use at `at` (available or returned, within validity), soonest
    to expire first: what the pricing trial weighs. Reads only."""
    rows = uow.session.execute(
        select(COUPONS.c.id, COUPONS.c.code.label("coupon_code"), COUPONS.c.valid_from,
               COUPONS.c.expires_at, TEMPLATES)
        .join(TEMPLATES, TEMPLATES.c.code == COUPONS.c.template)
        .where(COUPONS.c.user == user, COUPONS.c.status.in_(c.USABLE),
               or_(COUPONS.c.valid_from.is_(None), COUPONS.c.valid_from <= utc(at)),
               COUPONS.c.expires_at > utc(at))
        .order_by(COUPONS.c.expires_at, COUPONS.c.id)
    ).all()
    held = []
    for row in rows:
        spec = _spec(row)
        expires_at = as_utc(row.expires_at)
        assert expires_at is not None
        held.append(HeldCoupon(
            id=row.id, code=row.coupon_code, template=spec.code, display=spec.display, kind=spec.kind,
            value=spec.value, percent=spec.percent, cap=spec.cap, threshold=spec.threshold,
            scope=spec.scope, valid_from=as_utc(row.valid_from), expires_at=expires_at,
            promotion=spec.promotion,
        ))
    return held


def coupon(uow: UnitOfWork, coupon_id: int) -> CouponInfo | None:
    row = _coupon_row(uow, coupon_id)
    if row is None:
        return None
    return CouponInfo(
        id=row.id, template=row.template, code=row.code, user=row.user, source=row.source,
        status=row.status, order_id=row.order_id, claimed_at=as_utc(row.claimed_at),
        valid_from=as_utc(row.valid_from), expires_at=as_utc(row.expires_at),
    )


# -- with the template's budget ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CouponUse:
    """A coupon move together with its budget's: `budget` is None when the template draws on
    no budget or the coupon itself was refused."""

    coupon: CouponResult
    budget: Reservation | None = None

    @property
    def ok(self) -> bool:
        return self.coupon.ok and (self.budget is None or self.budget.ok)

    @property
    def reason(self) -> str | None:
        return self.coupon.reason or (None if self.budget is None else self.budget.reason)

    @property
    def granted(self) -> Money | None:
        """The discount the budget allows (less than asked under a partial policy)."""
        return None if self.budget is None or not self.budget.ok else self.budget.granted


def _promotion_of(uow: UnitOfWork, coupon_id: int) -> str | None:
    promotion: str | None = uow.session.execute(
        select(TEMPLATES.c.promotion).join(COUPONS, COUPONS.c.template == TEMPLATES.c.code)
        .where(COUPONS.c.id == coupon_id)).scalar_one_or_none()
    return promotion


def _joined(uow: UnitOfWork, budgets: BudgetStore) -> tuple[BudgetStore, bool]:
    """The budget store to use inside this unit of work, and whether it joined the unit's
    transaction: a SQL store on the same database moves in it, committed once with the
    coupon (on SQLite, a second transaction would wait for the first's write lock forever)."""
    if isinstance(budgets, SqlBudgets) and budgets.connection is None and (
        budgets.engine.url.render_as_string(hide_password=False)
        == uow.engine.url.render_as_string(hide_password=False)
    ):
        return budgets.joined(uow.session.connection()), True
    return budgets, False


def _status(uow: UnitOfWork, coupon_id: int) -> str | None:
    status: str | None = uow.session.execute(
        select(COUPONS.c.status).where(COUPONS.c.id == coupon_id)).scalar_one_or_none()
    return status


def reserve_with_budget(
    uow: UnitOfWork, budgets: BudgetStore, coupon_id: int, order_id: str, user: str, discount: Money,
    at: datetime, *, terms: BudgetTerms | None = None, day: date | None = None, device: str | None = None,
) -> CouponUse:
    """Order placed: hold the coupon, then reserve `discount` (what pricing computed for it)
    on the template's budget under `terms`. A budget refusal leaves the coupon usable. A SQL
    budget on the same database commits with the coupon; any other is released again (by
    order id) should the commit fail after it moved."""
    terms = terms or BudgetTerms()
    held = _reserve(uow, coupon_id, order_id, user, at)
    key = _op_key(coupon_id, "reserve", order_id)
    promotion = _promotion_of(uow, coupon_id) if held.ok else None
    if promotion is None:
        return CouponUse(_settle(uow, key, held))
    budgets, joined = _joined(uow, budgets)
    budget = budgets.reserve(
        promotion, order_id, discount, user=user, device=device, policy=terms.policy,
        per_user=terms.per_user, per_user_per_day=terms.per_user_per_day, per_device=terms.per_device,
        day=day or utc(at).date(),
    )
    if not budget.ok:
        uow.session.rollback()
        return CouponUse(CouponResult(coupon_id, _status(uow, coupon_id), budget.reason), budget)
    try:
        return CouponUse(_settle(uow, key, held), budget)
    except Exception:
        if not (joined or budget.replayed):
            budgets.release(promotion, order_id)
        raise


def redeem_with_budget(uow: UnitOfWork, budgets: BudgetStore, coupon_id: int, order_id: str,
                       at: datetime) -> CouponUse:
    """Order paid: spend the coupon and confirm its budget reservation."""
    spent = _redeem(uow, coupon_id, order_id, at)
    key = _op_key(coupon_id, "redeem", order_id)
    promotion = _promotion_of(uow, coupon_id) if spent.ok else None
    if promotion is None:
        return CouponUse(_settle(uow, key, spent))
    budget = _joined(uow, budgets)[0].confirm(promotion, order_id)
    if not budget.ok:
        uow.session.rollback()
        return CouponUse(CouponResult(coupon_id, _status(uow, coupon_id), budget.reason), budget)
    return CouponUse(_settle(uow, key, spent), budget)


def return_with_budget(uow: UnitOfWork, budgets: BudgetStore, coupon_id: int, order_id: str,
                       at: datetime) -> CouponUse:
    """Order cancelled (paid or not): return the coupon and release its budget, each exactly
    once however often the cancel arrives. The budget moves before the commit, so a crash in
    between leaves work that the next delivery of the cancel completes."""
    back = _return(uow, coupon_id, order_id, at)
    key = _op_key(coupon_id, "return", order_id)
    promotion = _promotion_of(uow, coupon_id) if back.ok else None
    if promotion is None:
        return CouponUse(_settle(uow, key, back))
    budget = _joined(uow, budgets)[0].release(promotion, order_id, after_confirm=True)
    return CouponUse(_settle(uow, key, back), budget)
