"""The suppliers module's tables: suppliers and their contracts, purchase orders and their
lines, dropship requests, real-time purchase attempts, and the cost lines statements add up.

Personal data is masked at rest: a dropship address keeps its phone number masked and a
real-time purchase keeps the recharge account masked (the caller holds the full values).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Index, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import NAME_LENGTH, amount_column, time_column


class Supplier(SQLModel, table=True):
    """A supplier and its contract: the settlement days after a statement's end, the price
    terms in words, and `cost_rate`, the share of face value a real-time purchase costs."""

    __tablename__ = "supplier"
    __table_args__ = (
        CheckConstraint("kind in ('stock_purchase', 'dropship', 'realtime_api')", name="ck_supplier_kind"),
        CheckConstraint("status in ('active', 'suspended')", name="ck_supplier_status"),
        CheckConstraint("settlement_days >= 0", name="ck_supplier_settlement_days"),
    )

    code: str = Field(primary_key=True, max_length=NAME_LENGTH)
    name: str = Field(max_length=NAME_LENGTH)
    kind: str = Field(max_length=16)
    status: str = Field(max_length=16)
    settlement_days: int
    price_terms: str = Field(default="", sa_column=Column(Text, nullable=False))
    cost_rate: Decimal = amount_column(default=Decimal(1))
    onboarded_at: datetime = time_column(nullable=False)


class SupplierPurchaseOrder(SQLModel, table=True):
    """A purchase order (采购单) to a supplier, delivered into one warehouse: created -> received."""

    __tablename__ = "supplier_purchase_order"
    __table_args__ = (
        CheckConstraint("status in ('created', 'received')", name="ck_supplier_purchase_order_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    supplier: str = Field(max_length=NAME_LENGTH, foreign_key="supplier.code")
    warehouse: str = Field(max_length=NAME_LENGTH)
    currency: str = Field(max_length=3)
    status: str = Field(max_length=16)
    created_at: datetime = time_column(nullable=False)
    received_at: datetime | None = time_column()


class SupplierPurchaseLine(SQLModel, table=True):
    __tablename__ = "supplier_purchase_line"
    __table_args__ = (
        UniqueConstraint("purchase_order", "line_no", name="uq_supplier_purchase_line"),
        CheckConstraint("quantity > 0", name="ck_supplier_purchase_line_quantity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    purchase_order: int = Field(foreign_key="supplier_purchase_order.id")
    line_no: int
    sku: str = Field(max_length=NAME_LENGTH)
    quantity: int
    unit_cost: Decimal = amount_column()


class SupplierDropship(SQLModel, table=True):
    """An order pushed to a dropship supplier (代发): pushed -> shipped, with the carrier and
    tracking number the supplier uploads. One per order and supplier."""

    __tablename__ = "supplier_dropship_request"
    __table_args__ = (
        UniqueConstraint("order_id", "supplier", name="uq_supplier_dropship_order"),
        CheckConstraint("status in ('pushed', 'shipped')", name="ck_supplier_dropship_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=NAME_LENGTH, index=True)
    supplier: str = Field(max_length=NAME_LENGTH, foreign_key="supplier.code")
    lines: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    address: str = Field(sa_column=Column(Text, nullable=False))  # JSON, phone masked
    status: str = Field(max_length=16)
    carrier: str | None = Field(default=None, max_length=NAME_LENGTH)
    tracking_no: str | None = Field(default=None, max_length=NAME_LENGTH)
    pushed_at: datetime = time_column(nullable=False)
    shipped_at: datetime | None = time_column()


class SupplierRealtimePurchase(SQLModel, table=True):
    """One attempt of a real-time purchase (实时采购): pending -> succeeded | failed. The
    request id is the gateway's idempotency key: asking again with it never recharges twice."""

    __tablename__ = "supplier_realtime_purchase"
    __table_args__ = (
        UniqueConstraint("order_id", "attempt", name="uq_supplier_realtime_attempt"),
        UniqueConstraint("request_id", name="uq_supplier_realtime_request"),
        CheckConstraint("status in ('pending', 'succeeded', 'failed')", name="ck_supplier_realtime_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=NAME_LENGTH, index=True)
    supplier: str = Field(max_length=NAME_LENGTH, foreign_key="supplier.code")
    account: str = Field(max_length=NAME_LENGTH)  # masked
    currency: str = Field(max_length=3)
    amount: Decimal = amount_column()
    attempt: int
    request_id: str = Field(max_length=400)
    status: str = Field(max_length=16)
    reference: str | None = Field(default=None, max_length=NAME_LENGTH)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = time_column(nullable=False)


class SupplierCost(SQLModel, table=True):
    """What the platform owes a supplier for one thing it delivered: a received purchase
    order line, a shipped dropship line, a successful real-time purchase. Once per key."""

    __tablename__ = "supplier_cost"
    __table_args__ = (
        UniqueConstraint("key", name="uq_supplier_cost_key"),
        CheckConstraint("kind in ('purchase_order', 'dropship', 'realtime')", name="ck_supplier_cost_kind"),
        Index("ix_supplier_cost_supplier_day", "supplier", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=400)
    supplier: str = Field(max_length=NAME_LENGTH, foreign_key="supplier.code")
    kind: str = Field(max_length=16)
    reference: str = Field(max_length=NAME_LENGTH)  # the purchase order, order id or request
    sku: str | None = Field(default=None, max_length=NAME_LENGTH)
    quantity: int
    currency: str = Field(max_length=3)
    unit_cost: Decimal = amount_column()
    amount: Decimal = amount_column()
    day: date
    at: datetime = time_column(nullable=False)


def table(model: type[SQLModel]) -> Table:
    found: Table = getattr(model, "__table__")  # noqa: B009 - typed as a Table here
    return found


SUPPLIERS = table(Supplier)
PURCHASE_ORDERS = table(SupplierPurchaseOrder)
PURCHASE_LINES = table(SupplierPurchaseLine)
DROPSHIPS = table(SupplierDropship)
REALTIME = table(SupplierRealtimePurchase)
COSTS = table(SupplierCost)
