"""Running the `test` blocks of rule files, as `opa test` runs policy tests.

Each test names a scene, a context (`given`), optionally the time (`now`), and the effects it
expects in order (`expect`, or `expect []` for none). It passes when the engine's decision has
exactly those effects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from arbiter.clock import FixedClock
from arbiter.dsl.compiler import Ruleset
from arbiter.dsl.model import TestCase
from arbiter.dsl.runtime import EffectValue
from arbiter.engine.engine import Engine
from arbiter.errors import ArbiterError

# The clock of a test that does not set `now`: fixed, so results never depend on the day.
DEFAULT_TEST_NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TestResult:
    test: TestCase
    passed: bool
    expected: tuple[EffectValue, ...]
    actual: tuple[EffectValue, ...]
    error: str | None = None

    @property
    def location(self) -> str:
        return f"{self.test.span.file}:{self.test.span.line}"


def run_tests(ruleset: Ruleset) -> list[TestResult]:
    results: list[TestResult] = []
    for test in ruleset.program.tests:
        expected = tuple(effect.evaluate({}) for effect in ruleset.effects_of(test.expect or ()))
        engine = Engine(ruleset, FixedClock(test.now or DEFAULT_TEST_NOW))
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
