"""The settlement arithmetic, pure (no I/O): a line's commission base, commission and what
the merchant is due, and the commission given back on a refund.

    base       = line amount - merchant-funded discounts
               = what the user paid + platform-funded + channel-funded discounts
    commission = base x rate, rounded to the cent (ROUND_HALF_UP)
    due        = base - commission     (the platform-funded part of it is 补差)

Platform-funded discounts are paid back to the merchant (补差) and so do not shrink the base;
channel-funded ones are paid by the payment channel and do not either. A refund gives the
commission back pro rata on the base refunded: after refunds of base r in total the
commission kept is commission - round(commission x r / base), and refunding the whole line
gives all of it back, so the pieces always add up to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from arbiter.errors import InvalidInput
from arbiter.money import CENT, to_decimal

PLATFORM, MERCHANT, CHANNEL = "platform", "merchant", "channel"
FUNDERS = (PLATFORM, MERCHANT, CHANNEL)
ZERO = Decimal(0)


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineTerms:
    base: Decimal
    commission: Decimal
    paid: Decimal
    subsidy: Decimal  # platform-funded
    channel: Decimal  # channel-funded

    @property
    def due(self) -> Decimal:
        return self.base - self.commission


def funding_totals(allocations: Iterable[Mapping[str, Any]], where: str = "allocations") -> dict[str, Decimal]:
    """Each funder's share summed over a line's allocations (or a refund's promotions)."""
    totals = {funder: ZERO for funder in FUNDERS}
    for index, allocation in enumerate(allocations):
        if not isinstance(allocation, Mapping) or not isinstance(allocation.get("funding", {}), Mapping):
            raise InvalidInput(f"{where}[{index}]: expected {{promotion, amount, funding: {{funder: amount}}}}")
        for funder, amount in dict(allocation.get("funding", {})).items():
            if funder not in totals:
                raise InvalidInput(f"{where}[{index}]: funder {funder!r} is not one of {', '.join(FUNDERS)}")
            share = to_decimal(amount, what=f"{where}[{index}].funding.{funder}")
            if share < 0 or share != share.quantize(CENT):
                raise InvalidInput(f"{where}[{index}].funding.{funder}: {amount} is not whole cents, zero or more")
            totals[funder] += share
    return totals


def line_terms(paid: Decimal, funding: Mapping[str, Decimal], rate: Decimal) -> LineTerms:
    """The terms of a line the user paid `paid` for, with `funding` by funder."""
    if not ZERO <= rate < 1:
        raise InvalidInput(f"rate: {rate} must be at least 0 and below 1")
    subsidy, channel = funding.get(PLATFORM, ZERO), funding.get(CHANNEL, ZERO)
    if paid < 0 or subsidy < 0 or channel < 0:
        raise InvalidInput(f"line: paid {paid}, platform {subsidy}, channel {channel} may not be negative")
    base = paid + subsidy + channel
    return LineTerms(base, cents(base * rate), paid, subsidy, channel)


def commission_back(commission: Decimal, base: Decimal, refunded_before: Decimal, refunded_now: Decimal,
                    commission_back_before: Decimal, *, whole: bool = False) -> Decimal:
    """The commission given back for refunding `refunded_now` of the base after
    `refunded_before` was refunded (with `commission_back_before` given back then); `whole`
    when the refund takes the line's last units."""
    refunded = refunded_before + refunded_now
    if refunded > base:
        raise InvalidInput(f"refund: {refunded} of a base of {base} is more than the line")
    whole = whole or refunded == base
    kept_back = commission if whole else cents(commission * refunded / base) if base else ZERO
    return kept_back - commission_back_before
