"""Backtesting: replaying historical events through a candidate rule set and the live one,
side by side, to see what a change would have done before it is published.

Events are replayed in time order. For each event of the scene's kind, both rule sets decide
with the velocity features as they stood just before the event — each rule set rebuilds its
own features from the stream, so the replay sees what production would have seen — and then
the event is recorded. Each decision is reduced to an action (reject, review, verify or
pass: the first of those effect names present, pass when none is), and the report counts the
actions of each side, lists the events whose action changes, and, given labels, the
precision and recall of each side for "reject" and for "reject or review".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from arbiter.dsl.compiler import Ruleset
from arbiter.dsl.context import LISTS_KEY, VELOCITY_KEY
from arbiter.dsl.runtime import EvaluationError
from arbiter.engine.lists import InMemoryLists, ListReader
from arbiter.engine.strategies import run_strategy
from arbiter.engine.velocity import InMemoryVelocity, VelocityReader, record_prepared
from arbiter.errors import InvalidInput

ACTIONS = ("reject", "review", "verify", "pass")


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    kind: str
    at: datetime
    context: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Change:
    event: str
    live: str
    candidate: str


@dataclass
class Side:
    """One rule set's replay: its actions, and its confusion counts against the labels."""

    actions: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    # (predicted positive, labelled positive) counts, for "reject" and "reject or review"
    confusion: dict[str, Counter[tuple[bool, bool]]] = field(
        default_factory=lambda: {"reject": Counter(), "reject_or_review": Counter()}
    )

    def score(self, action: str, label: bool | None) -> None:
        self.actions[action] += 1
        if label is None:
            return
        self.confusion["reject"][(action == "reject", label)] += 1
        self.confusion["reject_or_review"][(action in ("reject", "review"), label)] += 1

    def precision_recall(self, which: str) -> tuple[float | None, float | None]:
        c = self.confusion[which]
        tp, fp, fn = c[(True, True)], c[(True, False)], c[(False, True)]
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / (tp + fn) if tp + fn else None
        return precision, recall


@dataclass
class Report:
    scene: str
    events: int = 0  # every event replayed (all kinds feed the features)
    decided: int = 0  # events of the scene's kind, decided by both sides
    live: Side = field(default_factory=Side)
    candidate: Side = field(default_factory=Side)
    changed: int = 0  # events whose action differs between the two sides
    changes: list[Change] = field(default_factory=list)  # the first of them, for reading
    labelled: int = 0


def action_of(effect_names: Iterable[str]) -> str:
    names = set(effect_names)
    for action in ACTIONS[:-1]:
        if action in names:
            return action
    return "pass"


class _Replayer:
    """One rule set replaying a stream: its own feature store, its decisions."""

    def __init__(self, ruleset: Ruleset, scene: str) -> None:
        declared = ruleset.program.scenes.get(scene)
        if declared is None or declared.strategy is None:
            raise InvalidInput(f"scene `{scene}` has no strategy in this rule set")
        self.ruleset = ruleset
        self.strategy = declared.strategy
        self.fallback = tuple(e.name for e in ruleset.fallbacks[scene])
        self.velocity = InMemoryVelocity()
        self.lists = InMemoryLists()

    def prepare(self, event: Event) -> dict[str, Any]:
        return self.ruleset.prepare(event.context, now=event.at)

    def decide(self, ctx: dict[str, Any], at: datetime) -> tuple[str, bool]:
        ctx[VELOCITY_KEY] = VelocityReader(self.velocity, at)
        ctx[LISTS_KEY] = ListReader(self.lists, at)
        try:
            outcome = run_strategy(self.ruleset, self.strategy, ctx)
        except EvaluationError:
            return action_of(self.fallback), True
        return action_of(e.name for e in outcome.effects), False

    def record(self, event: Event, ctx: Mapping[str, Any]) -> None:
        record_prepared(self.ruleset, self.velocity, event.kind, ctx, event.at, event.id)


def backtest(
    candidate: Ruleset,
    live: Ruleset,
    scene: str,
    events: Iterable[Event],
    *,
    kind: str | None = None,
    labels: Mapping[str, bool] | None = None,
    progress: Callable[[int], None] | None = None,
    max_changes: int = 1000,
) -> Report:
    """Replay `events` (in time order) and compare the two rule sets in `scene`. Events of
    `kind` (the scene's name when not given) are decided; every event feeds the features."""
    kind = kind or scene
    labels = labels or {}
    sides = (_Replayer(live, scene), _Replayer(candidate, scene))
    report = Report(scene)
    # Both sides read the same catalog (the usual case): prepare each event once for both.
    shared = _catalog(live) == _catalog(candidate)
    last: datetime | None = None
    for event in events:
        if last is not None and event.at < last:
            raise InvalidInput(f"event {event.id}: events must come in time order ({event.at} after {last})")
        last = event.at
        report.events += 1
        if shared:
            prepared = sides[0].prepare(event)
            contexts = [prepared, dict(prepared)]  # each side adds its own readers
        else:
            contexts = [side.prepare(event) for side in sides]
        if event.kind == kind:
            report.decided += 1
            label = labels.get(event.id)
            if label is not None:
                report.labelled += 1
            outcomes = []
            for side, ctx, tally in zip(sides, contexts, (report.live, report.candidate), strict=True):
                action, failed = side.decide(ctx, event.at)
                tally.failed += failed
                tally.score(action, label)
                outcomes.append(action)
            if outcomes[0] != outcomes[1]:
                report.changed += 1
                if len(report.changes) < max_changes:
                    report.changes.append(Change(event.id, outcomes[0], outcomes[1]))
        for side, ctx in zip(sides, contexts, strict=True):
            side.record(event, ctx)
        if progress is not None:
            progress(1)
    return report


def _catalog(ruleset: Ruleset) -> set[tuple[str, str, Any]]:
    return {(tag.path, str(tag.type), repr(tag.default)) for tag in ruleset.program.tags.values()}
