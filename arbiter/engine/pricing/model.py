"""What the price trial takes and returns.

A cart is lines (SKU, shop, quantity, unit list price, line and goods tags) plus the context
the promotions' `when` conditions read. The result is the chosen combination, every line's
payable and allocations (each with its funding), the savings, gifts, the presale split and
what is due now, why each other promotion was not applied, and hints ("add 23.00 more for
..."). Amounts inside are Decimals in the cart's currency; `Money` appears at the boundary
(`to_json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from arbiter.money import Money

# The line tag saying a presale line's deposit (定金) was paid: its balance may be paid now.
DEPOSIT_PAID_TAG = "deposit_paid"


@dataclass(frozen=True, slots=True)
class CartLine:
    id: str
    sku: str
    shop: str
    quantity: int
    unit_price: Money
    tags: Mapping[str, Any] = field(default_factory=dict)  # line and goods tags (category, brand, ...)

    @property
    def deposit_paid(self) -> bool:
        """Whether this presale line's deposit was paid (the `deposit_paid` tag is true)."""
        return self.tags.get(DEPOSIT_PAID_TAG) is True


@dataclass(frozen=True, slots=True)
class Cart:
    lines: tuple[CartLine, ...]
    context: Mapping[str, Any] = field(default_factory=dict)  # user / order / payment / passthrough
    coupons: frozenset[str] = frozenset()  # coupon templates the user holds or may still claim
    now: datetime | None = None  # the engine's clock when absent
    user: str | None = None  # for per-user limits
    device: str | None = None  # for per-device limits


class BudgetView(Protocol):
    """Read-only view of budgets and limits: a trial consumes nothing."""

    def remaining(self, promotion: str) -> Decimal | None:
        """What is left of the promotion's budget, or None when it has none."""

    def uses_left(self, promotion: str, user: str | None) -> int | None:
        """How many more times this user may have the promotion, or None for no limit."""


class PromotionStatus(Protocol):
    """Which promotions are live and which goods were registered into them (商品提报)."""

    def active(self, promotion: str) -> bool: ...

    def registered(self, promotion: str) -> frozenset[str]:
        """The SKUs approved into a promotion that requires registration."""


class NoBudgets:
    def remaining(self, promotion: str) -> Decimal | None:
        return None

    def uses_left(self, promotion: str, user: str | None) -> int | None:
        return None


@dataclass(frozen=True, slots=True)
class Allocation:
    """The part of one promotion's discount that one line carries."""

    promotion: str
    amount: Decimal
    units: tuple[Decimal, ...]  # the same amount split over the line's units
    funding: tuple[tuple[str, Decimal], ...]  # (funder, amount), summing to `amount`


@dataclass(frozen=True, slots=True)
class PricedLine:
    id: str
    sku: str
    shop: str
    quantity: int
    list_total: Decimal
    payable: Decimal
    allocations: tuple[Allocation, ...]

    @property
    def unit_payables(self) -> tuple[Decimal, ...]:
        """What each unit costs after every discount, summing exactly to `payable`."""
        unit_list = self.list_total / self.quantity
        units = [unit_list] * self.quantity
        for allocation in self.allocations:
            units = [u - a for u, a in zip(units, allocation.units, strict=True)]
        return tuple(units)


@dataclass(frozen=True, slots=True)
class Applied:
    promotion: str
    display: str
    stage: str
    discount: Decimal
    threshold_base: str
    amount_base: str
    note: str  # what was reached: "4 items: 85%", "326.90 >= 300.00: -30.00", ...


@dataclass(frozen=True, slots=True)
class NotApplied:
    promotion: str
    display: str
    reason: str  # threshold not met, excluded by ..., budget exhausted, per-user limit, ...
    detail: str


@dataclass(frozen=True, slots=True)
class Hint:
    promotion: str
    missing: Decimal | int  # an amount to add, or a number of items
    text: str


@dataclass(frozen=True, slots=True)
class Gift:
    promotion: str
    sku: str
    value: Decimal
    funding: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True, slots=True)
class PresaleSplit:
    """A presale line's payable split into its deposit and its balance (尾款, after the
    deposit is counted at its inflated value). In the deposit phase the deposit is due now and
    the balance later; in the balance phase the deposit was paid and the balance is due now."""

    promotion: str
    line: str
    deposit: Decimal
    balance: Decimal
    phase: str = "deposit"  # deposit | balance

    @property
    def due_now(self) -> Decimal:
        return self.deposit if self.phase == "deposit" else self.balance


@dataclass(frozen=True)
class TrialResult:
    currency: str
    list_total: Decimal
    payable: Decimal
    savings: Decimal
    lines: tuple[PricedLine, ...]
    applied: tuple[Applied, ...]
    not_applied: tuple[NotApplied, ...]
    hints: tuple[Hint, ...]
    gifts: tuple[Gift, ...]
    presale: tuple[PresaleSplit, ...]
    combinations: int  # how many combinations the search evaluated

    def money(self, amount: Decimal) -> Money:
        return Money(amount, self.currency)

    @property
    def due_now(self) -> Decimal:
        """What the user pays now: the payable, less the balances of presale lines still in
        their deposit phase (paid later) and the deposits already paid in the balance phase."""
        later_or_before = sum((p.deposit + p.balance - p.due_now for p in self.presale), Decimal(0))
        return self.payable - later_or_before

    def to_json(self) -> dict[str, Any]:
        def m(value: Decimal) -> dict[str, str]:
            return self.money(value).to_json()

        return {
            "list_total": m(self.list_total),
            "payable": m(self.payable),
            "savings": m(self.savings),
            "lines": [
                {
                    "id": line.id,
                    "sku": line.sku,
                    "shop": line.shop,
                    "quantity": line.quantity,
                    "list_total": m(line.list_total),
                    "payable": m(line.payable),
                    "unit_payables": [str(u) for u in line.unit_payables],
                    "allocations": [
                        {
                            "promotion": a.promotion,
                            "amount": m(a.amount),
                            "units": [str(u) for u in a.units],
                            "funding": {funder: str(amount) for funder, amount in a.funding},
                        }
                        for a in line.allocations
                    ],
                }
                for line in self.lines
            ],
            "applied": [
                {"promotion": a.promotion, "display": a.display, "stage": a.stage, "discount": m(a.discount),
                 "threshold_base": a.threshold_base, "amount_base": a.amount_base, "note": a.note}
                for a in self.applied
            ],
            "not_applied": [
                {"promotion": x.promotion, "display": x.display, "reason": x.reason, "detail": x.detail}
                for x in self.not_applied
            ],
            "hints": [{"promotion": h.promotion, "text": h.text} for h in self.hints],
            "gifts": [
                {"promotion": g.promotion, "sku": g.sku, "value": m(g.value),
                 "funding": {funder: str(amount) for funder, amount in g.funding}}
                for g in self.gifts
            ],
            "presale": [
                {"promotion": p.promotion, "line": p.line, "phase": p.phase, "deposit": m(p.deposit),
                 "balance": m(p.balance), "due_now": m(p.due_now)}
                for p in self.presale
            ],
            "due_now": m(self.due_now),
            "combinations": self.combinations,
        }
