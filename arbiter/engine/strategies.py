"""Hit policies: how a strategy's rules turn into effects.

- `first`: the highest-priority rule that matches fires alone.
- `all`: every matching rule fires, in priority order; of an exclusion group only the
  highest-priority match fires.
- `score`: the scores of matching rules are summed and the total picks a band (the highest
  band whose `from` the total reaches); the band's effects follow those of the matching rules.

Rules are already ordered by (priority descending, name) by the checker, so no output depends
on dict or set order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from arbiter.dsl.compiler import CompiledRule, Ruleset
from arbiter.dsl.model import Strategy
from arbiter.dsl.runtime import EffectValue


@dataclass(frozen=True, slots=True)
class Outcome:
    effects: tuple[EffectValue, ...]
    fired: tuple[str, ...]
    score: int | None
    matched: frozenset[str]  # every rule whose condition held, fired or not


def run_strategy(ruleset: Ruleset, strategy: Strategy, ctx: Mapping[str, Any]) -> Outcome:
    rules = [ruleset.rules[r.id] for r in strategy.rules]
    if strategy.hit == "first":
        return _first(rules, ctx)
    if strategy.hit == "all":
        return _all(rules, ctx)
    return _score(ruleset, strategy, rules, ctx)


def _effects(rule: CompiledRule, ctx: Mapping[str, Any]) -> list[EffectValue]:
    return [effect.evaluate(ctx) for effect in rule.effects]


def _first(rules: list[CompiledRule], ctx: Mapping[str, Any]) -> Outcome:
    for rule in rules:
        if rule.matches(ctx):
            return Outcome(tuple(_effects(rule, ctx)), (rule.rule.id,), None, frozenset({rule.rule.id}))
    return Outcome((), (), None, frozenset())


def _all(rules: list[CompiledRule], ctx: Mapping[str, Any]) -> Outcome:
    effects: list[EffectValue] = []
    fired: list[str] = []
    matched: set[str] = set()
    taken_groups: set[str] = set()
    for rule in rules:
        if not rule.matches(ctx):
            continue
        matched.add(rule.rule.id)
        group = rule.rule.group
        if group is not None:
            if group in taken_groups:
                continue
            taken_groups.add(group)
        fired.append(rule.rule.id)
        effects.extend(_effects(rule, ctx))
    return Outcome(tuple(effects), tuple(fired), None, frozenset(matched))


def _score(ruleset: Ruleset, strategy: Strategy, rules: list[CompiledRule], ctx: Mapping[str, Any]) -> Outcome:
    total = 0
    effects: list[EffectValue] = []
    fired: list[str] = []
    for rule in rules:
        if rule.matches(ctx):
            total += rule.rule.score or 0
            fired.append(rule.rule.id)
            effects.extend(_effects(rule, ctx))
    band_effects = ruleset.bands[strategy.name]
    chosen = None
    for index, band in enumerate(strategy.bands):
        if total >= band.floor:
            chosen = index
    if chosen is not None:
        effects.extend(effect.evaluate(ctx) for effect in band_effects[chosen])
    return Outcome(tuple(effects), tuple(fired), total, frozenset(fired))
