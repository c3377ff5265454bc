"""The funding module's tables: funders (资方) and their capital, assets (one per financed order),
the bills (账单) of each asset, repayments, refunds of financed orders, and the packages of
overdue assets sold in disposal (资产处置).

Amounts and times use the shared column types of `arbiter.platform.columns`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import NAME_LENGTH, amount_column, time_column


class FundingFunder(SQLModel, table=True):
    """A funder: its type, the capital it commits (`capital`) and what of it is out in assets
    (`outstanding`); capacity = capital - outstanding moves by conditional UPDATEs. `priority`
    (higher first) then `price` (its annual rate, cheaper first) order the routing."""

    __tablename__ = "funding_funder"
    __table_args__ = (
        CheckConstraint("kind in ('direct_lending', 'trust', 'factoring', 'self_held')", name="ck_funding_funder_kind"),
        CheckConstraint("outstanding >= 0", name="ck_funding_funder_outstanding"),
        CheckConstraint("status in ('active', 'paused')", name="ck_funding_funder_status"),
    )

    code: str = Field(primary_key=True, max_length=NAME_LENGTH)
    name: str = Field(max_length=NAME_LENGTH)
    kind: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    capital: Decimal = amount_column()
    outstanding: Decimal = amount_column(default=Decimal(0))
    priority: int = Field(default=0)
    price: Decimal = amount_column(default=Decimal(0))
    status: str = Field(default="active", max_length=16)
    created_at: datetime = time_column(nullable=False)
    updated_at: datetime = time_column(nullable=False)


class FundingAsset(SQLModel, table=True):
    """A financed order as an asset: who holds it (`funder`), its principal and fee, and its
    state: financed -> repaid | refunded | collections -> packaged -> sold."""

    __tablename__ = "funding_asset"
    __table_args__ = (
        UniqueConstraint("key", name="uq_funding_asset_key"),
        CheckConstraint("status in ('financed', 'repaid', 'refunded', 'collections', 'packaged', 'sold')",
                        name="ck_funding_asset_status"),
    )

    order_id: str = Field(primary_key=True, max_length=NAME_LENGTH)
    key: str = Field(max_length=NAME_LENGTH)
    user_id: str = Field(max_length=NAME_LENGTH, index=True)
    funder: str = Field(max_length=NAME_LENGTH, index=True)
    first_funder: str = Field(max_length=NAME_LENGTH)  # before any repurchase
    currency: str = Field(max_length=3)
    principal: Decimal = amount_column()
    fee: Decimal = amount_column()  # the user's fee over all bills
    subsidy: Decimal = amount_column(default=Decimal(0))
    subsidy_by: str | None = Field(default=None, max_length=16)
    subsidy_payer: str | None = Field(default=None, max_length=NAME_LENGTH)
    term: int
    term_rate: Decimal = amount_column()
    price: Decimal = amount_column(default=Decimal(0))  # the holder's rate when it took the asset
    stage: str = Field(max_length=16)  # payment | shipment: when it was financed
    over_capacity: bool = Field(default=False)  # kept on self-held funds beyond their capital
    status: str = Field(max_length=16)
    repurchased_at: datetime | None = time_column()
    repurchase_price: Decimal | None = amount_column(nullable=True)
    package_id: str | None = Field(default=None, max_length=NAME_LENGTH, index=True)
    financed_at: datetime = time_column(nullable=False)
    updated_at: datetime = time_column(nullable=False)


class FundingBill(SQLModel, table=True):
    """One period's bill of an asset: what is due on `due_on` and what has been paid of it.
    `status` is open, paid or closed; an open bill past its due date reads as overdue. The
    penalty has been assessed up to `penalty_through` (a Beijing date)."""

    __tablename__ = "funding_bill"
    __table_args__ = (
        UniqueConstraint("order_id", "number", name="uq_funding_bill_period"),
        CheckConstraint("status in ('open', 'paid', 'closed')", name="ck_funding_bill_status"),
        CheckConstraint("principal_paid <= principal", name="ck_funding_bill_principal"),
        CheckConstraint("fee_paid + fee_waived <= fee", name="ck_funding_bill_fee"),
        CheckConstraint("penalty_paid <= penalty", name="ck_funding_bill_penalty"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=NAME_LENGTH, index=True)
    user_id: str = Field(max_length=NAME_LENGTH, index=True)
    number: int
    due_on: date
    currency: str = Field(max_length=3)
    principal: Decimal = amount_column()
    fee: Decimal = amount_column()
    penalty: Decimal = amount_column(default=Decimal(0))
    principal_paid: Decimal = amount_column(default=Decimal(0))
    fee_paid: Decimal = amount_column(default=Decimal(0))
    fee_waived: Decimal = amount_column(default=Decimal(0))
    penalty_paid: Decimal = amount_column(default=Decimal(0))
    penalty_through: date | None = Field(default=None)
    status: str = Field(default="open", max_length=16)
    paid_at: datetime | None = time_column()
    closed_at: datetime | None = time_column()


class FundingRepayment(SQLModel, table=True):
    """One repayment (还款), keyed: the amount and how it was allocated (JSON, per bill)."""

    __tablename__ = "funding_repayment"

    key: str = Field(primary_key=True, max_length=NAME_LENGTH)
    order_id: str = Field(max_length=NAME_LENGTH, index=True)
    user_id: str = Field(max_length=NAME_LENGTH)
    currency: str = Field(max_length=3)
    amount: Decimal = amount_column()
    payoff: bool = Field(default=False)
    allocation: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = time_column(nullable=False)


class FundingRefund(SQLModel, table=True):
    """The refund of a financed order, once per order: what it closed and returned."""

    __tablename__ = "funding_refund"

    order_id: str = Field(primary_key=True, max_length=NAME_LENGTH)
    key: str = Field(max_length=NAME_LENGTH)
    result: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = time_column(nullable=False)


class FundingPackage(SQLModel, table=True):
    """A package of assets in collections offered for sale (资产包): its face value (what the
    users owe on them) and, once sold, the buyer and the proceeds."""

    __tablename__ = "funding_package"
    __table_args__ = (CheckConstraint("status in ('open', 'sold')", name="ck_funding_package_status"),)

    id: str = Field(primary_key=True, max_length=NAME_LENGTH)
    currency: str = Field(max_length=3)
    face_value: Decimal = amount_column()
    status: str = Field(default="open", max_length=16)
    buyer: str | None = Field(default=None, max_length=NAME_LENGTH)
    proceeds: Decimal | None = amount_column(nullable=True)
    created_at: datetime = time_column(nullable=False)
    sold_at: datetime | None = time_column()


def table(model: type[SQLModel]) -> Table:
    found: Table = getattr(model, "__table__")  # noqa: B009 - typed as a Table here
    return found


FUNDERS = table(FundingFunder)
ASSETS = table(FundingAsset)
BILLS = table(FundingBill)
REPAYMENTS = table(FundingRepayment)
REFUNDS = table(FundingRefund)
PACKAGES = table(FundingPackage)
