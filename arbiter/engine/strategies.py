"""Hit policies: how a strategy's rules turn into effects.

- `first`: the highest-priority rule that matches fires alone.
- `all`: every matching rule fires, in priority order; of an exclusion group only the
  highest-priority match fires.
- `score`: the scores of matching rules are summed and the total picks a band (the highest
  band whose `from` the total reaches); the band's effects follow those of the matching rules.

Rules are already ordered by (priority descending, name) by the checker, and each strategy is
compiled into one function that tests them in that order, so no output depends on dict or set
order and a decision costs one call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from arbiter.dsl.compiler import CompiledRule, Ruleset
from arbiter.dsl.runtime import EffectValue


@dataclass(frozen=True, slots=True)
class Outcome:
    effects: tuple[EffectValue, ...]
    fired: tuple[str, ...]
    score: int | None
    matched: frozenset[str]  # every rule whose condition held, fired or not


NOTHING = Outcome((), (), None, frozenset())


def run_strategy(ruleset: Ruleset, name: str, ctx: Mapping[str, Any]) -> Outcome:
    compiled = ruleset.strategies[name]
    hit = compiled.strategy.hit
    if hit == "first":
        index = compiled.select(ctx)
        if index < 0:
            return NOTHING
        rule = compiled.rules[index]
        return Outcome(_effects(rule, ctx), (rule.rule.id,), None, frozenset((rule.rule.id,)))
    matched = [compiled.rules[i] for i in compiled.select(ctx)]
    if hit == "all":
        return _all(matched, ctx)
    return _score(ruleset, name, matched, ctx)


def _effects(rule: CompiledRule, ctx: Mapping[str, Any]) -> tuple[EffectValue, ...]:
    return tuple(effect.evaluate(ctx) for effect in rule.effects)


def _all(matched: list[CompiledRule], ctx: Mapping[str, Any]) -> Outcome:
    effects: list[EffectValue] = []
    fired: list[str] = []
    taken_groups: set[str] = set()
    for rule in matched:
        group = rule.rule.group
        if group is not None:
            if group in taken_groups:
                continue
            taken_groups.add(group)
        fired.append(rule.rule.id)
        effects.extend(_effects(rule, ctx))
    return Outcome(tuple(effects), tuple(fired), None, frozenset(r.rule.id for r in matched))


def _score(ruleset: Ruleset, name: str, matched: list[CompiledRule], ctx: Mapping[str, Any]) -> Outcome:
    total = sum(rule.rule.score or 0 for rule in matched)
    effects: list[EffectValue] = []
    for rule in matched:
        effects.extend(_effects(rule, ctx))
    bands = ruleset.program.strategies[name].bands
    chosen = None
    for index, band in enumerate(bands):
        if total >= band.floor:
            chosen = index
    if chosen is not None:
        effects.extend(effect.evaluate(ctx) for effect in ruleset.bands[name][chosen])
    fired = tuple(rule.rule.id for rule in matched)
    return Outcome(tuple(effects), fired, total, frozenset(fired))
