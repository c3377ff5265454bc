"""Experiment statistics: conversion rates, lifts and the sample-ratio check, from counts.

Pure arithmetic over per-variant counts (no numpy, no scipy); the platform gathers
the counts from exposures and order events and calls `analyse`.

- Conversion rate: conversions / units exposed, with a Wilson score interval (it stays inside
  [0, 1] and behaves at small counts, unlike the normal approximation).
- Relative lift of a variant against the control (the first variant): p_variant / p_control - 1,
  with the log-ratio (Katz) interval: log(p_v / p_c) ± z·sqrt(1/c_v - 1/n_v + 1/c_c - 1/n_c),
  exponentiated, minus one. It is asymmetric like the ratio itself and never below -100%.
  Undefined (None) when either arm has no conversion.
- Metric (e.g. GMV): an exact Decimal sum per variant and its mean per exposed unit, rounded
  to the cent (ROUND_HALF_UP) only there. Statistics use float; money sums stay Decimal.
- Sample-ratio mismatch (SRM): Pearson's chi-square of the units per variant against the
  declared weights, with k - 1 degrees of freedom; the p-value is the regularized upper
  incomplete gamma function Q(df/2, x/2), by its series below a + 1 and its continued fraction
  above (Numerical Recipes, §6.2). Flagged when p < 0.001: such a split is a bug in assignment
  or in logging, not chance, and the results should not be trusted until it is found.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from arbiter.money import CENT

SRM_THRESHOLD = 0.001

_GAMMA_EPS = 1e-15
_GAMMA_TINY = 1e-300
_GAMMA_MAX_ITERATIONS = 10_000


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True, slots=True)
class VariantCounts:
    """What was observed for one variant."""

    name: str
    weight: int
    units: int  # distinct units exposed
    conversions: int  # units with at least one conversion
    metric: Decimal = Decimal(0)  # e.g. the GMV of the converted units' orders


@dataclass(frozen=True, slots=True)
class VariantResult:
    name: str
    weight: int
    units: int
    conversions: int
    rate: float | None  # None when no unit was exposed
    rate_interval: Interval | None
    metric: Decimal
    metric_per_unit: Decimal | None  # to the cent; None when no unit was exposed
    lift: float | None  # relative to the control; None for the control itself or when undefined
    lift_interval: Interval | None
    control: bool


@dataclass(frozen=True, slots=True)
class SampleRatio:
    chi_square: float
    df: int
    p_value: float
    expected_shares: tuple[float, ...]
    observed_shares: tuple[float, ...]
    threshold: float

    @property
    def flagged(self) -> bool:
        return self.p_value < self.threshold


@dataclass(frozen=True, slots=True)
class Results:
    variants: tuple[VariantResult, ...]
    srm: SampleRatio | None  # None when it cannot be tested (one variant, or no unit)
    confidence: float


# --- distributions -----------------------------------------------------------------------------

def normal_quantile(p: float) -> float:
    """The standard normal quantile, by Acklam's rational approximation refined with one
    Halley step (about 1e-15 relative error)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"normal_quantile: p must be in (0, 1), got {p}")
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
         3.754408661907416e00)
    low = 0.02425
    if p < low:
        q = math.sqrt(-2 * math.log(p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    elif p <= 1 - low:
        q = p - 0.5
        r = q * q
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (
            ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    else:
        q = math.sqrt(-2 * math.log(1 - p))
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    error = 0.5 * math.erfc(-x / math.sqrt(2)) - p
    u = error * math.sqrt(2 * math.pi) * math.exp(x * x / 2)
    return x - u / (1 + x * u / 2)


def z_for(confidence: float) -> float:
    """The two-sided critical value: 1.959964 for 95%."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return normal_quantile(1 - (1 - confidence) / 2)


def _lower_series(a: float, x: float) -> float:
    """P(a, x) by its power series; converges fast for x < a + 1."""
    term = 1.0 / a
    total = term
    denominator = a
    for _ in range(_GAMMA_MAX_ITERATIONS):
        denominator += 1
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _GAMMA_EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _upper_fraction(a: float, x: float) -> float:
    """Q(a, x) by its continued fraction (modified Lentz); converges fast for x > a + 1."""
    b = x + 1 - a
    c = 1 / _GAMMA_TINY
    d = 1 / b
    h = d
    for i in range(1, _GAMMA_MAX_ITERATIONS):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        if abs(d) < _GAMMA_TINY:
            d = _GAMMA_TINY
        c = b + an / c
        if abs(c) < _GAMMA_TINY:
            c = _GAMMA_TINY
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _GAMMA_EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def gamma_q(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a)."""
    if a <= 0:
        raise ValueError(f"gamma_q: a must be positive, got {a}")
    if x < 0:
        raise ValueError(f"gamma_q: x must not be negative, got {x}")
    if x == 0:
        return 1.0
    if x < a + 1:
        return max(0.0, 1.0 - _lower_series(a, x))
    return _upper_fraction(a, x)


def chi2_survival(x: float, df: int) -> float:
    """P(X >= x) for X chi-square distributed with `df` degrees of freedom."""
    if df < 1:
        raise ValueError(f"chi2_survival: df must be at least 1, got {df}")
    if x <= 0:
        return 1.0
    return gamma_q(df / 2, x / 2)


# --- the figures -------------------------------------------------------------------------------

def wilson_interval(successes: int, n: int, z: float) -> Interval | None:
    """The Wilson score interval of a proportion; None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"wilson_interval: {successes} successes out of {n}")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # At 0 or n successes a bound is exactly 0 or 1; rounding would leave it a hair inside.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(low, high)


def relative_lift(
    conversions: int, units: int, control_conversions: int, control_units: int, z: float,
) -> tuple[float | None, Interval | None]:
    """p / p_control - 1 and its log-ratio interval; (None, None) when undefined."""
    if units <= 0 or control_units <= 0 or conversions <= 0 or control_conversions <= 0:
        return None, None
    ratio = (conversions / units) / (control_conversions / control_units)
    se = math.sqrt(1 / conversions - 1 / units + 1 / control_conversions - 1 / control_units)
    log_ratio = math.log(ratio)
    interval = Interval(math.exp(log_ratio - z * se) - 1, math.exp(log_ratio + z * se) - 1)
    return ratio - 1, interval


def sample_ratio(
    units: Sequence[int], weights: Sequence[int], threshold: float = SRM_THRESHOLD,
) -> SampleRatio | None:
    """Pearson's chi-square of observed units against the declared weights."""
    if len(units) != len(weights):
        raise ValueError("sample_ratio: one weight per variant")
    total = sum(units)
    weight_total = sum(weights)
    if len(units) < 2 or total <= 0 or weight_total <= 0:
        return None
    chi_square = 0.0
    for observed, weight in zip(units, weights, strict=True):
        expected = total * weight / weight_total
        if expected <= 0:
            if observed > 0:  # units in a variant declared with no weight: certainly a mismatch
                chi_square = math.inf
            continue
        chi_square += (observed - expected) ** 2 / expected
    df = sum(1 for w in weights if w > 0) - 1
    p_value = 0.0 if math.isinf(chi_square) else chi2_survival(chi_square, max(df, 1))
    return SampleRatio(
        chi_square,
        max(df, 1),
        p_value,
        tuple(w / weight_total for w in weights),
        tuple(u / total for u in units),
        threshold,
    )


def per_unit(metric: Decimal, units: int) -> Decimal | None:
    if units <= 0:
        return None
    return (metric / units).quantize(CENT, rounding=ROUND_HALF_UP)


def analyse(
    variants: Sequence[VariantCounts],
    *,
    confidence: float = 0.95,
    srm_threshold: float = SRM_THRESHOLD,
) -> Results:
    """Every figure of an experiment report; the first variant is the control."""
    z = z_for(confidence)
    control = variants[0] if variants else None
    results: list[VariantResult] = []
    for index, counts in enumerate(variants):
        if counts.units < 0 or not 0 <= counts.conversions <= counts.units:
            raise ValueError(f"variant {counts.name}: {counts.conversions} conversions of {counts.units} units")
        lift: float | None = None
        lift_interval: Interval | None = None
        if index > 0 and control is not None:
            lift, lift_interval = relative_lift(
                counts.conversions, counts.units, control.conversions, control.units, z
            )
        results.append(VariantResult(
            name=counts.name,
            weight=counts.weight,
            units=counts.units,
            conversions=counts.conversions,
            rate=counts.conversions / counts.units if counts.units else None,
            rate_interval=wilson_interval(counts.conversions, counts.units, z),
            metric=counts.metric,
            metric_per_unit=per_unit(counts.metric, counts.units),
            lift=lift,
            lift_interval=lift_interval,
            control=index == 0,
        ))
    srm = sample_ratio([v.units for v in variants], [v.weight for v in variants], srm_threshold)
    return Results(tuple(results), srm, confidence)
