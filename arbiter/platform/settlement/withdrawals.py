"""Withdrawals (提现): a merchant takes money from its available balance only, and the
platform instructs the clearing institution to pay it out. Idempotent by key: a retry with
the same key and amount returns the first outcome (and finishes one interrupted between the
instruction and its answer); another amount under the same key is a conflict.

The balance is checked under the shop's settlement row lock (FOR UPDATE; the write lock on
SQLite), so two withdrawals cannot both spend the same money: the available balance is not
floored in the ledger (refunds may take it below zero), the check is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update

from arbiter.errors import Conflict, InvalidInput
from arbiter.money import CENT, Money
from arbiter.platform.columns import utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.ledger.values import check_name
from arbiter.platform.settlement import books
from arbiter.platform.settlement.clearing import WITHDRAW, ClearingInstitution, Instruction
from arbiter.platform.settlement.intake import lock_shop, post
from arbiter.platform.settlement.models import WITHDRAWALS
from arbiter.platform.settlement.rates import shop_terms

INSTRUCTED, PAID, REFUSED = "instructed", "paid", "refused"
INSUFFICIENT = "more than the available balance"


@dataclass(frozen=True)
class WithdrawalResult:
    key: str
    shop: str
    amount: Money
    status: str | None  # paid | refused (instructed while unanswered); None when nothing was asked
    reason: str | None = None
    reference: str | None = None
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.status == PAID


def _result(row: Any, replayed: bool) -> WithdrawalResult:
    return WithdrawalResult(row.key, row.shop, Money(row.amount, row.currency), row.status, row.reason,
                            row.reference, replayed)


def withdraw(uow: UnitOfWork, shop: str, amount: Money, *, key: str, clearing: ClearingInstitution,
             now: datetime) -> WithdrawalResult:
    """Withdraw `amount` of `shop`'s available balance to its bank account. More than the
    balance is refused as a value (nothing recorded: the same key may be used again later).
    Commits (twice: the ask before the instruction goes out, then its answer)."""
    check_name(key, "key")
    terms = shop_terms(uow, shop)
    if not isinstance(amount, Money) or amount.currency != terms.currency:
        raise InvalidInput(f"amount: expected Money in {terms.currency}")
    if amount.amount <= 0 or amount.amount != amount.amount.quantize(CENT):
        raise InvalidInput(f"amount: {amount} must be a positive amount in cents")
    lock_shop(uow, shop)
    row = uow.session.execute(select(WITHDRAWALS).where(WITHDRAWALS.c.key == key)).first()
    if row is not None:
        if row.shop != shop or Decimal(row.amount) != amount.amount:
            raise Conflict(f"withdrawal {key!r} was asked before for {row.amount} {row.currency} of shop {row.shop}",
                           code="settlement.withdrawal.conflict")
        if row.status != INSTRUCTED:
            uow.session.rollback()
            return _result(row, True)
    else:
        available = ledger.balance(uow, accounts.merchant_account(shop, accounts.AVAILABLE))
        if amount > available:
            uow.session.rollback()
            return WithdrawalResult(key, shop, amount, None, f"{amount} is {INSUFFICIENT} {available}")
        post(uow, books.withdrawal(key, shop, amount.amount, amount.currency), now, f"wd:{key}")
        uow.session.execute(insert(WITHDRAWALS).values(key=key, shop=shop, amount=amount.amount,
                                                       currency=amount.currency, status=INSTRUCTED, at=utc(now)))
        uow.commit()
    told = clearing.instruct(Instruction(f"withdraw:{key}", WITHDRAW, shop, amount))
    if told.accepted:
        post(uow, books.withdrawal_paid(key, shop, amount.amount, amount.currency), now, f"wd:{key}:paid")
        values = dict(status=PAID, reference=told.reference)
    else:
        post(uow, books.withdrawal_refused(key, shop, amount.amount, amount.currency), now, f"wd:{key}:refused")
        values = dict(status=REFUSED, reason=(told.reason or "refused")[:200])
    uow.session.execute(update(WITHDRAWALS).where(WITHDRAWALS.c.key == key, WITHDRAWALS.c.status == INSTRUCTED)
                        .values(**values))
    uow.commit()
    found = uow.session.execute(select(WITHDRAWALS).where(WITHDRAWALS.c.key == key)).first()
    return _result(found, row is not None)


def withdrawals(uow: UnitOfWork, shop: str) -> list[WithdrawalResult]:
    rows = uow.session.execute(select(WITHDRAWALS).where(WITHDRAWALS.c.shop == shop)
                               .order_by(WITHDRAWALS.c.at, WITHDRAWALS.c.key))
    return [_result(r, False) for r in rows]


def paid_out(uow: UnitOfWork, shop: str) -> Money:
    """What the shop has withdrawn and been paid (or is being paid)."""
    terms = shop_terms(uow, shop)
    total = sum((Decimal(r.amount) for r in uow.session.execute(select(WITHDRAWALS).where(
        WITHDRAWALS.c.shop == shop, WITHDRAWALS.c.status != REFUSED))), Decimal(0))
    return Money(total, terms.currency)
