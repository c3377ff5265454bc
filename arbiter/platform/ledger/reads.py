"""Reading the ledger: an account and its balance, its entries in posting order, the transfers
about one ref, and the trial balance. Reads only; `service` exports these."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, or_, select

from arbiter.money import Money
from arbiter.platform.columns import tidy
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger.models import ACCOUNTS, TRANSFERS
from arbiter.platform.ledger.values import (
    Account,
    Entry,
    PostedTransfer,
    Transfer,
    TrialBalance,
    UnknownAccount,
    row_account,
    row_transfer,
)


def account(uow: UnitOfWork, code: str) -> Account | None:
    row = uow.session.execute(select(ACCOUNTS).where(ACCOUNTS.c.code == code)).first()
    return None if row is None else row_account(row)


def _known(uow: UnitOfWork, code: str) -> Account:
    found = account(uow, code)
    if found is None:
        raise UnknownAccount(f"no such ledger account: {code!r}")
    return found


def balance(uow: UnitOfWork, code: str) -> Money:
    """The balance on the account's normal side; an unknown account raises."""
    return _known(uow, code).balance


def transfer(uow: UnitOfWork, transfer_id: str) -> PostedTransfer | None:
    row = uow.session.execute(select(TRANSFERS).where(TRANSFERS.c.id == transfer_id)).first()
    return None if row is None else row_transfer(row)


def entries(uow: UnitOfWork, code: str) -> list[Entry]:
    """Every transfer touching the account, signed for it, in posting order."""
    held = _known(uow, code)
    query = (select(TRANSFERS).where(or_(TRANSFERS.c.debit_account == code, TRANSFERS.c.credit_account == code))
             .order_by(TRANSFERS.c.seq))
    found = []
    for row in uow.session.execute(query):
        posted = row_transfer(row)
        side = "debit" if posted.debit == code else "credit"
        amount = posted.amount if side == held.normal else -posted.amount
        other = posted.credit if side == "debit" else posted.debit
        found.append(Entry(posted.id, code, side, amount, other, posted.kind, posted.ref, posted.batch,
                           posted.posted_at))
    return found


def transfers_for(uow: UnitOfWork, ref: str) -> list[Transfer]:
    """The transfers about `ref` (an order id, a bill id), in posting order."""
    query = select(TRANSFERS).where(TRANSFERS.c.ref == ref).order_by(TRANSFERS.c.seq)
    return [row_transfer(row).transfer() for row in uow.session.execute(query)]


def trial_balance(uow: UnitOfWork) -> TrialBalance:
    """Total posted debits and credits per currency, and every account whose posted totals
    differ from the sums of its transfers."""
    totals = select(ACCOUNTS.c.currency, func.sum(ACCOUNTS.c.debits_posted), func.sum(ACCOUNTS.c.credits_posted)
                    ).group_by(ACCOUNTS.c.currency).order_by(ACCOUNTS.c.currency)
    debits: dict[str, Money] = {}
    credits: dict[str, Money] = {}
    for currency, debited, credited in uow.session.execute(totals):
        debits[currency] = Money(tidy(Decimal(debited or 0)), currency)
        credits[currency] = Money(tidy(Decimal(credited or 0)), currency)
    by_debit = (select(TRANSFERS.c.debit_account.label("code"), func.sum(TRANSFERS.c.amount).label("total"))
                .group_by(TRANSFERS.c.debit_account).subquery())
    by_credit = (select(TRANSFERS.c.credit_account.label("code"), func.sum(TRANSFERS.c.amount).label("total"))
                 .group_by(TRANSFERS.c.credit_account).subquery())
    zero = Decimal(0)
    mismatched = tuple(uow.session.execute(
        select(ACCOUNTS.c.code)
        .outerjoin(by_debit, by_debit.c.code == ACCOUNTS.c.code)
        .outerjoin(by_credit, by_credit.c.code == ACCOUNTS.c.code)
        .where(or_(ACCOUNTS.c.debits_posted != func.coalesce(by_debit.c.total, zero),
                   ACCOUNTS.c.credits_posted != func.coalesce(by_credit.c.total, zero)))
        .order_by(ACCOUNTS.c.code)).scalars())
    balanced = not mismatched and all(debits[c] == credits[c] for c in debits)
    return TrialBalance(debits, credits, balanced, mismatched)
