"""The promotions module's tables: budgets and their usage counters, budget reservations by
order, coupon templates, coupons, per-holder claim counters and the operations log; each
promotion's lifecycle and its transitions, goods registrations (商品提报), and what an order
holds of promotions (its budget reservations and coupons).

Amounts and times use the shared column types of `arbiter.platform.columns`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Index, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import (
    NAME_LENGTH,
    amount_column,
    time_column,
)

# -- budgets -------------------------------------------------------------------------------


class PromotionBudget(SQLModel, table=True):
    """What a promotion may spend (money and, optionally, uses) and what it holds now.

    `used` counts reserved and confirmed reservations alike; `last_grant` is what the latest
    reservation took, so that one conditional UPDATE can both decide a partial grant and
    report it (RETURNING) without a read before the write."""

    __tablename__ = "promotion_budget"
    __table_args__ = (
        CheckConstraint("used >= 0", name="ck_promotion_budget_used"),
        CheckConstraint("uses_used >= 0", name="ck_promotion_budget_uses_used"),
    )

    name: str = Field(primary_key=True, max_length=NAME_LENGTH)
    currency: str = Field(max_length=3)
    total: Decimal = amount_column()
    used: Decimal = amount_column(default=Decimal(0))
    last_grant: Decimal = amount_column(default=Decimal(0))
    uses_total: int | None = Field(default=None)
    uses_used: int = Field(default=0)
    created_at: datetime = time_column(nullable=False)
    updated_at: datetime = time_column(nullable=False)


class PromotionUsage(SQLModel, table=True):
    """Active reservations per holder: kind `user` (period ''), `user_day` (period is the
    ISO day) or `device`; moved by conditional upserts, never read then written."""

    __tablename__ = "promotion_usage"
    __table_args__ = (CheckConstraint("count >= 0", name="ck_promotion_usage_count"),)

    promotion: str = Field(primary_key=True, max_length=NAME_LENGTH)
    kind: str = Field(primary_key=True, max_length=16)
    subject: str = Field(primary_key=True, max_length=NAME_LENGTH)
    period: str = Field(primary_key=True, max_length=10)
    count: int = Field(default=0)


class PromotionReservation(SQLModel, table=True):
    """A budget reservation, one per promotion and order (the idempotency key):
    reserved -> confirmed (payment) or released (cancel, timeout); confirmed -> released only
    when asked explicitly (a paid order cancelled)."""

    __tablename__ = "promotion_reservation"
    __table_args__ = (
        UniqueConstraint("promotion", "order_id", name="uq_promotion_reservation_order"),
        CheckConstraint(
            "status in ('reserved', 'confirmed', 'released')", name="ck_promotion_reservation_status"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    promotion: str = Field(max_length=NAME_LENGTH)
    order_id: str = Field(max_length=NAME_LENGTH)
    user: str = Field(max_length=NAME_LENGTH)
    device: str | None = Field(default=None, max_length=NAME_LENGTH)
    day: date
    currency: str = Field(max_length=3)
    requested: Decimal = amount_column()
    granted: Decimal = amount_column()
    status: str = Field(max_length=16)
    reserved_at: datetime = time_column(nullable=False)
    confirmed_at: datetime | None = time_column()
    released_at: datetime | None = time_column()


# -- coupons -------------------------------------------------------------------------------


class CouponTemplate(SQLModel, table=True):
    """What a coupon is worth and who may have one. Exactly one of `value` (an amount off)
    and `percent` (percent off, with an optional `cap`). Validity is absolute (`ends_at`,
    from `starts_at`) or `days_after_claim`; `starts_at`/`ends_at` then bound the claims."""

    __tablename__ = "coupon_template"
    __table_args__ = (
        CheckConstraint("kind in ('shop', 'platform', 'new_user')", name="ck_coupon_template_kind"),
        CheckConstraint("(value IS NULL) <> (percent IS NULL)", name="ck_coupon_template_value"),
        CheckConstraint(
            "stock_total IS NULL OR stock_issued <= stock_total", name="ck_coupon_template_stock"
        ),
    )

    code: str = Field(primary_key=True, max_length=NAME_LENGTH)
    display: str = Field(max_length=NAME_LENGTH)
    kind: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    value: Decimal | None = amount_column(nullable=True)
    percent: Decimal | None = amount_column(nullable=True)  # exact, like amounts
    cap: Decimal | None = amount_column(nullable=True)
    threshold: Decimal = amount_column(default=Decimal(0))
    scope: str = Field(max_length=NAME_LENGTH)
    starts_at: datetime | None = time_column()
    ends_at: datetime | None = time_column()
    days_after_claim: int | None = Field(default=None)
    claim_limit: int | None = Field(default=None)  # per user; None: no limit
    device_limit: int | None = Field(default=None)  # per device; None: no limit
    stock_total: int | None = Field(default=None)  # None: no limit
    stock_issued: int = Field(default=0)
    promotion: str | None = Field(default=None, max_length=NAME_LENGTH)  # the budget it draws on
    created_at: datetime = time_column(nullable=False)


class CouponClaimCount(SQLModel, table=True):
    """Coupons of a template ever claimed by one holder (kind `user` or `device`)."""

    __tablename__ = "coupon_claim_count"

    template: str = Field(primary_key=True, max_length=NAME_LENGTH)
    kind: str = Field(primary_key=True, max_length=16)
    holder: str = Field(primary_key=True, max_length=NAME_LENGTH)
    count: int = Field(default=0)


class Coupon(SQLModel, table=True):
    """One coupon: available -> reserved (order placed) -> redeemed (paid); reserved or
    redeemed -> returned (order cancelled; usable again) or expired; available or returned ->
    expired. A bulk code is a coupon with no user until someone binds it."""

    __tablename__ = "coupon"
    __table_args__ = (
        CheckConstraint(
            "status in ('available', 'reserved', 'redeemed', 'expired', 'returned')",
            name="ck_coupon_status",
        ),
        Index("ix_coupon_user_status", "user", "status"),
        Index("ix_coupon_status_expires", "status", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    template: str = Field(foreign_key="coupon_template.code", max_length=NAME_LENGTH)
    code: str = Field(unique=True, max_length=32)
    user: str | None = Field(default=None, max_length=NAME_LENGTH)
    source: str = Field(max_length=16)  # claim | grant | code
    status: str = Field(max_length=16)
    issued_at: datetime = time_column(nullable=False)
    claimed_at: datetime | None = time_column()
    valid_from: datetime | None = time_column()
    expires_at: datetime | None = time_column()
    order_id: str | None = Field(default=None, index=True, max_length=NAME_LENGTH)
    reserved_at: datetime | None = time_column()
    redeemed_at: datetime | None = time_column()
    returned_at: datetime | None = time_column()
    expired_at: datetime | None = time_column()


class PromotionOperation(SQLModel, table=True):
    """One row per operation applied, under its idempotency key, with its first result as
    JSON: a repeat of the key returns that result and moves nothing."""

    __tablename__ = "promotion_operation"

    key: str = Field(primary_key=True, max_length=400)
    kind: str = Field(max_length=32)
    result: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = time_column(nullable=False)


# -- lifecycle, registration, orders -------------------------------------------------------


class PromotionLifecycle(SQLModel, table=True):
    """The stored lifecycle state of a promotion declared in the rules: draft, submitted,
    approved, paused or ended (scheduled and active follow from approved, the clock and the
    window). No row means draft. `version` grows with every transition."""

    __tablename__ = "promotion_lifecycle"
    __table_args__ = (
        CheckConstraint(
            "state in ('draft', 'submitted', 'approved', 'paused', 'ended')",
            name="ck_promotion_lifecycle_state",
        ),
    )

    name: str = Field(primary_key=True, max_length=NAME_LENGTH)
    state: str = Field(max_length=16)
    version: int = Field(default=0)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # the last rejection's
    updated_by: str = Field(max_length=NAME_LENGTH)
    updated_at: datetime = time_column(nullable=False)


class PromotionTransition(SQLModel, table=True):
    """One row per lifecycle transition made: who, when, why, from which status to which."""

    __tablename__ = "promotion_transition"
    __table_args__ = (Index("ix_promotion_transition_promotion", "promotion", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    promotion: str = Field(max_length=NAME_LENGTH)
    action: str = Field(max_length=16)
    from_status: str = Field(max_length=16)
    to_status: str = Field(max_length=16)
    by: str = Field(max_length=NAME_LENGTH)
    why: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = time_column(nullable=False)


class GoodsRegistration(SQLModel, table=True):
    """A SKU of a shop registered into a promotion (商品提报): pending -> approved | rejected
    (by the platform, with a reason), or withdrawn by the merchant; one row per promotion,
    shop and SKU, holding its latest state."""

    __tablename__ = "promotion_registration"
    __table_args__ = (
        UniqueConstraint("promotion", "shop", "sku", name="uq_promotion_registration"),
        CheckConstraint(
            "status in ('pending', 'approved', 'rejected', 'withdrawn')",
            name="ck_promotion_registration_status",
        ),
        Index("ix_promotion_registration_status", "promotion", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    promotion: str = Field(max_length=NAME_LENGTH)
    shop: str = Field(max_length=NAME_LENGTH)
    sku: str = Field(max_length=NAME_LENGTH)
    status: str = Field(max_length=16)
    registered_by: str = Field(max_length=NAME_LENGTH)
    registered_at: datetime = time_column(nullable=False)
    reviewed_by: str | None = Field(default=None, max_length=NAME_LENGTH)
    reviewed_at: datetime | None = time_column()
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class PromotionOrder(SQLModel, table=True):
    """What an order holds of promotions: placing -> placed -> confirmed, or cancelled.

    `holds` (JSON) lists every budget reservation and coupon the order made, each written
    before it moves (so a retry or a cancel finds it); `result` (JSON) is the priced result
    returned again to a repeated place. `token` changes whenever a caller takes the order
    over: a writer holding an old token has lost it."""

    __tablename__ = "promotion_order"
    __table_args__ = (
        CheckConstraint(
            "status in ('placing', 'placed', 'confirmed', 'cancelled')", name="ck_promotion_order_status"
        ),
    )

    order_id: str = Field(primary_key=True, max_length=NAME_LENGTH)
    user: str = Field(max_length=NAME_LENGTH)
    device: str | None = Field(default=None, max_length=NAME_LENGTH)
    status: str = Field(max_length=16)
    token: str = Field(max_length=64)
    lease_until: datetime = time_column(nullable=False)
    holds: str = Field(sa_column=Column(Text, nullable=False))
    result: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    placed_at: datetime = time_column(nullable=False)
    confirmed_at: datetime | None = time_column()
    cancelled_at: datetime | None = time_column()


def table(model: type[SQLModel]) -> Table:
    found: Table = getattr(model, "__table__")  # noqa: B009 - typed as a Table here
    return found


BUDGETS = table(PromotionBudget)
USAGE = table(PromotionUsage)
RESERVATIONS = table(PromotionReservation)
TEMPLATES = table(CouponTemplate)
CLAIMS = table(CouponClaimCount)
COUPONS = table(Coupon)
OPERATIONS = table(PromotionOperation)
LIFECYCLES = table(PromotionLifecycle)
TRANSITIONS = table(PromotionTransition)
REGISTRATIONS = table(GoodsRegistration)
ORDERS = table(PromotionOrder)
