"""Installment schedules (分期还款计划) and their APR (年化利率): pure Decimal arithmetic.

Three methods, each giving one `Period` per term whose principals sum exactly to the principal
and whose fees sum exactly to the schedule's fee:

- `shop` (分期手续费, the shop-installment method): the fee is fixed up front as principal ×
  term rate, rounded half up to the cent. Each period repays principal / term and fee / term,
  each floored to the cent; the cents left over by the flooring go to period 1.
  3000.00 over 3 at 2.3%: fee 69.00, each period 1000.00 + 23.00 = 1023.00.
- `equal_installment` (等额本息): a loan at a monthly rate r, the same payment every period,
  A = P·r·(1+r)^n / ((1+r)^n − 1) rounded half up to the cent. Each period's interest is the
  remaining principal × r, rounded half up; the rest of A repays principal; the last period
  repays whatever principal remains (its payment absorbs the rounding).
- `equal_principal` (等额本金): the same principal every period (floored to the cent, the
  leftover cents in period 1) and interest on the remaining principal, rounded half up.

With a rate of 0 every method splits the principal like the shop method and charges no fee.

The APR is the nominal annual rate of the schedule's cash flows, as Chinese regulators ask it
to be shown: 12 × the monthly internal rate of return i that solves
P = Σ total_k / (1 + i)^k (the user receives P now and pays total_k at the end of month k).
i is found by bisection in 40-digit Decimal arithmetic until the bracket is narrower than
10^-15, then 12 × i is rounded half up to six decimal places (0.0001%). No float is used.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Final

from arbiter.errors import InvalidInput
from arbiter.money import CENT, Money

SHOP: Final = "shop"
EQUAL_INSTALLMENT: Final = "equal_installment"
EQUAL_PRINCIPAL: Final = "equal_principal"
METHODS: Final = (SHOP, EQUAL_INSTALLMENT, EQUAL_PRINCIPAL)

MAX_TERM: Final = 360
APR_PLACES: Final = Decimal("0.000001")
_PRECISION: Final = 40
_TOLERANCE: Final = Decimal("1e-15")
_ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class Period:
    """One period (期) of a schedule: what it repays of the principal and what it charges."""

    number: int
    principal: Money
    fee: Money

    @property
    def total(self) -> Money:
        return self.principal + self.fee

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "principal": self.principal.to_json(), "fee": self.fee.to_json(),
                "total": self.total.to_json()}


@dataclass(frozen=True, slots=True)
class Schedule:
    """A repayment plan. `rate` is the term rate (期费率) for the shop method and the monthly
    rate (月利率) for the loan methods; `apr` is a fraction (0.137283 is 13.7283%)."""

    method: str
    principal: Money
    term: int
    rate: Decimal
    periods: tuple[Period, ...]
    apr: Decimal

    @property
    def fee(self) -> Money:
        return _sum([p.fee for p in self.periods], self.principal.currency)

    @property
    def total(self) -> Money:
        return self.principal + self.fee

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method, "principal": self.principal.to_json(), "term": self.term,
            "rate": str(self.rate), "fee": self.fee.to_json(), "total": self.total.to_json(),
            "apr": str(self.apr), "periods": [p.to_json() for p in self.periods],
        }


def schedule(method: str, principal: Money, term: int, rate: Decimal) -> Schedule:
    """The schedule of `method` (one of METHODS) for `principal` over `term` periods."""
    if method == SHOP:
        return shop_schedule(principal, term, rate)
    if method == EQUAL_INSTALLMENT:
        return equal_installment(principal, term, rate)
    if method == EQUAL_PRINCIPAL:
        return equal_principal(principal, term, rate)
    raise InvalidInput(f"method: {method!r} is not one of {', '.join(METHODS)}")


def shop_schedule(principal: Money, term: int, term_rate: Decimal) -> Schedule:
    """The shop-installment schedule: fee = principal × term_rate, half up to the cent."""
    _check(principal, term, term_rate, "term rate")
    fee = (principal.amount * term_rate).quantize(CENT, rounding=ROUND_HALF_UP)
    principals = _split(principal.amount, term)
    fees = _split(fee, term)
    return _build(SHOP, principal, term, term_rate, principals, fees)


def equal_installment(principal: Money, term: int, monthly_rate: Decimal) -> Schedule:
    """等额本息: the same payment every period at `monthly_rate` on the remaining principal."""
    _check(principal, term, monthly_rate, "monthly rate")
    if monthly_rate == 0:
        return _build(EQUAL_INSTALLMENT, principal, term, monthly_rate, _split(principal.amount, term), [_ZERO] * term)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        growth = (1 + monthly_rate) ** term
        payment = (principal.amount * monthly_rate * growth / (growth - 1)).quantize(CENT, rounding=ROUND_HALF_UP)
    remaining = principal.amount
    principals: list[Decimal] = []
    fees: list[Decimal] = []
    for number in range(1, term + 1):
        interest = (remaining * monthly_rate).quantize(CENT, rounding=ROUND_HALF_UP)
        # the last period clears the principal; a rounded-down payment may repay nothing early
        repaid = remaining if number == term else min(max(payment - interest, _ZERO), remaining)
        principals.append(repaid)
        fees.append(interest)
        remaining -= repaid
    return _build(EQUAL_INSTALLMENT, principal, term, monthly_rate, principals, fees)


def equal_principal(principal: Money, term: int, monthly_rate: Decimal) -> Schedule:
    """等额本金: the same principal every period, interest on what remains."""
    _check(principal, term, monthly_rate, "monthly rate")
    principals = _split(principal.amount, term)
    remaining = principal.amount
    fees: list[Decimal] = []
    for repaid in principals:
        fees.append((remaining * monthly_rate).quantize(CENT, rounding=ROUND_HALF_UP))
        remaining -= repaid
    return _build(EQUAL_PRINCIPAL, principal, term, monthly_rate, principals, fees)


def apr(principal: Money, totals: list[Money] | tuple[Money, ...]) -> Decimal:
    """12 × the monthly IRR of receiving `principal` now and paying `totals[k-1]` at the end
    of month k, rounded half up to six places. 0 when nothing is paid beyond the principal."""
    flows = [t.amount for t in totals]
    if not flows or principal.amount <= 0:
        raise InvalidInput("apr: needs a positive principal and at least one payment")
    if any(f < 0 for f in flows):
        raise InvalidInput("apr: payments may not be negative")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        paid = sum(flows, _ZERO)
        if paid <= principal.amount:
            if paid < principal.amount:
                raise InvalidInput("apr: the payments repay less than the principal")
            return _ZERO.quantize(APR_PLACES)
        low, high = _ZERO, Decimal(1)
        while _present_value(flows, high) > principal.amount:
            low, high = high, high * 2
        while high - low > _TOLERANCE:
            middle = (low + high) / 2
            if _present_value(flows, middle) > principal.amount:
                low = middle
            else:
                high = middle
        monthly = (low + high) / 2
        return (12 * monthly).quantize(APR_PLACES, rounding=ROUND_HALF_UP)


def due_dates(start: date, term: int, *, day: int | None = None) -> tuple[date, ...]:
    """The due date of each period: k months after `start`, on `day` of the month (the day
    of `start` when absent), or the month's last day when it is shorter."""
    if not 1 <= term <= MAX_TERM:
        raise InvalidInput(f"term: {term} must be between 1 and {MAX_TERM}")
    wanted = start.day if day is None else day
    if not 1 <= wanted <= 31:
        raise InvalidInput(f"day: {wanted} is not a day of the month")
    dates = []
    for k in range(1, term + 1):
        month_index = start.month - 1 + k
        year, month = start.year + month_index // 12, month_index % 12 + 1
        dates.append(date(year, month, min(wanted, calendar.monthrange(year, month)[1])))
    return tuple(dates)


