"""The decision engine: `decide(scene, context)` over one compiled ruleset.

Pure: the ruleset, a Clock and a timer come in from the caller; nothing here touches a
database, the network or the environment. A decision in flight keeps the ruleset it began
with, so swapping rulesets between decisions is safe.

Failures follow the scene's policy: when evaluation fails (a missing value without a default,
a division by zero), a fail-open scene answers with its declared fallback effects and a
fail-closed scene with its declared refusal — both flagged `failed` with the reason. A context
that does not fit the tag catalog is the caller's mistake and raises InvalidInput.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from arbiter.clock import Clock
from arbiter.dsl.compiler import Ruleset
from arbiter.dsl.model import Strategy
from arbiter.dsl.runtime import EvaluationError
from arbiter.engine.decision import Decision
from arbiter.engine.explain import explain_strategy
from arbiter.engine.strategies import run_strategy
from arbiter.errors import ArbiterError


class UnknownScene(ArbiterError):
    code = "engine.scene.unknown"


class UnknownStrategy(ArbiterError):
    code = "engine.strategy.unknown"


class Engine:
    def __init__(
        self,
        ruleset: Ruleset,
        clock: Clock,
        *,
        version: int | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.ruleset = ruleset
        self.clock = clock
        self.version = version
        self._timer = timer

    def decide(
        self,
        scene: str,
        context: Mapping[str, Any] | Any,
        *,
        explain: bool = False,
        strategy: str | None = None,
    ) -> Decision:
        started = self._timer()
        ruleset = self.ruleset  # one ruleset for the whole decision, even if swapped meanwhile
        program = ruleset.program
        declared = program.scenes.get(scene)
        if declared is None:
            raise UnknownScene(f"unknown scene `{scene}`; scenes: {', '.join(sorted(program.scenes))}")
        chosen = strategy or declared.strategy
        plan: Strategy | None = None
        if chosen is not None:
            plan = program.strategies.get(chosen)
            if plan is None or plan.scene != scene:
                raise UnknownStrategy(f"strategy `{chosen}` does not serve scene `{scene}`")
        ctx = ruleset.prepare(context, now=self.clock.now())
        if plan is None:
            return Decision(scene, (), (), None, self.version, ruleset.hash,
                            latency_us=(self._timer() - started) * 1e6)
        try:
            outcome = run_strategy(ruleset, plan, ctx)
        except EvaluationError as exc:
            fallback = tuple(effect.evaluate({}) for effect in ruleset.fallbacks[scene])
            return Decision(
                scene,
                fallback,
                (),
                plan.name,
                self.version,
                ruleset.hash,
                failed=True,
                failure_policy=declared.on_failure,
                reason=exc.message,
                latency_us=(self._timer() - started) * 1e6,
            )
        trace = explain_strategy(program, plan, ctx, outcome) if explain else ()
        return Decision(
            scene,
            outcome.effects,
            outcome.fired,
            plan.name,
            self.version,
            ruleset.hash,
            score=outcome.score,
            latency_us=(self._timer() - started) * 1e6,
            trace=trace,
        )
