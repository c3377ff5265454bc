"""The credit module's postings to the ledger (总账), and the helpers funding shares.

A credit payment is a payment like any other for the order: at approval the user's debt is
recorded and the order's money is owed onward to the merchant,

    debit user:U:credit_receivable / credit platform:user_funds_in_transit   (credit.paid)

and a payment undone before financing (the order closed or refunded) reverses it. Financing,
fees, repayments, refunds and repurchases are posted by `arbiter.platform.funding`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from arbiter.errors import ArbiterError
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.ledger.service import Posting, Transfer

# Accounts outside the ledger's catalogue that credit needs, with their terms.
CREDIT_LOSSES = "platform:credit_losses"  # principal written off when an asset sells below it (expense)
EXTRA = {CREDIT_LOSSES: (ledger.DEBIT, False, "Credit losses (坏账损失)")}


class LedgerRefused(ArbiterError):
    """A posting the credit flow needs was refused by an account's floor: the money it
    expected has moved on (for example, the order's money settled to the merchant before a
    refund). Nothing was changed."""

    code = "credit.ledger.refused"


def open_accounts(uow: UnitOfWork, codes: Iterable[str], currency: str, now: datetime) -> None:
    """Open each account (idempotent): catalogue accounts with their terms, EXTRA ones with theirs."""
    for code in sorted(set(codes)):
        if code in EXTRA:
            normal, floor, name = EXTRA[code]
            ledger.open_account(uow, code, normal=normal, currency=currency, floor=floor, name=name, now=now)
        else:
            accounts.open_standard(uow, code, currency=currency, now=now)


def post(uow: UnitOfWork, transfers: Sequence[Transfer], now: datetime, *, batch: str) -> Posting:
    """Open the accounts the transfers touch and post them as one batch; a floor refusal
    raises LedgerRefused (the caller's transaction is then rolled back)."""
    moving = [t for t in transfers if t.amount.amount > 0]
    if not moving:
        return Posting(True, None, False, ())
    open_accounts(uow, [c for t in moving for c in (t.debit, t.credit)], moving[0].amount.currency, now)
    posting = ledger.post(uow, moving, now, batch=batch)
    if not posting.ok:
        raise LedgerRefused(f"ledger refused {batch}: {posting.reason}")
    return posting


def paid(order_id: str, user_id: str, principal: Money) -> Transfer:
    return Transfer(f"credit:{order_id}:paid", accounts.credit_receivable(user_id), accounts.USER_FUNDS_IN_TRANSIT,
                    principal, "credit.paid", order_id)


def unpaid(order_id: str, user_id: str, principal: Money) -> Transfer:
    """The payment undone before financing: the opposite of `paid`."""
    return Transfer(f"credit:{order_id}:paid.undone", accounts.USER_FUNDS_IN_TRANSIT,
                    accounts.credit_receivable(user_id), principal, "credit.paid.undone", order_id)
