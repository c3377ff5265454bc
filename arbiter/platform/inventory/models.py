"""The inventory module's tables: warehouses, stock per (SKU, warehouse), stock locks per
order line and the movement journal.

The database guards the stock itself: CHECK constraints keep 0 <= locked <= on_hand, so a
bug that would sell stock twice fails instead. Every movement has a unique key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, Index, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import NAME_LENGTH, time_column


class InventoryWarehouse(SQLModel, table=True):
    """A warehouse, where it is (`region`) and the regions it delivers to (`serves`, a JSON
    list; "*" serves every region). Higher `priority` is tried first."""

    __tablename__ = "inventory_warehouse"

    code: str = Field(primary_key=True, max_length=NAME_LENGTH)
    name: str = Field(max_length=NAME_LENGTH)
    region: str = Field(max_length=NAME_LENGTH)
    serves: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    priority: int = Field(default=0)


class InventoryStock(SQLModel, table=True):
    """What a warehouse holds of a SKU: `on_hand` units, `locked` of them for orders."""

    __tablename__ = "inventory_stock"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="ck_inventory_stock_on_hand"),
        CheckConstraint("locked >= 0", name="ck_inventory_stock_locked"),
        CheckConstraint("locked <= on_hand", name="ck_inventory_stock_locked_le_on_hand"),
    )

    sku: str = Field(primary_key=True, max_length=NAME_LENGTH)
    warehouse: str = Field(primary_key=True, max_length=NAME_LENGTH, foreign_key="inventory_warehouse.code")
    on_hand: int = Field(default=0)
    locked: int = Field(default=0)


class InventoryLock(SQLModel, table=True):
    """The stock one order line holds: locked -> released (cancelled before shipment) or
    deducted (shipped) -> returned (every unit received back; `returned` counts them)."""

    __tablename__ = "inventory_lock"
    __table_args__ = (
        UniqueConstraint("order_id", "line_id", name="uq_inventory_lock_line"),
        CheckConstraint("state in ('locked', 'released', 'deducted', 'returned')", name="ck_inventory_lock_state"),
        CheckConstraint("quantity > 0", name="ck_inventory_lock_quantity"),
        CheckConstraint("returned >= 0 AND returned <= quantity", name="ck_inventory_lock_returned"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=NAME_LENGTH, index=True)
    line_id: str = Field(max_length=NAME_LENGTH)
    sku: str = Field(max_length=NAME_LENGTH)
    warehouse: str = Field(max_length=NAME_LENGTH)
    region: str = Field(max_length=NAME_LENGTH)
    quantity: int
    returned: int = Field(default=0)
    state: str = Field(max_length=16)
    locked_at: datetime | None = time_column()
    updated_at: datetime | None = time_column()


class InventoryMovement(SQLModel, table=True):
    """One movement of stock: receive, lock, release, deduct or restock; `key` makes it
    happen once."""

    __tablename__ = "inventory_movement"
    __table_args__ = (
        UniqueConstraint("key", name="uq_inventory_movement_key"),
        CheckConstraint("kind in ('receive', 'lock', 'release', 'deduct', 'restock')",
                        name="ck_inventory_movement_kind"),
        Index("ix_inventory_movement_sku", "sku", "warehouse"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=400)
    kind: str = Field(max_length=16)
    sku: str = Field(max_length=NAME_LENGTH)
    warehouse: str = Field(max_length=NAME_LENGTH)
    quantity: int
    order_id: str | None = Field(default=None, max_length=NAME_LENGTH)
    line_id: str | None = Field(default=None, max_length=NAME_LENGTH)
    at: datetime | None = time_column()


def table(model: type[SQLModel]) -> Table:
    found: Table = getattr(model, "__table__")  # noqa: B009 - typed as a Table here
    return found


WAREHOUSES = table(InventoryWarehouse)
STOCK = table(InventoryStock)
LOCKS = table(InventoryLock)
MOVEMENTS = table(InventoryMovement)
