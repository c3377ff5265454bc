"""Experiment statistics against known values: chi-square tail probabilities, the normal
quantile, Wilson intervals, log-ratio lift intervals and the sample-ratio check."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbiter.engine.experiment_stats import (
    VariantCounts,
    analyse,
    chi2_survival,
    gamma_q,
    normal_quantile,
    relative_lift,
    sample_ratio,
    wilson_interval,
    z_for,
)

Z95 = 1.959963984540054


@pytest.mark.parametrize(
    ("x", "df", "p"),
    [
        (3.841, 1, 0.05), (6.635, 1, 0.01), (10.828, 1, 0.001), (5.991, 2, 0.05),
        (9.210, 2, 0.01), (7.815, 3, 0.05), (18.307, 10, 0.05), (23.209, 10, 0.01),
        (124.342, 100, 0.05),
    ],
)
def test_chi2_survival_matches_the_critical_value_tables(x: float, df: int, p: float) -> None:
    assert chi2_survival(x, df) == pytest.approx(p, rel=2e-3)


def test_chi2_survival_matches_closed_forms() -> None:
    # df = 1: erfc(sqrt(x/2)); df = 2k: exp(-x/2) * sum_{i<k} (x/2)^i / i!
    for x in (0.001, 0.1, 0.5, 1.0, 2.5, 3.841, 10.0, 40.0, 150.0):
        assert chi2_survival(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-12, abs=1e-300)
        for k in (1, 2, 5, 20):
            closed = math.exp(-x / 2) * sum((x / 2) ** i / math.factorial(i) for i in range(k))
            assert chi2_survival(x, 2 * k) == pytest.approx(closed, rel=1e-10, abs=1e-300)
    assert chi2_survival(100.0, 10) == pytest.approx(5.449701982920e-17, rel=1e-9)
    assert chi2_survival(0.5, 3) == pytest.approx(0.9188914116546755, rel=1e-12)
    assert chi2_survival(0.0, 4) == 1.0


def test_gamma_q_edges() -> None:
    assert gamma_q(1.0, 2.0) == pytest.approx(math.exp(-2.0), rel=1e-14)
    assert gamma_q(3.0, 0.0) == 1.0
    with pytest.raises(ValueError):
        gamma_q(0.0, 1.0)
    with pytest.raises(ValueError):
        chi2_survival(1.0, 0)


@settings(max_examples=200, deadline=None)
@given(x=st.floats(0.01, 300), df=st.integers(1, 60))
def test_chi2_survival_is_a_probability_that_falls_with_x(x: float, df: int) -> None:
    p = chi2_survival(x, df)
    assert 0.0 <= p <= 1.0
    assert chi2_survival(x * 1.1, df) <= p + 1e-15


def test_normal_quantile() -> None:
    assert normal_quantile(0.975) == pytest.approx(Z95, rel=1e-14)
    assert normal_quantile(0.5) == 0.0
    assert normal_quantile(0.001) == pytest.approx(-3.090232306167813, rel=1e-13)
    assert normal_quantile(0.995) == pytest.approx(2.5758293035489004, rel=1e-13)
    assert z_for(0.95) == pytest.approx(Z95, rel=1e-14)
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError):
            normal_quantile(bad)


def test_wilson_interval_known_values() -> None:
    found = wilson_interval(10, 100, Z95)
    assert found is not None
    assert (round(found.low, 4), round(found.high, 4)) == (0.0552, 0.1744)
    # no success: the lower bound is 0 and the upper z²/(n + z²)
    none = wilson_interval(0, 10, Z95)
    assert none is not None and none.low == 0.0
    assert none.high == pytest.approx(Z95**2 / (10 + Z95**2), rel=1e-12)
    every = wilson_interval(10, 10, Z95)
    assert every is not None and every.high == 1.0
    assert every.low == pytest.approx(10 / (10 + Z95**2), rel=1e-12)
    assert wilson_interval(0, 0, Z95) is None


def test_relative_lift_log_ratio_interval() -> None:
    lift, found = relative_lift(2400, 20000, 2000, 20000, Z95)
    assert lift == pytest.approx(0.2, rel=1e-12)
    se = math.sqrt(1 / 2400 - 1 / 20000 + 1 / 2000 - 1 / 20000)
    assert found is not None
    assert found.low == pytest.approx(1.2 * math.exp(-Z95 * se) - 1, rel=1e-12)
    assert found.high == pytest.approx(1.2 * math.exp(Z95 * se) - 1, rel=1e-12)
    assert (round(found.low, 4), round(found.high, 4)) == (0.1346, 0.2691)
    assert relative_lift(5, 100, 0, 100, Z95) == (None, None)
    assert relative_lift(0, 100, 5, 100, Z95) == (None, None)


def test_sample_ratio_clean_slight_and_flagged() -> None:
    clean = sample_ratio([5000, 5000], [50, 50])
    assert clean is not None and clean.chi_square == 0.0 and clean.p_value == 1.0 and not clean.flagged
    slight = sample_ratio([5000, 4750], [50, 50])
    assert slight is not None
    assert slight.chi_square == pytest.approx(2 * 125**2 / 4875)
    assert slight.p_value == pytest.approx(math.erfc(math.sqrt(slight.chi_square / 2)))
    assert 0.01 < slight.p_value < 0.02 and not slight.flagged
    flagged = sample_ratio([10000, 9500], [50, 50])
    assert flagged is not None and flagged.flagged and flagged.p_value < 0.001
    uneven = sample_ratio([2000, 3000, 5000], [2, 3, 5])
    assert uneven is not None and uneven.df == 2 and uneven.p_value == 1.0
    assert uneven.expected_shares == (0.2, 0.3, 0.5)
    misplaced = sample_ratio([10, 0], [0, 1])  # units in a variant with no weight
    assert misplaced is not None and misplaced.flagged and misplaced.p_value == 0.0
    assert sample_ratio([100], [1]) is None
    assert sample_ratio([0, 0], [1, 1]) is None


def test_analyse_gives_every_figure_with_the_first_variant_as_control() -> None:
    results = analyse([
        VariantCounts("control", 50, 1000, 100, Decimal("12345.67")),
        VariantCounts("treatment", 50, 1000, 120, Decimal("15000.00")),
        VariantCounts("empty", 0, 0, 0),
    ])
    control, treatment, empty = results.variants
    assert control.control and control.lift is None and control.lift_interval is None
    assert control.rate == 0.1 and control.metric == Decimal("12345.67")
    assert control.metric_per_unit == Decimal("12.35")  # 12.34567 rounded half up to the cent
    assert treatment.lift == pytest.approx(0.2)
    assert treatment.lift_interval is not None and treatment.lift_interval.covers(0.2)
    assert treatment.rate_interval is not None and treatment.rate_interval.covers(0.12)
    assert empty.rate is None and empty.rate_interval is None and empty.metric_per_unit is None
    assert empty.lift is None
    assert results.srm is not None and results.srm.df == 1 and results.srm.p_value == 1.0
    assert results.confidence == 0.95


def test_analyse_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError):
        analyse([VariantCounts("a", 1, 10, 11)])
