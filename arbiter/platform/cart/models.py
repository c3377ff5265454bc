"""The `cart_item` table: one row per user and SKU."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import NAME_LENGTH, time_column


class CartItem(SQLModel, table=True):
    __tablename__ = "cart_item"
    __table_args__ = (UniqueConstraint("user_id", "sku", name="uq_cart_item"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=NAME_LENGTH, index=True)
    sku: str = Field(max_length=NAME_LENGTH)
    quantity: int
    selected: bool = Field(default=True)  # ticked for checkout
    added_at: datetime = time_column(nullable=False)
