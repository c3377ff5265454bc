"""The credit module's tables: applications (授信申请) and their outcome, one revolving line
(循环额度) per user, special-purpose lines (专项额度), what each order drew on a line and the
restores against it, and the log of limit changes (提额).

Applicants' submitted data is never stored: an application keeps its outcome and score only.
Amounts and times use the shared column types of `arbiter.platform.columns`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import NAME_LENGTH, amount_column, time_column


class CreditApplication(SQLModel, table=True):
    """One credit application, keyed by its idempotency key: approved (with a limit and a
    tier), review (a person decides) or rejected (with a reason)."""

    __tablename__ = "credit_application"
    __table_args__ = (
        CheckConstraint("status in ('approved', 'review', 'rejected')", name="ck_credit_application_status"),
    )

    key: str = Field(primary_key=True, max_length=NAME_LENGTH)
    user_id: str = Field(max_length=NAME_LENGTH, index=True)
    status: str = Field(max_length=16)
    score: int | None = Field(default=None)
    currency: str = Field(max_length=3)
    credit_limit: Decimal | None = amount_column(nullable=True)
    tier: str | None = Field(default=None, max_length=1)
    reason: str | None = Field(default=None, max_length=NAME_LENGTH)
    tags: str = Field(default="", max_length=1000)  # labels the decision put on the user, comma-separated
    ruleset_hash: str = Field(default="", max_length=64)
    decided_at: datetime = time_column(nullable=False)
    reviewed_by: str | None = Field(default=None, max_length=NAME_LENGTH)
    reviewed_at: datetime | None = time_column()


class CreditLine(SQLModel, table=True):
    """A user's revolving line: `used` is the outstanding principal drawn on it, so that
    available = credit_limit - used. Both move only by conditional UPDATEs."""

    __tablename__ = "credit_line"
    __table_args__ = (
        CheckConstraint("used >= 0", name="ck_credit_line_used"),
        CheckConstraint("used <= credit_limit", name="ck_credit_line_limit"),
        CheckConstraint("status in ('active', 'frozen', 'closed')", name="ck_credit_line_status"),
    )

    user_id: str = Field(primary_key=True, max_length=NAME_LENGTH)
    currency: str = Field(max_length=3)
    credit_limit: Decimal = amount_column()
    used: Decimal = amount_column(default=Decimal(0))
    tier: str = Field(max_length=1)
    status: str = Field(max_length=16)
    overdue_days: int = Field(default=0)
    opened_at: datetime = time_column(nullable=False)
    updated_at: datetime = time_column(nullable=False)


class CreditSpecialLine(SQLModel, table=True):
    """A special-purpose line (专项额度): usable only in one scene (`scope_kind` 'scene') or for
    one goods category ('category'), until `expires_at` when set. One per user and scope."""

    __tablename__ = "credit_special_line"
    __table_args__ = (
        UniqueConstraint("user_id", "scope_kind", "scope_value", name="uq_credit_special_line_scope"),
        CheckConstraint("used >= 0", name="ck_credit_special_line_used"),
        CheckConstraint("used <= credit_limit", name="ck_credit_special_line_limit"),
        CheckConstraint("scope_kind in ('scene', 'category')", name="ck_credit_special_line_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=NAME_LENGTH, index=True)
    scope_kind: str = Field(max_length=16)
    scope_value: str = Field(max_length=NAME_LENGTH)
    currency: str = Field(max_length=3)
    credit_limit: Decimal = amount_column()
    used: Decimal = amount_column(default=Decimal(0))
    status: str = Field(default="active", max_length=16)
    expires_at: datetime | None = time_column()
    created_at: datetime = time_column(nullable=False)
    updated_at: datetime = time_column(nullable=False)


class CreditDraw(SQLModel, table=True):
    """What one order drew on a line (额度扣减), once per order, and how much of it has been
    restored since (repaid principal, refunds). It also keeps the installment terms the
    payment was approved on, which financing turns into bills."""

    __tablename__ = "credit_draw"
    __table_args__ = (
        UniqueConstraint("key", name="uq_credit_draw_key"),
        CheckConstraint("restored >= 0", name="ck_credit_draw_restored"),
        CheckConstraint("restored <= principal", name="ck_credit_draw_principal"),
    )

    order_id: str = Field(primary_key=True, max_length=NAME_LENGTH)
    key: str = Field(max_length=NAME_LENGTH)
    user_id: str = Field(max_length=NAME_LENGTH, index=True)
    special_line_id: int | None = Field(default=None)
    currency: str = Field(max_length=3)
    principal: Decimal = amount_column()
    restored: Decimal = amount_column(default=Decimal(0))
    term: int = Field(default=1)
    method: str = Field(default="shop", max_length=32)
    term_rate: Decimal = amount_column(default=Decimal(0))
    fee: Decimal = amount_column(default=Decimal(0))  # what the user pays in fees
    subsidy: Decimal = amount_column(default=Decimal(0))  # the fee an interest-free offer's funder pays
    subsidy_by: str | None = Field(default=None, max_length=16)  # merchant | platform
    subsidy_payer: str | None = Field(default=None, max_length=NAME_LENGTH)  # the shop, or "platform"
    drawn_at: datetime = time_column(nullable=False)
    updated_at: datetime = time_column(nullable=False)


class CreditRestore(SQLModel, table=True):
    """One restore of principal to the line an order drew on, keyed by its idempotency key."""

    __tablename__ = "credit_restore"

    key: str = Field(primary_key=True, max_length=NAME_LENGTH)
    order_id: str = Field(max_length=NAME_LENGTH, index=True)
    amount: Decimal = amount_column()
    at: datetime = time_column(nullable=False)


class CreditLimitChange(SQLModel, table=True):
    """A change of a line's limit (提额, or a decrease down to what is used), keyed."""

    __tablename__ = "credit_limit_change"

    key: str = Field(primary_key=True, max_length=NAME_LENGTH)
    user_id: str = Field(max_length=NAME_LENGTH, index=True)
    before: Decimal = amount_column()
    after: Decimal = amount_column()
    reason: str = Field(max_length=NAME_LENGTH)
    at: datetime = time_column(nullable=False)


def table(model: type[SQLModel]) -> Table:
    found: Table = getattr(model, "__table__")  # noqa: B009 - typed as a Table here
    return found


APPLICATIONS = table(CreditApplication)
LINES = table(CreditLine)
SPECIAL_LINES = table(CreditSpecialLine)
DRAWS = table(CreditDraw)
RESTORES = table(CreditRestore)
LIMIT_CHANGES = table(CreditLimitChange)
