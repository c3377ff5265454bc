"""The ledger's tables: accounts with their posted totals, and the transfers between them.

The database guards the books as a second line behind the service: CHECK constraints keep
the posted totals non-negative, a floored account's balance on its normal side at zero or
more, and every transfer positive between two different accounts. A transfer's id is its
primary key (the caller's idempotency id); `seq` numbers transfers in posting order (an
identity on PostgreSQL; on SQLite, where writers are serialised, the service gives the next
number itself). `reverses` is unique, so a transfer can be reversed once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Column, Identity, Index, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import NAME_LENGTH, amount_column, time_column

CODE_LENGTH = NAME_LENGTH


class LedgerAccount(SQLModel, table=True):
    """One account. Balance = credits - debits on a credit-normal account, debits - credits on
    a debit-normal one; with `floor` set it may never go below zero."""

    __tablename__ = "ledger_account"
    __table_args__ = (
        CheckConstraint("normal in ('debit', 'credit')", name="ck_ledger_account_normal"),
        CheckConstraint("debits_posted >= 0 AND credits_posted >= 0", name="ck_ledger_account_posted"),
        CheckConstraint(
            "NOT floor OR (normal = 'credit' AND credits_posted >= debits_posted)"
            " OR (normal = 'debit' AND debits_posted >= credits_posted)",
            name="ck_ledger_account_floor",
        ),
        Index("ix_ledger_account_owner", "owner"),
    )

    code: str = Field(primary_key=True, max_length=CODE_LENGTH)
    name: str = Field(max_length=NAME_LENGTH)
    normal: str = Field(max_length=6)
    currency: str = Field(max_length=3)
    floor: bool = Field(default=False)
    owner: str | None = Field(default=None, max_length=NAME_LENGTH)
    debits_posted: Decimal = amount_column(default=Decimal(0))
    credits_posted: Decimal = amount_column(default=Decimal(0))
    created_at: datetime = time_column(nullable=False)


class LedgerTransfer(SQLModel, table=True):
    """One immutable movement of `amount` from the credit account to the debit account.
    Corrections are new transfers (a reversal names the transfer it `reverses`)."""

    __tablename__ = "ledger_transfer"
    __table_args__ = (
        UniqueConstraint("seq", name="uq_ledger_transfer_seq"),
        UniqueConstraint("reverses", name="uq_ledger_transfer_reverses"),
        CheckConstraint("amount > 0", name="ck_ledger_transfer_amount"),
        CheckConstraint("debit_account <> credit_account", name="ck_ledger_transfer_accounts"),
        Index("ix_ledger_transfer_debit", "debit_account", "seq"),
        Index("ix_ledger_transfer_credit", "credit_account", "seq"),
        Index("ix_ledger_transfer_ref", "ref"),
        Index("ix_ledger_transfer_batch", "batch"),
    )

    id: str = Field(primary_key=True, max_length=NAME_LENGTH)
    seq: int = Field(sa_column=Column(BigInteger, Identity(), nullable=False))
    debit_account: str = Field(max_length=CODE_LENGTH, foreign_key="ledger_account.code")
    credit_account: str = Field(max_length=CODE_LENGTH, foreign_key="ledger_account.code")
    amount: Decimal = amount_column()
    currency: str = Field(max_length=3)
    kind: str = Field(max_length=100)
    ref: str = Field(default="", max_length=NAME_LENGTH)
    batch: str | None = Field(default=None, max_length=NAME_LENGTH)
    reverses: str | None = Field(default=None, max_length=NAME_LENGTH)
    posted_at: datetime = time_column(nullable=False)


def table(model: type[SQLModel]) -> Table:
    found: Table = getattr(model, "__table__")  # noqa: B009 - typed as a Table here
    return found


ACCOUNTS = table(LedgerAccount)
TRANSFERS = table(LedgerTransfer)
