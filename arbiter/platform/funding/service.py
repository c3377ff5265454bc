"""The funding module's entry points, gathered for the modules that call them.

    funders.define_funder                    资方: add a funder or change its terms
    routing.finance                          资产路由: finance an order after payment or shipment
    repayment.repay / payoff_quote           还款: full, partial, early payoff
    bills.bills_of / assess_overdue          账单 and the daily overdue penalty
    refunds.refund_financed_order / refund_of      售后: close the bills, overpayment, repurchase
    disposal.send_to_collections / package_assets / sell_package      资产处置
"""

from __future__ import annotations

from arbiter.platform.funding.bills import PENALTY_RATE, Bill, assess_overdue, bills_of, user_bills
from arbiter.platform.funding.disposal import (
    Package,
    package,
    package_assets,
    sell_package,
    send_to_collections,
)
from arbiter.platform.funding.funders import Funder, define_funder, funder, funders
from arbiter.platform.funding.refunds import Refund, refund_financed_order, refund_of
from arbiter.platform.funding.repayment import Repayment, payoff_quote, repay
from arbiter.platform.funding.routing import Asset, Financing, FundingPolicy, asset_of, finance

__all__ = [
    "PENALTY_RATE", "Asset", "Bill", "Financing", "Funder", "FundingPolicy", "Package", "Refund", "Repayment",
    "asset_of", "assess_overdue", "bills_of", "define_funder", "finance", "funder", "funders", "package",
    "package_assets", "payoff_quote", "refund_financed_order", "refund_of", "repay", "sell_package", "send_to_collections",
    "user_bills",
]
