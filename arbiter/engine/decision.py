"""The Decision: what the engine answers for one scene and one context.

A decision is a value: the effects in order, the rules that fired, the ruleset version and
hash, the strategy (and experiment variant) that served it, how long it took, and — when
evaluation failed — the scene's failure policy and the reason. With `explain`, it also holds
every rule's trace: whether it matched and the value of each sub-expression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arbiter.dsl.runtime import EffectValue, to_json


@dataclass(frozen=True, slots=True)
class ExprTrace:
    """One sub-expression of a rule as written, and its value (or why it had none)."""

    text: str
    value: Any
    line: int
    column: int
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"expr": self.text, "value": to_json(self.value), "line": self.line, "column": self.column,
                "error": self.error}


@dataclass(frozen=True, slots=True)
class RuleTrace:
    rule: str
    priority: int
    matched: bool
    fired: bool
    note: str  # why it did or did not fire
    parts: tuple[ExprTrace, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "priority": self.priority,
            "matched": self.matched,
            "fired": self.fired,
            "note": self.note,
            "parts": [p.to_json() for p in self.parts],
        }


@dataclass(frozen=True, slots=True)
class Decision:
    scene: str
    effects: tuple[EffectValue, ...]
    fired: tuple[str, ...]  # rule ids, in the order they fired
    strategy: str | None
    ruleset_version: int | None
    ruleset_hash: str
    variant: str | None = None
    experiment: str | None = None
    score: int | None = None
    failed: bool = False
    failure_policy: str | None = None  # open | closed, when failed
    reason: str | None = None
    latency_us: float = 0.0
    trace: tuple[RuleTrace, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "scene": self.scene,
            "effects": [e.to_json() for e in self.effects],
            "fired": list(self.fired),
            "strategy": self.strategy,
            "ruleset": {"version": self.ruleset_version, "hash": self.ruleset_hash},
            "experiment": self.experiment,
            "variant": self.variant,
            "score": self.score,
            "failed": self.failed,
            "failure_policy": self.failure_policy,
            "reason": self.reason,
            "latency_us": round(self.latency_us, 1),
            "trace": [t.to_json() for t in self.trace],
        }
