"""Settlement's use cases in one place: the API other modules call (docs/settlement.md).

    terms     set_rate(uow, rate=, category= | sku=, now=)          commission (扣点), no commit
              configure_shop(uow, shop, cycle_days=, policy=, currency=, now=)   no commit
              find_shop / shop_terms / rate_for
    intake    consume(uow)                     the order and after-sales events; commits
              record_paid / record_completed / record_refund   the same facts directly, no commit
    cycles    preview(uow, shop, at)           pre-settlement (预结算); writes nothing
              settle(uow, shop, now, clearing) the day's cycle and its statement; commits
              statement(uow, id, shop=) / statements(uow, shop)
    money     balances(uow, shop)              pending, available, deposit, withdrawn
              withdraw(uow, shop, amount, key=, clearing=, now=)   commits
              withdrawals / paid_out / lines_of / waiting

Policies: NET_NEXT_CYCLE (a negative available balance waits for the next cycles' goods)
and FROM_DEPOSIT (the cycle takes it from the deposit, `merchant:SHOP:deposit`). The clearing
institution comes in as a `ClearingInstitution`; `SimulatedClearing` stands in for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.settlement.clearing import (
    ClearingInstitution,
    Instruction,
    InstructionResult,
    SimulatedClearing,
)
from arbiter.platform.settlement.cycles import (
    EntryView,
    Statement,
    cycle_of,
    preview,
    settle,
    statement,
    statements,
)
from arbiter.platform.settlement.intake import (
    PaidLine,
    PaidOrder,
    RefundedLine,
    SettlementRefused,
    lines_of,
    record_completed,
    record_paid,
    record_refund,
    waiting,
)
from arbiter.platform.settlement.models import FROM_DEPOSIT, NET_NEXT_CYCLE, POLICIES
from arbiter.platform.settlement.rates import (
    ShopTerms,
    configure_shop,
    find_shop,
    rate_for,
    set_rate,
    shop_terms,
)
from arbiter.platform.settlement.stream import consume, cursor
from arbiter.platform.settlement.withdrawals import (
    WithdrawalResult,
    paid_out,
    withdraw,
    withdrawals,
)

__all__ = [
    "FROM_DEPOSIT", "NET_NEXT_CYCLE", "POLICIES",
    "Balances", "ClearingInstitution", "EntryView", "Instruction", "InstructionResult", "PaidLine", "PaidOrder",
    "RefundedLine", "SettlementRefused", "ShopTerms", "SimulatedClearing", "Statement", "WithdrawalResult",
    "balances", "configure_shop", "consume", "cursor", "cycle_of", "find_shop", "lines_of", "paid_out", "preview",
    "rate_for", "record_completed", "record_paid", "record_refund", "set_rate", "settle", "shop_terms", "statement",
    "statements", "waiting", "withdraw", "withdrawals",
]


@dataclass(frozen=True)
class Balances:
    pending: Money  # completed orders' money in their cycle (待结算)
    available: Money  # withdrawable; negative after a claw-back (可提现)
    deposit: Money  # 保证金
    withdrawn: Money  # withdrawals the institution has not paid yet (提现中)


def balances(uow: UnitOfWork, shop: str) -> Balances:
    """The shop's four ledger balances; NotFound for a shop settlement does not know."""
    shop_terms(uow, shop)
    got = [ledger.balance(uow, accounts.merchant_account(shop, kind)) for kind in accounts.MERCHANT_KINDS]
    return Balances(*got)
