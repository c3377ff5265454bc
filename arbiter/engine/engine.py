"""The decision engine: `decide(scene, context)` over one compiled ruleset.

Pure: the ruleset, a Clock, stores (sticky assignments, exposures, the decision log) and a
timer come in from the caller; nothing here touches a database, the network or the
environment. A decision in flight keeps the ruleset it began with, so `swap` between decisions
is safe (hot reload).

Which strategy serves a decision: the one the caller names, else the variant's strategy when
the unit is in a running experiment of the scene (and not in a holdout), else the scene's
default. Experiments of a scene are tried in name order; the first that takes the unit wins.

Failures follow the scene's policy: when evaluation fails (a missing value without a default,
a division by zero), a fail-open scene answers with its declared fallback effects and a
fail-closed scene with its declared refusal — both flagged `failed` with the reason. A context
that does not fit the tag catalog is the caller's mistake and raises InvalidInput.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from arbiter.clock import Clock
from arbiter.dsl.compiler import Ruleset
from arbiter.dsl.context import LISTS_KEY, VELOCITY_KEY
from arbiter.dsl.model import Experiment
from arbiter.dsl.runtime import EvaluationError
from arbiter.engine.decision import Decision
from arbiter.engine.decision_log import DecisionLog, LogRecord
from arbiter.engine.experiments import (
    Assignment,
    AssignmentStore,
    Exposure,
    ExposureSink,
    assign,
    in_holdout,
)
from arbiter.engine.explain import explain_strategy
from arbiter.engine.lists import InMemoryLists, ListReader, ListStore
from arbiter.engine.stores import StoreUnavailable
from arbiter.engine.strategies import NOTHING, run_strategy
from arbiter.engine.velocity import InMemoryVelocity, VelocityReader, VelocityStore
from arbiter.errors import ArbiterError


class UnknownScene(ArbiterError):
    code = "engine.scene.unknown"


class UnknownStrategy(ArbiterError):
    code = "engine.strategy.unknown"


class ClientNotAllowed(ArbiterError):
    code = "engine.scene.client"


@dataclass(frozen=True)
class LoadedRuleset:
    """A ruleset with what the engine derives from it once, not per decision."""

    ruleset: Ruleset
    version: int | None
    experiments: Mapping[str, tuple[Experiment, ...]]  # scene -> running experiments, by name


def load(ruleset: Ruleset, version: int | None, status: Mapping[str, str] | None = None) -> LoadedRuleset:
    """`status` overrides the experiments' declared status (operators start and stop them)."""
    status = status or {}
    by_scene: dict[str, list[Experiment]] = {}
    for experiment in sorted(ruleset.program.experiments.values(), key=lambda e: e.name):
        if status.get(experiment.name, experiment.status) == "running" and experiment.variants:
            by_scene.setdefault(experiment.scene, []).append(experiment)
    return LoadedRuleset(ruleset, version, {k: tuple(v) for k, v in by_scene.items()})


