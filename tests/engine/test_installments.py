"""Installment schedules are exact to the cent: the worked examples, the three methods summing
exactly to principal + fee for random amounts, terms and rates, and the APR of each."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbiter.engine import installments as inst
from arbiter.errors import InvalidInput
from arbiter.money import Money


def cny(amount: str) -> Money:
    return Money.of(amount)


def figures(schedule: inst.Schedule) -> list[tuple[str, str, str]]:
    return [(str(p.principal.amount), str(p.fee.amount), str(p.total.amount)) for p in schedule.periods]


def test_worked_example_three_periods_at_2_3_percent() -> None:
    plan = inst.shop_schedule(cny("3000.00"), 3, Decimal("0.023"))
    assert plan.fee == cny("69.00")
    assert figures(plan) == [("1000.00", "23.00", "1023.00")] * 3
    assert plan.total == cny("3069.00")
    assert plan.apr == Decimal("0.137478")  # 13.7478% a year


def test_worked_example_twelve_periods_at_7_5_percent() -> None:
    plan = inst.shop_schedule(cny("3000.00"), 12, Decimal("0.075"))
    assert plan.fee == cny("225.00")
    assert figures(plan) == [("250.00", "18.75", "268.75")] * 12
    assert plan.apr == Decimal("0.135666")


def test_shop_leftover_cents_go_to_period_one() -> None:
    # 1000.00 × 2.3% = 23.00 of fee; 1000.00 / 3 = 333.33 and 23.00 / 3 = 7.66, floored
    plan = inst.shop_schedule(cny("1000.00"), 3, Decimal("0.023"))
    assert figures(plan) == [("333.34", "7.68", "341.02"), ("333.33", "7.66", "340.99"), ("333.33", "7.66", "340.99")]
    # the fee is rounded half up once: 99.99 × 2.5% = 2.49975 -> 2.50
    assert inst.shop_schedule(cny("99.99"), 3, Decimal("0.025")).fee == cny("2.50")


def test_equal_installment_pays_the_same_every_period_but_the_last() -> None:
    plan = inst.equal_installment(cny("10000.00"), 12, Decimal("0.005"))
    totals = [p.total.amount for p in plan.periods]
    assert totals[:11] == [Decimal("860.66")] * 11 and totals[11] == Decimal("860.70")
    assert plan.periods[0].fee == cny("50.00")  # 10000.00 × 0.5%
    assert plan.fee == cny("327.96")
    assert plan.apr == Decimal("0.059998")  # the rounded payment sits just below 6% a year


def test_equal_principal_charges_interest_on_what_remains() -> None:
    plan = inst.equal_principal(cny("10000.00"), 12, Decimal("0.005"))
    assert plan.periods[0].principal == cny("833.37") and plan.periods[1].principal == cny("833.33")
    assert [p.fee.amount for p in plan.periods[:3]] == [Decimal("50.00"), Decimal("45.83"), Decimal("41.67")]
    assert plan.fee == cny("325.00")
    assert plan.apr == Decimal("0.060000")


def test_interest_free_costs_nothing_and_has_no_apr() -> None:
    for method in inst.METHODS:
        plan = inst.schedule(method, cny("2999.00"), 3, Decimal(0))
        assert plan.fee == cny("0") and plan.apr == Decimal("0.000000")
        assert figures(plan) == [("999.68", "0.00", "999.68"), ("999.66", "0.00", "999.66"), ("999.66", "0.00", "999.66")]


def test_apr_of_a_single_period() -> None:
    # 1% for one month is 12% a year
    assert inst.apr(cny("100.00"), [cny("101.00")]) == Decimal("0.120000")


@pytest.mark.parametrize(("principal", "term", "rate", "where"), [
    ("0", 3, "0.01", "principal"), ("10.001", 3, "0.01", "principal"), ("-5", 3, "0.01", "principal"),
    ("100", 0, "0.01", "term"), ("100", 361, "0.01", "term"), ("100", 3, "-0.01", "rate"),
    ("100", 3, "1", "rate"),
])
def test_bad_input_says_what_was_wrong(principal: str, term: int, rate: str, where: str) -> None:
    with pytest.raises(InvalidInput, match=where):
        inst.shop_schedule(cny(principal), term, Decimal(rate))
    with pytest.raises(InvalidInput, match="method"):
        inst.schedule("balloon", cny("100"), 3, Decimal("0.01"))


def test_due_dates_fall_on_the_same_day_or_the_end_of_a_short_month() -> None:
    assert inst.due_dates(date(2026, 1, 31), 3) == (date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30))
    assert inst.due_dates(date(2026, 11, 11), 3, day=10) == (date(2026, 12, 10), date(2027, 1, 10), date(2027, 2, 10))


principals = st.integers(1, 10_000_000).map(lambda cents: Money(Decimal(cents) / 100))
rates = st.integers(0, 99_999).map(lambda n: Decimal(n) / 1_000_000)  # 0% to 9.9999% a month
terms = st.sampled_from([1, 2, 3, 6, 9, 12, 18, 24, 36])


@settings(max_examples=300, deadline=None)
@given(principals, terms, rates, st.sampled_from(inst.METHODS))
def test_every_schedule_sums_exactly(principal: Money, term: int, rate: Decimal, method: str) -> None:
    plan = inst.schedule(method, principal, term, rate)
    assert len(plan.periods) == term
    assert sum((p.principal.amount for p in plan.periods), Decimal(0)) == principal.amount
    assert plan.total.amount == principal.amount + plan.fee.amount
    assert sum((p.total.amount for p in plan.periods), Decimal(0)) == plan.total.amount
    for period in plan.periods:
        for part in (period.principal.amount, period.fee.amount):
            assert part >= 0 and part == part.quantize(Decimal("0.01"))
    if method == inst.SHOP:
        expected_fee = (principal.amount * rate).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert plan.fee.amount == expected_fee
        # periods after the first are equal; the first carries at most term - 1 extra cents of each
        assert len({p.total for p in plan.periods[1:]}) <= 1
        assert plan.periods[0].principal.amount - plan.periods[-1].principal.amount < Decimal("0.01") * term
    assert plan.apr >= 0
    if plan.fee.amount == 0:
        assert plan.apr == 0


@settings(max_examples=100, deadline=None)
@given(principals, terms, st.integers(1, 5_000).map(lambda n: Decimal(n) / 100_000))
def test_the_apr_discounts_the_payments_back_to_the_principal(principal: Money, term: int, rate: Decimal) -> None:
    plan = inst.equal_principal(principal, term, rate)
    monthly = plan.apr / 12
    value = sum((p.total.amount / (1 + monthly) ** p.number for p in plan.periods), Decimal(0))
    # six decimals of APR: the present value is within a hair of the principal
    assert abs(value - principal.amount) <= principal.amount * Decimal("0.000001") * term + Decimal("0.01")
