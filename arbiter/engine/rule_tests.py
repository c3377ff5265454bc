"""Running the `test` blocks of rule files, as `opa test` runs policy tests.

A decision test names a scene, a context (`given`), optionally the time (`now`) and a
strategy, and the effects it expects in order (`expect`, or `expect []` for none); it passes
when the engine's decision has exactly those effects. A price test gives a `cart` (and the
coupons held) and expects the `payable` and the promotions `applied`, in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from arbiter.clock import FixedClock
from arbiter.dsl.compiler import Ruleset
from arbiter.dsl.model import PriceCheck, TestCase
from arbiter.dsl.runtime import EffectValue
from arbiter.engine.engine import Engine
from arbiter.engine.pricing import Cart, CartLine, trial
from arbiter.errors import ArbiterError
from arbiter.money import Money

# The clock of a test that does not set `now`: fixed, so results never depend on the day.
DEFAULT_TEST_NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TestResult:
    test: TestCase
    passed: bool
    expected: tuple[EffectValue, ...]
    actual: tuple[EffectValue, ...]
    error: str | None = None
    differences: tuple[str, ...] = ()  # price tests: what differs, line by line

    @property
    def location(self) -> str:
        return f"{self.test.span.file}:{self.test.span.line}"


def run_tests(ruleset: Ruleset) -> list[TestResult]:
    results: list[TestResult] = []
    for test in ruleset.program.tests:
        clock = FixedClock(test.now or DEFAULT_TEST_NOW)
        if test.price is not None:
            results.append(_price_test(ruleset, test, test.price, clock))
            continue
        assert test.scene is not None
        expected = tuple(effect.evaluate({}) for effect in ruleset.effects_of(test.expect or ()))
        engine = Engine(ruleset, clock)
        try:
            decision = engine.decide(test.scene, test.given, strategy=test.strategy)
        except ArbiterError as exc:
            results.append(TestResult(test, False, expected, (), exc.message))
            continue
        if decision.failed:
            results.append(TestResult(test, False, expected, decision.effects, f"evaluation failed: {decision.reason}"))
            continue
        results.append(TestResult(test, decision.effects == expected, expected, decision.effects))
    return results


def _price_test(ruleset: Ruleset, test: TestCase, check: PriceCheck, clock: FixedClock) -> TestResult:
    try:
        lines = tuple(_line(i, record) for i, record in enumerate(check.lines))
        user = test.given.get("user", {}).get("id") if isinstance(test.given.get("user"), dict) else None
        cart = Cart(lines, context=test.given, coupons=check.coupons, user=user)
        result = trial(ruleset, cart, clock=clock, promotions=check.promotions)
    except ArbiterError as exc:
        return TestResult(test, False, (), (), exc.message)
    differences: list[str] = []
    if check.payable is not None:
        expected = check.payable if isinstance(check.payable, Money) else result.money(check.payable)
        actual = result.money(result.payable)
        if expected != actual:  # Money compares amount and currency
            differences.append(f"payable: expected {expected.quantize_cents()}, got {actual}")
    applied = tuple(a.promotion for a in result.applied)
    if check.applied is not None and applied != check.applied:
        differences.append(f"applied: expected [{', '.join(check.applied)}], got [{', '.join(applied)}]")
    return TestResult(test, not differences, (), (), differences=tuple(differences))


def _line(index: int, record: Mapping[str, Any]) -> CartLine:
    price = record["price"]
    money = price if isinstance(price, Money) else Money.of(Decimal(price))
    tags = {k: v for k, v in record.items() if k not in ("id", "sku", "shop", "quantity", "price")}
    return CartLine(
        str(record.get("id", f"L{index + 1}")),
        str(record["sku"]),
        str(record.get("shop", "self")),
        int(record.get("quantity", 1)),
        money,
        tags,
    )
