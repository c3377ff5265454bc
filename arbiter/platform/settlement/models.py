"""The settlement module's tables.

`settlement_line` is one order line as settlement sees it: its commission base, rate and
commission, what the user paid, what the platform and the payment channel funded, and the
running totals refunded (never rewritten otherwise). `settlement_entry` is one line of a
statement: a line's goods settlement, a refund clawed back after settlement, money taken
from the deposit, or a movement of the available balance settlement did not make itself (a
withdrawal, an interest-free fee, the deposit returned) taken from the ledger once, by its
transfer id. `statement` is NULL until a cycle's statement picks the entry up. The CHECKs
keep the refunded totals within the line's figures.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import NAME_LENGTH, amount_column, time_column

OPEN = "open"  # paid, the order not completed yet: nothing is owed to the merchant
PENDING = "pending"  # completed (or refunded in full): in merchant pending until its cycle comes
SETTLED = "settled"  # paid into merchant available by a cycle
LINE_STATUSES = (OPEN, PENDING, SETTLED)

NET_NEXT_CYCLE = "net_next_cycle"  # a negative available balance waits for the next cycles
FROM_DEPOSIT = "from_deposit"  # a negative available balance is made good from the deposit
POLICIES = (NET_NEXT_CYCLE, FROM_DEPOSIT)

# The kinds of statement entries.
GOODS = "goods"  # a line settled: its base less commission into available
REFUND = "refund"  # a refund of a settled line, clawed back from available
EARLY_REFUND = "early_refund"  # a refund before the line settled: the goods entry shows what is left
DEPOSIT = "deposit"  # taken from the deposit to make good a negative balance
WITHDRAWAL = "withdrawal"  # asked for (negative) or refused and given back (positive)
ADJUSTMENT = "adjustment"  # any other module's movement of the available balance
ENTRY_KINDS = (GOODS, REFUND, EARLY_REFUND, DEPOSIT, WITHDRAWAL, ADJUSTMENT)


class SettlementShop(SQLModel, table=True):
    """A shop settlement knows: its cycle (T+N days after completion) and its policy for a
    negative available balance."""

    __tablename__ = "settlement_shop"
    __table_args__ = (CheckConstraint("cycle_days >= 0", name="ck_settlement_shop_cycle"),)

    shop: str = Field(primary_key=True, max_length=NAME_LENGTH)
    cycle_days: int
    policy: str = Field(max_length=20)
    currency: str = Field(max_length=3)
    created_at: datetime = time_column(nullable=False)


class SettlementRate(SQLModel, table=True):
    """A commission rate below 1 (the service checks it: the column keeps ten-thousandths):
    `key` is `category:CODE`, `category:*` (the default) or `sku:CODE` (a per-goods override)."""

    __tablename__ = "settlement_rate"
    __table_args__ = (CheckConstraint("rate >= 0", name="ck_settlement_rate_range"),)

    key: str = Field(primary_key=True, max_length=NAME_LENGTH)
    rate: Decimal = amount_column()
    updated_at: datetime = time_column(nullable=False)


class SettlementLine(SQLModel, table=True):
    __tablename__ = "settlement_line"
    __table_args__ = (
        CheckConstraint("refunded_units <= quantity", name="ck_settlement_line_units"),
        CheckConstraint("refunded_base <= base AND refunded_commission <= commission"
                        " AND refunded_subsidy <= subsidy AND refunded_paid <= paid"
                        " AND refunded_channel <= channel", name="ck_settlement_line_refunded"),
        Index("ix_settlement_line_shop", "shop", "status", "due_at"),
        Index("ix_settlement_line_order", "order_id"),
    )

    id: str = Field(primary_key=True, max_length=NAME_LENGTH)  # ORDER/LINE
    shop: str = Field(max_length=NAME_LENGTH)
    order_id: str = Field(max_length=NAME_LENGTH)
    line_id: str = Field(max_length=NAME_LENGTH)
    sku: str = Field(max_length=NAME_LENGTH)
    category: str = Field(max_length=NAME_LENGTH)
    quantity: int
    currency: str = Field(max_length=3)
    credit_paid: bool = Field(default=False)  # paid on installment credit: the credit books move the user's money
    rate: Decimal = amount_column()
    base: Decimal = amount_column()  # the line after merchant-funded discounts
    commission: Decimal = amount_column()
    paid: Decimal = amount_column()  # what the user paid for it
    subsidy: Decimal = amount_column()  # platform-funded discounts (补差)
    channel: Decimal = amount_column()  # channel-funded discounts
    refunded_units: int = 0
    refunded_base: Decimal = amount_column(default=Decimal(0))
    refunded_commission: Decimal = amount_column(default=Decimal(0))
    refunded_subsidy: Decimal = amount_column(default=Decimal(0))
    refunded_paid: Decimal = amount_column(default=Decimal(0))
    refunded_channel: Decimal = amount_column(default=Decimal(0))
    status: str = Field(max_length=10)
    paid_at: datetime = time_column(nullable=False)
    completed_at: datetime | None = time_column()
    due_at: datetime | None = time_column()
    statement: str | None = Field(default=None, max_length=NAME_LENGTH)


class SettlementEntry(SQLModel, table=True):
    """One line of a statement. `net` is its effect on the merchant's available balance;
    `transfer` the ledger transfer a withdrawal or adjustment entry was taken from."""

    __tablename__ = "settlement_entry"
    __table_args__ = (Index("ix_settlement_entry_shop", "shop", "statement"),
                      UniqueConstraint("transfer", name="uq_settlement_entry_transfer"))

    id: str = Field(primary_key=True, max_length=NAME_LENGTH)
    shop: str = Field(max_length=NAME_LENGTH)
    kind: str = Field(max_length=20)
    order_id: str | None = Field(default=None, max_length=NAME_LENGTH)
    line_id: str | None = Field(default=None, max_length=NAME_LENGTH)
    sku: str | None = Field(default=None, max_length=NAME_LENGTH)
    units: int = 0
    base: Decimal = amount_column(default=Decimal(0))
    commission: Decimal = amount_column(default=Decimal(0))
    subsidy: Decimal = amount_column(default=Decimal(0))
    net: Decimal = amount_column(default=Decimal(0))
    currency: str = Field(max_length=3)
    transfer: str | None = Field(default=None, max_length=NAME_LENGTH)
    note: str = Field(default="", max_length=NAME_LENGTH)  # the ledger kind of a withdrawal or adjustment
    statement: str | None = Field(default=None, max_length=NAME_LENGTH)
    at: datetime = time_column(nullable=False)


class SettlementStatement(SQLModel, table=True):
    """A shop's statement for one cycle (a day, Beijing time):
    opening + goods - commission + refunds + deposit + withdrawals + adjustments = closing."""

    __tablename__ = "settlement_statement"
    __table_args__ = (Index("ix_settlement_statement_shop", "shop", "cycle"),)

    id: str = Field(primary_key=True, max_length=NAME_LENGTH)  # SHOP:CYCLE
    shop: str = Field(max_length=NAME_LENGTH)
    cycle: str = Field(max_length=20)
    currency: str = Field(max_length=3)
    opening: Decimal = amount_column()
    goods: Decimal = amount_column()
    commission: Decimal = amount_column()
    subsidy: Decimal = amount_column()
    refunds: Decimal = amount_column()
    deposit: Decimal = amount_column()
    withdrawals: Decimal = amount_column()
    adjustments: Decimal = amount_column()
    closing: Decimal = amount_column()
    created_at: datetime = time_column(nullable=False)


class SettlementWithdrawal(SQLModel, table=True):
    """A withdrawal asked for by its key: instructed (the institution not answered yet),
    paid or refused."""

    __tablename__ = "settlement_withdrawal"
    __table_args__ = (CheckConstraint("amount > 0", name="ck_settlement_withdrawal_amount"),
                      Index("ix_settlement_withdrawal_shop", "shop"))

    key: str = Field(primary_key=True, max_length=NAME_LENGTH)
    shop: str = Field(max_length=NAME_LENGTH)
    amount: Decimal = amount_column()
    currency: str = Field(max_length=3)
    status: str = Field(max_length=10)  # instructed | paid | refused
    reference: str | None = Field(default=None, max_length=NAME_LENGTH)
    reason: str | None = Field(default=None, max_length=NAME_LENGTH)
    at: datetime = time_column(nullable=False)


class SettlementCursor(SQLModel, table=True):
    """How far settlement has read the event stream: every event up to `after` is applied."""

    __tablename__ = "settlement_cursor"

    name: str = Field(primary_key=True, max_length=NAME_LENGTH)
    after: int = 0


class SettlementEvent(SQLModel, table=True):
    """An event applied, kept while it is within the window read again behind the cursor
    (an event id can commit after a later one: it is applied then, once)."""

    __tablename__ = "settlement_event"

    event_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: str = Field(max_length=100)


def table(model: type[SQLModel]) -> Table:
    found: Table = getattr(model, "__table__")  # noqa: B009 - typed as a Table here
    return found


SHOPS = table(SettlementShop)
RATES = table(SettlementRate)
LINES = table(SettlementLine)
ENTRIES = table(SettlementEntry)
STATEMENTS = table(SettlementStatement)
WITHDRAWALS = table(SettlementWithdrawal)
CURSORS = table(SettlementCursor)
APPLIED = table(SettlementEvent)