# ------------------------------------------------------------------------------ helpers


def _present_value(flows: list[Decimal], monthly: Decimal) -> Decimal:
    """Σ flows[k-1] / (1 + monthly)^k, by Horner's rule."""
    discount = 1 / (1 + monthly)
    value = _ZERO
    for flow in reversed(flows):
        value = (value + flow) * discount
    return value


def _split(amount: Decimal, term: int) -> list[Decimal]:
    """`amount` in `term` parts floored to the cent, the leftover cents in the first."""
    part = (amount / term).quantize(CENT, rounding=ROUND_DOWN)
    return [amount - part * (term - 1), *([part] * (term - 1))]


def _check(principal: Money, term: int, rate: Decimal, what: str) -> None:
    if not isinstance(principal, Money):
        raise InvalidInput(f"principal: expected Money, got {type(principal).__name__}")
    if principal.amount <= 0 or principal.amount != principal.amount.quantize(CENT):
        raise InvalidInput(f"principal: {principal} must be more than zero, in whole cents")
    if isinstance(term, bool) or not isinstance(term, int) or not 1 <= term <= MAX_TERM:
        raise InvalidInput(f"term: {term!r} must be a whole number between 1 and {MAX_TERM}")
    if not isinstance(rate, Decimal) or not rate.is_finite() or not 0 <= rate < 1:
        raise InvalidInput(f"{what}: {rate!r} must be a Decimal from 0 up to (not including) 1")
    if rate != 0 and -rate.as_tuple().exponent > 12:  # type: ignore[operator]
        raise InvalidInput(f"{what}: {rate} has more than 12 decimals")


def _build(method: str, principal: Money, term: int, rate: Decimal, principals: list[Decimal],
           fees: list[Decimal]) -> Schedule:
    currency = principal.currency
    periods = tuple(
        Period(number, Money(p.quantize(CENT), currency), Money(f.quantize(CENT), currency))
        for number, (p, f) in enumerate(zip(principals, fees, strict=True), start=1)
    )
    # the invariants every caller relies on: exact sums, nothing negative
    assert sum(principals, _ZERO) == principal.amount
    assert all(p >= 0 and f >= 0 for p, f in zip(principals, fees, strict=True))
    return Schedule(method, principal, term, rate, periods, apr(principal, [p.total for p in periods]))


def _sum(amounts: list[Money], currency: str) -> Money:
    total = Money.zero(currency)
    for amount in amounts:
        total = total + amount
    return total
