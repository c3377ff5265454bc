"""The merchants module's tables: a merchant and its shop, every status change with its
reason, the score computed per shop, and the ratings users gave its orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Index, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import NAME_LENGTH, amount_column, time_column

INDIVIDUAL, ENTERPRISE, BRAND_FLAGSHIP = "individual", "enterprise", "brand_flagship"
TYPES = (INDIVIDUAL, ENTERPRISE, BRAND_FLAGSHIP)

APPLIED = "applied"  # waiting for the platform's review
REJECTED = "rejected"
APPROVED = "approved"  # waiting for the deposit
ACTIVE = "active"
RESTRICTED = "restricted"  # cannot publish goods
SUSPENDED = "suspended"  # cannot sell: its goods are off sale
CLOSED = "closed"  # settled out, the deposit returned net of claims
STATUSES = (APPLIED, REJECTED, APPROVED, ACTIVE, RESTRICTED, SUSPENDED, CLOSED)


class Merchant(SQLModel, table=True):
    """A merchant and the one shop it opens. `deposit` is what its type requires."""

    __tablename__ = "merchant_merchant"
    __table_args__ = (UniqueConstraint("shop", name="uq_merchant_merchant_shop"),
                      CheckConstraint("deposit > 0", name="ck_merchant_merchant_deposit"))

    id: str = Field(primary_key=True, max_length=NAME_LENGTH)
    name: str = Field(max_length=NAME_LENGTH)
    type: str = Field(max_length=20)
    status: str = Field(max_length=20)
    shop: str = Field(max_length=NAME_LENGTH)  # the shop it opens (its code, asked in the application)
    shop_name: str = Field(max_length=NAME_LENGTH)
    categories: str = Field(sa_column=Column(Text, nullable=False))  # JSON list: the category scope
    qualifications: str = Field(sa_column=Column(Text, nullable=False))  # JSON {name: document}
    deposit: Decimal = amount_column()  # required
    currency: str = Field(max_length=3)
    created_at: datetime = time_column(nullable=False)
    opened_at: datetime | None = time_column()


class MerchantChange(SQLModel, table=True):
    """One change of a merchant's status, with its reason and who made it."""

    __tablename__ = "merchant_change"
    __table_args__ = (Index("ix_merchant_change_merchant", "merchant", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    merchant: str = Field(max_length=NAME_LENGTH)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    reason: str = Field(max_length=NAME_LENGTH)
    by: str = Field(max_length=NAME_LENGTH)
    at: datetime = time_column(nullable=False)


class MerchantScore(SQLModel, table=True):
    """A shop's latest score (0 to 5) and what it was computed from, over the window that
    ended at `computed_at`: hours from payment to shipment on average, after-sales cases per
    paid order, and the average rating (stars)."""

    __tablename__ = "merchant_score"

    shop: str = Field(primary_key=True, max_length=NAME_LENGTH)
    score: Decimal = amount_column()
    shipping_hours: Decimal = amount_column()
    aftersales_rate: Decimal = amount_column()
    rating: Decimal = amount_column()
    orders: int = 0  # paid in the window
    shipped: int = 0  # of them, shipped
    cases: int = 0  # after-sales cases asked in the window
    ratings: int = 0
    window_days: int = 0
    computed_at: datetime = time_column(nullable=False)


class MerchantRating(SQLModel, table=True):
    """The stars a user gave one of its orders (once per order)."""

    __tablename__ = "merchant_rating"
    __table_args__ = (CheckConstraint("stars >= 1 AND stars <= 5", name="ck_merchant_rating_stars"),
                      Index("ix_merchant_rating_shop", "shop", "at"))

    order_id: str = Field(primary_key=True, max_length=NAME_LENGTH)
    shop: str = Field(max_length=NAME_LENGTH)
    user_id: str = Field(max_length=NAME_LENGTH)
    stars: int
    at: datetime = time_column(nullable=False)


def table(model: type[SQLModel]) -> Table:
    found: Table = getattr(model, "__table__")  # noqa: B009 - typed as a Table here
    return found


MERCHANTS = table(Merchant)
CHANGES = table(MerchantChange)
SCORES = table(MerchantScore)
RATINGS = table(MerchantRating)
