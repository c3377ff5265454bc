"""Shared steps of the settlement tests: a settled shop, and a line with its allocations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.settlement import service as settlement

NOW = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def shop(uow: UnitOfWork, name: str = "S1", *, cycle_days: int = 7, policy: str = "net_next_cycle") -> None:
    settlement.configure_shop(uow, name, cycle_days=cycle_days, policy=policy, now=NOW)
    uow.commit()


def allocation(promotion: str, **funding: str) -> dict[str, Any]:
    total = sum((Decimal(v) for v in funding.values()), Decimal(0))
    return {"promotion": promotion, "amount": str(total), "funding": funding}


def refund_promotions(*allocations: dict[str, Any]) -> dict[str, Any]:
    return {a["promotion"]: {"amount": a["amount"], "funding": a["funding"]} for a in allocations}


def deposit(uow: UnitOfWork, shop_name: str, amount: str) -> None:
    """The deposit paid in, posted as the merchants module posts it."""
    posted = ledger.post(uow, [ledger.Transfer(
        f"deposit:{shop_name}:paid", accounts.CLEARING, accounts.merchant_account(shop_name, accounts.DEPOSIT),
        Money.of(amount), "merchant.deposit", shop_name)], NOW)
    assert posted.ok
    uow.commit()


def line(line_id: str, paid: str, *allocations: dict[str, Any], quantity: int = 1, sku: str | None = None,
         category: str = "tops") -> settlement.PaidLine:
    return settlement.PaidLine(line_id, sku or f"SKU-{line_id}", category, quantity, Decimal(paid), allocations)


def paid(uow: UnitOfWork, order_id: str, *lines: settlement.PaidLine, shop_name: str = "S1") -> None:
    assert settlement.record_paid(uow, settlement.PaidOrder(order_id, shop_name, "CNY", lines), NOW)
    uow.commit()
