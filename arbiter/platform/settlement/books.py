"""The transfers settlement posts to the ledger (总账), one builder per movement. `a <- b`
debits a and credits b; amounts of zero are left out (a transfer moves more than nothing).

    the user pays (not on credit)  clearing <- user_funds_in_transit          (paid)
    the channel funds a discount   clearing <- user_funds_in_transit          (channel)
    the order completes, per line  user_funds_in_transit -> merchant pending  (paid + channel)
                                   subsidy_expense -> merchant pending        (补差, platform-funded)
                                   merchant pending -> commission_revenue     (commission)
    its cycle comes                merchant pending -> merchant available     (base - commission)
    a refund, per line             the completion's legs reversed for the refunded part, from
                                   pending (not settled yet) or available (settled: a claw-back
                                   that may take available below zero), then
                                   user_funds_in_transit -> clearing          (back to the user,
                                                                               and the channel)
    the deposit makes good         merchant deposit -> merchant available
    a withdrawal                   merchant available -> merchant withdrawn, then, once the
                                   clearing institution pays, merchant withdrawn -> clearing

`platform:clearing` is the platform's account at the licensed clearing institution: money
paid in and out moves there, never through an account of the platform's own.
"""

from __future__ import annotations

from decimal import Decimal

from arbiter.money import Money
from arbiter.platform.ledger import accounts as acc
from arbiter.platform.ledger.service import Transfer


def _t(id: str, debit: str, credit: str, amount: Decimal, currency: str, kind: str, ref: str) -> list[Transfer]:
    return [Transfer(id, debit, credit, Money(amount, currency), kind, ref)] if amount > 0 else []


def paid_in(order_id: str, paid: Decimal, channel: Decimal, currency: str, *, credit: bool) -> list[Transfer]:
    """The order's money arrives at the clearing account; on credit the credit books record
    the user's side (credit.paid), so only the channel's part is ours to post."""
    user = [] if credit else _t(f"stl:{order_id}:paid", acc.CLEARING, acc.USER_FUNDS_IN_TRANSIT, paid, currency,
                                "settlement.paid", order_id)
    return user + _t(f"stl:{order_id}:channel", acc.CLEARING, acc.USER_FUNDS_IN_TRANSIT, channel, currency,
                     "settlement.channel", order_id)


def completed(line_key: str, order_id: str, shop: str, money: Decimal, subsidy: Decimal, commission: Decimal,
              currency: str) -> list[Transfer]:
    """A completed line's money into the merchant's pending account, net of commission."""
    pending = acc.merchant_account(shop, acc.PENDING)
    return (_t(f"stl:{line_key}:goods", acc.USER_FUNDS_IN_TRANSIT, pending, money, currency, "settlement.goods",
               order_id)
            + _t(f"stl:{line_key}:subsidy", acc.SUBSIDY_EXPENSE, pending, subsidy, currency, "settlement.subsidy",
                 order_id)
            + _t(f"stl:{line_key}:commission", pending, acc.COMMISSION_REVENUE, commission, currency,
                 "settlement.commission", order_id))


def due(line_key: str, order_id: str, shop: str, amount: Decimal, currency: str) -> list[Transfer]:
    return _t(f"stl:{line_key}:due", acc.merchant_account(shop, acc.PENDING), acc.merchant_account(shop, acc.AVAILABLE),
              amount, currency, "settlement.due", order_id)


def refunded(refund_key: str, order_id: str, shop: str, kind: str | None, money: Decimal, subsidy: Decimal,
             commission: Decimal, paid_back: Decimal, currency: str) -> list[Transfer]:
    """A line's refund: `kind` is the merchant account it comes back from (pending or
    available), None when the line was never completed (nothing reached the merchant);
    `paid_back` (the user's money, and the channel's share back to the channel) leaves through the
    clearing account."""
    out: list[Transfer] = []
    if kind is not None:
        merchant = acc.merchant_account(shop, kind)
        out += (_t(f"stl:{refund_key}:goods", merchant, acc.USER_FUNDS_IN_TRANSIT, money, currency,
                   "settlement.refund.goods", order_id)
                + _t(f"stl:{refund_key}:subsidy", merchant, acc.SUBSIDY_EXPENSE, subsidy, currency,
                     "settlement.refund.subsidy", order_id)
                + _t(f"stl:{refund_key}:commission", acc.COMMISSION_REVENUE, merchant, commission, currency,
                     "settlement.refund.commission", order_id))
    return out + _t(f"stl:{refund_key}:out", acc.USER_FUNDS_IN_TRANSIT, acc.CLEARING, paid_back, currency,
                    "settlement.refund.out", order_id)


def from_deposit(statement_id: str, shop: str, amount: Decimal, currency: str) -> list[Transfer]:
    return _t(f"stl:{statement_id}:deposit", acc.merchant_account(shop, acc.DEPOSIT),
              acc.merchant_account(shop, acc.AVAILABLE), amount, currency, "settlement.deposit", statement_id)


def withdrawal(key: str, shop: str, amount: Decimal, currency: str) -> list[Transfer]:
    return _t(f"wd:{key}:asked", acc.merchant_account(shop, acc.AVAILABLE), acc.merchant_account(shop, acc.WITHDRAWN),
              amount, currency, "settlement.withdrawal", key)


def withdrawal_paid(key: str, shop: str, amount: Decimal, currency: str) -> list[Transfer]:
    return _t(f"wd:{key}:paid", acc.merchant_account(shop, acc.WITHDRAWN), acc.CLEARING, amount, currency,
              "settlement.withdrawal.paid", key)


def withdrawal_refused(key: str, shop: str, amount: Decimal, currency: str) -> list[Transfer]:
    return _t(f"wd:{key}:refused", acc.merchant_account(shop, acc.WITHDRAWN), acc.merchant_account(shop, acc.AVAILABLE),
              amount, currency, "settlement.withdrawal.refused", key)
