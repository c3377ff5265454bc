"""The orders module's tables: parent orders, orders (one per shop), order lines with their
price snapshot, and every state transition made."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import NAME_LENGTH, amount_column, time_column


class ParentOrder(SQLModel, table=True):
    """What one checkout created: the cart priced as a whole (cross-shop promotions need the
    whole cart), paid with one payment, split into one order per shop."""

    __tablename__ = "order_parent"

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(max_length=NAME_LENGTH, index=True)
    kind: str = Field(max_length=16)  # physical | virtual
    currency: str = Field(max_length=3)
    payable: Decimal = amount_column()
    payment_method: str = Field(max_length=32)
    key: str = Field(max_length=NAME_LENGTH, unique=True)  # the checkout's idempotency key
    created_at: datetime = time_column(nullable=False)
    expires_at: datetime = time_column(nullable=False)  # unpaid after this: closed
    installments: int | None = Field(default=None)  # the term chosen when paid on credit (分期期数)


class Order(SQLModel, table=True):
    """One shop's part of a parent order. `address` (physical goods) or `recharge_account`
    (virtual goods) says where it goes."""

    __tablename__ = "order_order"
    __table_args__ = (
        CheckConstraint(
            "status in ('created', 'paid', 'shipped', 'delivered', 'fulfilled', 'completed', "
            "'cancelled', 'closed')", name="ck_order_order_status"),
        Index("ix_order_order_parent", "parent_id"),
        Index("ix_order_order_shop_status", "shop", "status"),
    )

    id: str = Field(primary_key=True, max_length=64)
    parent_id: str = Field(max_length=64)
    user_id: str = Field(max_length=NAME_LENGTH, index=True)
    shop: str = Field(max_length=NAME_LENGTH)
    kind: str = Field(max_length=16)  # physical | virtual
    status: str = Field(max_length=16)
    version: int = Field(default=0)  # grows with every transition: compare-and-set
    currency: str = Field(max_length=3)
    list_total: Decimal = amount_column()
    discount: Decimal = amount_column()
    payable: Decimal = amount_column()
    refunded: Decimal = amount_column(default=Decimal(0))
    address: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    region: str | None = Field(default=None, max_length=NAME_LENGTH)
    recharge_account: str | None = Field(default=None, max_length=32)
    created_at: datetime = time_column(nullable=False)
    paid_at: datetime | None = time_column()
    updated_at: datetime = time_column(nullable=False)


class OrderLine(SQLModel, table=True):
    """One SKU of an order, priced: its list total, payable, each unit's payable and every
    promotion's allocation with its funding (JSON), as the trial computed them at checkout.
    `refunded_units` counts the units refunded, newest unit first."""

    __tablename__ = "order_line"
    __table_args__ = (UniqueConstraint("order_id", "line_id", name="uq_order_line"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=64, index=True)
    line_id: str = Field(max_length=64)
    sku: str = Field(max_length=NAME_LENGTH)
    title: str = Field(max_length=NAME_LENGTH)
    category: str = Field(max_length=NAME_LENGTH)
    quantity: int
    unit_price: Decimal = amount_column()
    list_total: Decimal = amount_column()
    payable: Decimal = amount_column()
    unit_payables: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of strings
    allocations: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    route: str | None = Field(default=None, max_length=32)  # warehouse | dropship | supplier_realtime
    refunded_units: int = Field(default=0)


class OrderTransition(SQLModel, table=True):
    """Every state change of an order: from, to, why, by whom, when."""

    __tablename__ = "order_transition"
    __table_args__ = (Index("ix_order_transition_order", "order_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=64)
    from_status: str = Field(max_length=16)
    to_status: str = Field(max_length=16)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    by: str = Field(max_length=NAME_LENGTH)
    at: datetime = time_column(nullable=False)
