"""The after-sales tables: cases, each case's steps, refunds made, and invoices."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import NAME_LENGTH, amount_column, time_column


class AftersalesCase(SQLModel, table=True):
    """A user's request about a paid order: which units of which lines, what they want."""

    __tablename__ = "aftersales_case"
    __table_args__ = (
        CheckConstraint("kind in ('refund_before_shipment', 'return', 'exchange', 'refund_only')",
                        name="ck_aftersales_case_kind"),
        UniqueConstraint("order_id", "key", name="uq_aftersales_case_key"),
        Index("ix_aftersales_case_shop_status", "shop", "status"),
    )

    id: str = Field(primary_key=True, max_length=64)
    key: str = Field(max_length=NAME_LENGTH)
    order_id: str = Field(max_length=64, index=True)
    user_id: str = Field(max_length=NAME_LENGTH)
    shop: str = Field(max_length=NAME_LENGTH)
    kind: str = Field(max_length=32)
    status: str = Field(max_length=24)
    version: int = Field(default=0)
    lines: str = Field(sa_column=Column(Text, nullable=False))  # JSON [[line_id, units], ...]
    amount: Decimal = amount_column()  # what the refund would be
    currency: str = Field(max_length=3)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    return_carrier: str | None = Field(default=None, max_length=NAME_LENGTH)
    return_tracking: str | None = Field(default=None, max_length=NAME_LENGTH)
    created_at: datetime = time_column(nullable=False)
    updated_at: datetime = time_column(nullable=False)


class AftersalesStep(SQLModel, table=True):
    """Every step of a case: from, to, who, why, when."""

    __tablename__ = "aftersales_step"
    __table_args__ = (Index("ix_aftersales_step_case", "case_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=64)
    from_status: str = Field(max_length=24)
    to_status: str = Field(max_length=24)
    by: str = Field(max_length=NAME_LENGTH)
    note: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = time_column(nullable=False)


class Refund(SQLModel, table=True):
    """A refund made to an order: its amount, the units it covers and the reversal of each
    promotion's allocation by funder (JSON), as settlement and credit read them."""

    __tablename__ = "aftersales_refund"
    __table_args__ = (UniqueConstraint("key", name="uq_aftersales_refund_key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=NAME_LENGTH)
    order_id: str = Field(max_length=64, index=True)
    case_id: str | None = Field(default=None, max_length=64)
    amount: Decimal = amount_column()
    currency: str = Field(max_length=3)
    lines: str = Field(sa_column=Column(Text, nullable=False))  # JSON, see refunds.RefundLine
    reason: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16)  # refunded | failed
    at: datetime = time_column(nullable=False)


class Invoice(SQLModel, table=True):
    """An invoice (发票) issued for an order on the user's request: one per order."""

    __tablename__ = "aftersales_invoice"

    order_id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(max_length=NAME_LENGTH)
    title: str = Field(max_length=NAME_LENGTH)
    tax_id: str | None = Field(default=None, max_length=32)
    amount: Decimal = amount_column()
    currency: str = Field(max_length=3)
    number: str = Field(max_length=32, unique=True)
    issued_at: datetime = time_column(nullable=False)