class Engine:
    def __init__(
        self,
        ruleset: Ruleset,
        clock: Clock,
        *,
        version: int | None = None,
        experiment_status: Mapping[str, str] | None = None,
        assignments: AssignmentStore | None = None,
        exposures: ExposureSink | None = None,
        log: DecisionLog | None = None,
        velocity: VelocityStore | None = None,
        lists: ListStore | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._status = dict(experiment_status or {})
        self._loaded = load(ruleset, version, self._status)
        self.clock = clock
        self.assignments = assignments
        self.exposures = exposures
        self.log = log
        self.velocity: VelocityStore = velocity if velocity is not None else InMemoryVelocity()
        self.lists: ListStore = lists if lists is not None else InMemoryLists()
        self.log_failures = 0
        self._timer = timer

    @property
    def ruleset(self) -> Ruleset:
        return self._loaded.ruleset

    @property
    def version(self) -> int | None:
        return self._loaded.version

    def swap(self, ruleset: Ruleset, version: int | None, experiment_status: Mapping[str, str] | None = None) -> None:
        """Serve another ruleset from the next decision on; one assignment, so atomic. The
        experiments' run-time statuses carry over unless new ones are given."""
        if experiment_status is not None:
            self._status = dict(experiment_status)
        self._loaded = load(ruleset, version, self._status)

    def set_experiment_status(self, experiment_status: Mapping[str, str]) -> None:
        """Operators start and stop experiments at run time; this applies their statuses."""
        loaded = self._loaded
        self.swap(loaded.ruleset, loaded.version, experiment_status)

    def decide(
        self,
        scene: str,
        context: Mapping[str, Any] | Any,
        *,
        explain: bool = False,
        strategy: str | None = None,
        client: str | None = None,
        access: str | None = None,
    ) -> Decision:
        """`client` is checked against the scene's allowed clients and `access` ("api" or
        "embedded": how the caller reaches the engine) against its access mode."""
        started = self._timer()
        loaded = self._loaded  # one ruleset for the whole decision, even if swapped meanwhile
        ruleset = loaded.ruleset
        program = ruleset.program
        declared = program.scenes.get(scene)
        if declared is None:
            raise UnknownScene(f"unknown scene `{scene}`; scenes: {', '.join(sorted(program.scenes)) or 'none declared'}")
        if client is not None and declared.clients is not None and client not in declared.clients:
            raise ClientNotAllowed(f"client `{client}` may not call scene `{scene}`")
        if access is not None and declared.access not in (access, "both"):
            raise ClientNotAllowed(f"scene `{scene}` is reached {declared.access} only, not {access}")
        now = self.clock.now()
        ctx = ruleset.prepare(context, now=now)
        ctx[VELOCITY_KEY] = VelocityReader(self.velocity, now)
        ctx[LISTS_KEY] = ListReader(self.lists, now)
        chosen = strategy
        assignment: Assignment | None = None
        if chosen is None:
            assignment = self._assign(loaded, scene, ctx, now)
            chosen = assignment.strategy if assignment is not None else declared.strategy
        elif chosen not in program.strategies or program.strategies[chosen].scene != scene:
            raise UnknownStrategy(f"strategy `{chosen}` does not serve scene `{scene}`")
        experiment = assignment.experiment if assignment else None
        variant = assignment.variant if assignment else None
        if chosen is None:
            decision = Decision(scene, (), (), None, loaded.version, ruleset.hash, variant, experiment,
                                latency_us=(self._timer() - started) * 1e6)
            self._append(decision, ctx, now)
            return decision
        try:
            outcome = run_strategy(ruleset, chosen, ctx)
        except (EvaluationError, StoreUnavailable) as exc:
            reason = exc.message if isinstance(exc, EvaluationError) else f"a store is unavailable: {exc}"
            # Explaining a failed decision matters most: show every rule and what failed.
            failed_trace = explain_strategy(program, program.strategies[chosen], ctx, NOTHING) if explain else ()
            decision = Decision(
                scene,
                tuple(effect.evaluate({}) for effect in ruleset.fallbacks[scene]),
                (),
                chosen,
                loaded.version,
                ruleset.hash,
                variant,
                experiment,
                failed=True,
                failure_policy=declared.on_failure,
                reason=reason,
                latency_us=(self._timer() - started) * 1e6,
                trace=failed_trace,
            )
            self._append(decision, ctx, now)
            return decision
        trace = explain_strategy(program, program.strategies[chosen], ctx, outcome) if explain else ()
        decision = Decision(
            scene,
            outcome.effects,
            outcome.fired,
            chosen,
            loaded.version,
            ruleset.hash,
            variant,
            experiment,
            score=outcome.score,
            latency_us=(self._timer() - started) * 1e6,
            trace=trace,
        )
        self._append(decision, ctx, now)
        return decision

    def _assign(self, loaded: LoadedRuleset, scene: str, ctx: Mapping[str, Any], now: Any) -> Assignment | None:
        experiments = loaded.experiments.get(scene)
        if not experiments:
            return None
        program = loaded.ruleset.program
        units: dict[str, str] = {}
        for path in {e.unit for e in experiments} | {h.unit for h in program.holdouts.values()}:
            namespace, _, name = path.partition(".")
            value = ctx.get(namespace, {}).get(name)
            if value is not None:
                units[path] = str(value)
        if in_holdout(tuple(program.holdouts.values()), units):
            return None
        for experiment in experiments:
            unit = units.get(experiment.unit)
            if unit is None:
                continue
            assignment = assign(experiment, unit, self.assignments)
            if assignment is not None:
                if self.exposures is not None:
                    try:
                        self.exposures.record(Exposure(experiment.name, assignment.variant, unit, now))
                    except Exception:  # an exposure sink must never fail a decision
                        self.log_failures += 1
                return assignment
        return None

    def _append(self, decision: Decision, ctx: Mapping[str, Any], now: Any) -> None:
        if self.log is None:
            return
        try:
            self.log.append(LogRecord(
                now, decision.scene, decision.ruleset_version, decision.ruleset_hash, decision.strategy,
                decision.experiment, decision.variant, ctx, decision.effects, decision.fired,
                decision.latency_us, decision.failed, decision.reason,
            ))
        except Exception:  # the log must never fail a decision; losses are counted
            self.log_failures += 1
