"""The payments module's tables: one row per payment (支付单) and one per refund (逆向交易).

The database guards the money: a CHECK keeps 0 <= refunded <= amount on every payment, so a
bug that would refund twice fails instead of paying out. `open_order` holds the order id while
a payment is open or has succeeded and is NULL otherwise; its unique constraint is what keeps
one open payment per order, across processes, on SQLite and PostgreSQL alike (NULLs never
collide).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Index, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import NAME_LENGTH, amount_column, time_column

# Payment statuses.
REFUSED = "refused"  # the risk decision rejected it (or a reviewer did)
REVIEW = "review"  # held for a person (人工审核)
VERIFYING = "verifying"  # waits for the user's proof (交易鉴权)
READY = "ready"  # may be sent to its channel
PENDING = "pending"  # sent; the channel has not told the outcome yet
SUCCEEDED = "succeeded"
FAILED = "failed"  # declined by the channel, or three wrong proofs
CANCELLED = "cancelled"  # given up before it reached the channel
PAYMENT_STATUSES = (REFUSED, REVIEW, VERIFYING, READY, PENDING, SUCCEEDED, FAILED, CANCELLED)
OPEN = (REVIEW, VERIFYING, READY, PENDING)  # these (and SUCCEEDED) hold the order's slot

# Refund statuses. Only a succeeded refund counts in the payment's `refunded`.
REFUND_PENDING = "pending"  # the amount is reserved, the channel is being asked
REFUND_SUCCEEDED = "succeeded"
REFUND_FAILED = "failed"  # the channel refused: retryable with the same key
REFUND_REFUSED = "refused"  # more than what is left: retryable with the same key
REFUND_STATUSES = (REFUND_PENDING, REFUND_SUCCEEDED, REFUND_FAILED, REFUND_REFUSED)

VERIFICATIONS = ("none", "password", "sms", "face", "fingerprint")
KEY_LENGTH = 200
ID_LENGTH = 40
REASON_LENGTH = 500


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


class PaymentsPayment(SQLModel, table=True):
    """One payment of one order: its amount, method, the verification the risk decision
    asked for, where it stands and how much of it was refunded."""

    __tablename__ = "payments_payment"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_payments_payment_key"),
        UniqueConstraint("open_order", name="uq_payments_payment_open_order"),
        CheckConstraint(_one_of("status", PAYMENT_STATUSES), name="ck_payments_payment_status"),
        CheckConstraint(_one_of("verification", VERIFICATIONS), name="ck_payments_payment_verification"),
        CheckConstraint("amount > 0", name="ck_payments_payment_amount"),
        CheckConstraint("refunded >= 0 AND refunded <= amount", name="ck_payments_payment_refunded"),
        CheckConstraint("failed_attempts >= 0", name="ck_payments_payment_attempts"),
        Index("ix_payments_payment_order", "order_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=ID_LENGTH)
    key: str = Field(max_length=KEY_LENGTH)  # the caller's idempotency key, per user
    order_id: str = Field(max_length=NAME_LENGTH)
    open_order: str | None = Field(default=None, max_length=NAME_LENGTH)
    user_id: str = Field(max_length=NAME_LENGTH)
    amount: Decimal = amount_column()
    currency: str = Field(max_length=3)
    method: str = Field(max_length=32)
    verification: str = Field(max_length=16)  # what the user owes (after review, if held)
    status: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=REASON_LENGTH)
    channel: str | None = Field(default=None, max_length=NAME_LENGTH)
    channel_ref: str | None = Field(default=None, max_length=NAME_LENGTH)
    failed_attempts: int = Field(default=0)
    refunded: Decimal = amount_column(default=Decimal(0))
    effects: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # the decision's, JSON
    created_at: datetime | None = time_column(nullable=False)
    updated_at: datetime | None = time_column(nullable=False)
    paid_at: datetime | None = time_column()


class PaymentsRefund(SQLModel, table=True):
    """One refund of a payment, back through the channel that charged it. `key` (per
    payment) makes it happen once."""

    __tablename__ = "payments_refund"
    __table_args__ = (
        UniqueConstraint("payment_id", "key", name="uq_payments_refund_key"),
        CheckConstraint(_one_of("status", REFUND_STATUSES), name="ck_payments_refund_status"),
        CheckConstraint("amount > 0", name="ck_payments_refund_amount"),
        Index("ix_payments_refund_order", "order_id"),
    )

    id: str = Field(primary_key=True, max_length=ID_LENGTH)
    key: str = Field(max_length=KEY_LENGTH)
    payment_id: str = Field(max_length=ID_LENGTH, foreign_key="payments_payment.id")
    order_id: str = Field(max_length=NAME_LENGTH)
    amount: Decimal = amount_column()
    currency: str = Field(max_length=3)
    status: str = Field(max_length=16)
    refund_reason: str = Field(max_length=REASON_LENGTH)  # why the money goes back (the caller's)
    failure: str | None = Field(default=None, max_length=REASON_LENGTH)  # why it did not
    channel: str = Field(max_length=NAME_LENGTH)
    channel_ref: str | None = Field(default=None, max_length=NAME_LENGTH)
    created_at: datetime | None = time_column(nullable=False)
    updated_at: datetime | None = time_column(nullable=False)


def table(model: type[SQLModel]) -> Table:
    found: Table = getattr(model, "__table__")  # noqa: B009 - typed as a Table here
    return found


PAYMENTS = table(PaymentsPayment)
REFUNDS = table(PaymentsRefund)
