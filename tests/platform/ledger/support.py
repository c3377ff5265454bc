"""Helpers for the ledger's tests: a time, amounts in CNY, and a small chart of accounts."""

from __future__ import annotations

from datetime import UTC, datetime

from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import service as ledger
from arbiter.platform.ledger.accounts import (
    CLEARING,
    COMMISSION_REVENUE,
    USER_FUNDS_IN_TRANSIT,
    merchant_account,
    open_standard,
)

AT = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)
PENDING = merchant_account("S1", "pending")
AVAILABLE = merchant_account("S1", "available")
DEPOSIT = merchant_account("S1", "deposit")
WITHDRAWN = merchant_account("S1", "withdrawn")
CHART = (CLEARING, USER_FUNDS_IN_TRANSIT, COMMISSION_REVENUE, PENDING, AVAILABLE, DEPOSIT, WITHDRAWN)


def cny(amount: str) -> Money:
    return Money.of(amount)


def open_chart(uow: UnitOfWork) -> None:
    for code in CHART:
        open_standard(uow, code, now=AT)


def t(id: str, debit: str, credit: str, amount: str, kind: str = "test.move", ref: str = "") -> ledger.Transfer:
    return ledger.Transfer(id, debit, credit, cny(amount), kind, ref)


def balances(uow: UnitOfWork, *codes: str) -> list[str]:
    return [str(ledger.balance(uow, code).amount) for code in codes]
