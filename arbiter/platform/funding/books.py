"""The transfers funding posts to the ledger (总账), one builder per movement.

The platform's books: `platform:clearing` is its money at the clearing institution; a
funder's capital account is what it has outstanding in our assets; the user's receivable is
what the user owes (principal, fees, penalties). Self-held funds work like a funder whose
money comes from `platform:self_held_funds` instead of arriving at the clearing account.

    financing by a funder F   F:receivable <- F:capital, then clearing <- F:receivable   (P)
    financing on self-held    self_held_funds <- S:capital                                (P)
    the user's fee            user:receivable <- fee_revenue                              (fee)
    an interest-free subsidy  merchant:SHOP:available | subsidy_expense -> fee_revenue    (fee)
    a repayment               clearing <- user:receivable (X); F:capital <- clearing (its principal)
    a penalty, a waived fee   user:receivable <-> fee_revenue
    a refund                  user_funds_in_transit -> user:receivable (unpaid principal) and
                              -> user:overpayment (repaid principal), fee_revenue -> both for
                              fees; the overpayment then leaves through clearing
    a repurchase              F:capital <- clearing (outstanding principal)

(`a <- b` debits a and credits b.)
"""

from __future__ import annotations

from arbiter.money import Money
from arbiter.platform.credit.books import CREDIT_LOSSES
from arbiter.platform.ledger import accounts as acc
from arbiter.platform.ledger.service import Transfer

__all__ = ["CREDIT_LOSSES", "disbursed", "fee", "overpayment", "penalty", "principal_back", "received",
           "subsidy", "waived"]


def disbursed(order_id: str, funder: str, self_held: bool, principal: Money) -> list[Transfer]:
    """The holder puts the principal in."""
    if self_held:
        return [Transfer(f"fund:{order_id}:self_held", acc.SELF_HELD_FUNDS, acc.funder_capital(funder), principal,
                         "funding.self_held", order_id)]
    return [
        Transfer(f"fund:{order_id}:commit", acc.funder_receivable(funder), acc.funder_capital(funder), principal,
                 "funding.commit", order_id),
        Transfer(f"fund:{order_id}:disbursed", acc.CLEARING, acc.funder_receivable(funder), principal,
                 "funding.disburse", order_id),
    ]


def fee(order_id: str, user_id: str, amount: Money) -> Transfer:
    return Transfer(f"fund:{order_id}:fee", acc.credit_receivable(user_id), acc.FEE_REVENUE, amount, "credit.fee",
                    order_id)


def subsidy_account(by: str | None, payer: str | None) -> str:
    """Who pays an interest-free fee: the merchant's shop (its available balance) or the platform."""
    if by == "merchant" and payer:
        return acc.merchant_account(payer, acc.AVAILABLE)
    return acc.SUBSIDY_EXPENSE


def subsidy(order_id: str, by: str | None, payer: str | None, amount: Money, *, undo: bool = False) -> Transfer:
    payer_account = subsidy_account(by, payer)
    if undo:
        return Transfer(f"refund:{order_id}:subsidy", acc.FEE_REVENUE, payer_account, amount,
                        "credit.fee.subsidy.reversal", order_id)
    return Transfer(f"fund:{order_id}:subsidy", payer_account, acc.FEE_REVENUE, amount, "credit.fee.subsidy",
                    order_id)


def received(tid: str, order_id: str, user_id: str, amount: Money, kind: str = "credit.repayment") -> Transfer:
    """Money from the user (or a buyer of the debt) lands at the clearing account against it."""
    return Transfer(tid, acc.CLEARING, acc.credit_receivable(user_id), amount, kind, order_id)


def principal_back(tid: str, order_id: str, funder: str, self_held: bool, amount: Money,
                   kind: str = "funding.principal_returned") -> Transfer:
    """Principal goes back to the asset's holder: paid out to a funder, or back to self-held funds."""
    source = acc.SELF_HELD_FUNDS if self_held else acc.CLEARING
    return Transfer(tid, acc.funder_capital(funder), source, amount, kind, order_id)


def penalty(bill_id: int, day: str, order_id: str, user_id: str, amount: Money) -> Transfer:
    return Transfer(f"penalty:{bill_id}:{day}", acc.credit_receivable(user_id), acc.FEE_REVENUE, amount,
                    "credit.penalty", order_id)


def waived(tid: str, order_id: str, user_id: str, amount: Money, kind: str = "credit.fee.waived") -> Transfer:
    """Fees (or penalties) the user no longer owes come off the receivable and the revenue."""
    return Transfer(tid, acc.FEE_REVENUE, acc.credit_receivable(user_id), amount, kind, order_id)


def overpayment(order_id: str, user_id: str, principal: Money, fees: Money) -> list[Transfer]:
    """What the user repaid of a refunded order becomes overpayment (溢缴款) and is paid back."""
    owed = acc.user_overpayment(user_id)
    return [
        Transfer(f"refund:{order_id}:over.principal", acc.USER_FUNDS_IN_TRANSIT, owed, principal,
                 "credit.overpayment", order_id),
        Transfer(f"refund:{order_id}:over.fee", acc.FEE_REVENUE, owed, fees, "credit.overpayment", order_id),
        Transfer(f"refund:{order_id}:over.returned", owed, acc.CLEARING, principal + fees,
                 "credit.overpayment.returned", order_id),
    ]
