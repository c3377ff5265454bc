"""Allocation (分摊): spreading an amount over parts so that the shares sum exactly.

One rule everywhere — over order lines, over the units of a line, over the funders of a
discount: each part's exact share is proportional to its weight; shares are floored to the
cent and the cents left over go one by one to the largest fractional remainders, ties to the
earlier part. Shares therefore always sum to the amount, to the cent, and refunding one of
three identical units refunds exactly a third (the leftover cent going to the first unit).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from arbiter.money import CENT


def allocate(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """`amount` (a whole number of cents, >= 0) in proportion to non-negative `weights`."""
    if amount < 0:
        raise ValueError("cannot allocate a negative amount")
    if amount != amount.quantize(CENT):
        raise ValueError(f"{amount} is not a whole number of cents")
    total = sum(weights, Decimal(0))
    if amount == 0 or not weights:
        return [Decimal("0.00")] * len(weights)
    if total <= 0:
        raise ValueError("cannot allocate over parts that all weigh nothing")
    exact = [amount * w / total for w in weights]
    floors = [e.quantize(CENT, rounding=ROUND_FLOOR) for e in exact]
    left = int((amount - sum(floors, Decimal(0))) / CENT)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += CENT
    return floors


def split_units(amount: Decimal, quantity: int) -> list[Decimal]:
    """A line's share over its identical units."""
    return allocate(amount, [Decimal(1)] * quantity)
