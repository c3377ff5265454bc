"""Backtesting: replaying historical events through a candidate rule set and the live one,
side by side, to see what a change would have done before it is published.

Events are replayed in time order. For each event of the scene's kind, both rule sets decide
with the velocity features as they stood just before the event — each rule set rebuilds its
own features from the stream, so the replay sees what production would have seen — and then
the event is recorded. Each decision is reduced to an action (reject, review, verify or
pass: the first of those effect names present, pass when none is), and the report counts the
actions of each side, lists the events whose action changes, and, given labels, the
precision and recall of each side for "reject" and for "reject or review".

The replay is built for millions of events in one process: each event's context is prepared
once and shared by both sides when their tag catalogs agree, each side keeps a velocity store
specialised for time order (`ReplayVelocity`), a decision is reduced to its action without
building the outcome (only effects with computed fields are evaluated, since those can fail),
and the counts are kept in plain integers until the end. `tests/engine/test_backtest_replay.py`
checks event by event that it decides as the live `Engine` with `InMemoryVelocity` does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from arbiter.dsl.compiler import CompiledEffect, Ruleset
from arbiter.dsl.context import LISTS_KEY, VELOCITY_KEY
from arbiter.dsl.gcpause import collector_paused
from arbiter.dsl.runtime import EvaluationError
from arbiter.engine.lists import InMemoryLists, ListReader
from arbiter.engine.velocity import ReplayRecorder, ReplayVelocity, microseconds
from arbiter.errors import InvalidInput

ACTIONS = ("reject", "review", "verify", "pass")
_RANK = {action: rank for rank, action in enumerate(ACTIONS[:-1])}
_PASS = len(ACTIONS) - 1
_PROGRESS_EVERY = 4096  # events between two progress reports: a bar redrawn per event costs more than the event
_SEEN_SLOTS = 1 << 22  # buckets of the filter of event ids already recorded


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


@dataclass(frozen=True, slots=True)
class _Plan:
    """What firing a rule (or reaching a band) means for the action: the best-ranked action
    among its effects, and the effects whose fields are computed (evaluated for their
    failures; literal ones cannot fail)."""

    rank: int
    computed: tuple[CompiledEffect, ...]
    score: int = 0
    group: str | None = None


def _plan(effects: tuple[CompiledEffect, ...], score: int = 0, group: str | None = None) -> _Plan:
    rank = min((_RANK.get(e.name, _PASS) for e in effects), default=_PASS)
    return _Plan(rank, tuple(e for e in effects if e.constant is None), score, group)


class _Tally:
    """A side's counts as plain integers during the replay; `into` fills its Side."""

    def __init__(self) -> None:
        self.actions = [0] * len(ACTIONS)
        self.failed = 0
        # index: 2 * predicted + labelled
        self.reject = [0] * 4
        self.reject_or_review = [0] * 4

    def into(self, side: Side) -> None:
        side.failed += self.failed
        for rank, count in enumerate(self.actions):
            if count:
                side.actions[ACTIONS[rank]] += count
        for which, counts in (("reject", self.reject), ("reject_or_review", self.reject_or_review)):
            for index, count in enumerate(counts):
                if count:
                    side.confusion[which][(index >= 2, index % 2 == 1)] += count


class _Replayer:
    """One rule set replaying a stream: its own feature store, its decisions as action ranks
    (an index in ACTIONS), exactly as `run_strategy` and `action_of` would reduce them."""

    def __init__(self, ruleset: Ruleset, scene: str) -> None:
        declared = ruleset.program.scenes.get(scene)
        if declared is None or declared.strategy is None:
            raise InvalidInput(f"scene `{scene}` has no strategy in this rule set")
        compiled = ruleset.strategies[declared.strategy]
        self.prepare = ruleset.prepare
        self.select = compiled.select
        self.hit = compiled.strategy.hit
        self.first = self.hit == "first"
        self.plans = tuple(_plan(r.effects, r.rule.score or 0, r.rule.group) for r in compiled.rules)
        strategy = ruleset.program.strategies[declared.strategy]
        self.floors = tuple(band.floor for band in strategy.bands)
        self.bands = tuple(_plan(effects) for effects in ruleset.bands.get(declared.strategy, ()))
        self.fallback = _plan(ruleset.fallbacks[scene]).rank
        self.velocity = ReplayVelocity()
        self.recorder = ReplayRecorder(ruleset, self.velocity)
        self.records = bool(self.recorder.features)
        self.lists = ListReader(InMemoryLists(), datetime(1970, 1, 1, tzinfo=UTC))
        self.tally = _Tally()

    def decide(self, ctx: dict[str, Any]) -> int:
        try:
            if self.first:
                index: int = self.select(ctx)
                if index < 0:
                    return _PASS
                plan = self.plans[index]
                for effect in plan.computed:
                    effect.evaluate(ctx)
                return plan.rank
            plans = self.plans
            matched = [plans[i] for i in self.select(ctx)]
            return self._all(matched, ctx) if self.hit == "all" else self._score(matched, ctx)
        except EvaluationError:
            self.tally.failed += 1
            return self.fallback

    @staticmethod
    def _all(matched: list[_Plan], ctx: dict[str, Any]) -> int:
        rank = _PASS
        taken: set[str] = set()
        for plan in matched:
            if plan.group is not None:
                if plan.group in taken:
                    continue
                taken.add(plan.group)
            for effect in plan.computed:
                effect.evaluate(ctx)
            rank = min(rank, plan.rank)
        return rank

    def _score(self, matched: list[_Plan], ctx: dict[str, Any]) -> int:
        rank = _PASS
        total = 0
        for plan in matched:
            total += plan.score
            for effect in plan.computed:
                effect.evaluate(ctx)
            rank = min(rank, plan.rank)
        chosen = None
        for index, floor in enumerate(self.floors):
            if total >= floor:
                chosen = index
        if chosen is not None:
            band = self.bands[chosen]
            for effect in band.computed:
                effect.evaluate(ctx)
            rank = min(rank, band.rank)
        return rank


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
    observe: Callable[[str, str, str], None] | None = None,
) -> Report:
    """Replay `events` (in time order) and compare the two rule sets in `scene`. Events of
    `kind` (the scene's name when not given) are decided; every event feeds the features.
    `progress`, when given, is called with the number of events replayed since its last call;
    `observe` with each decided event's id and the live and candidate actions."""
    return backtest_rows(candidate, live, scene, ((e.id, e.kind, e.at, e.context) for e in events),
                         kind=kind, labels=labels, progress=progress, max_changes=max_changes, observe=observe)


Row = tuple[str, str, datetime, Mapping[str, Any]]  # an event as (id, kind, at, context)


def backtest_rows(
    candidate: Ruleset,
    live: Ruleset,
    scene: str,
    rows: Iterable[Row],
    *,
    kind: str | None = None,
    labels: Mapping[str, bool] | None = None,
    progress: Callable[[int], None] | None = None,
    max_changes: int = 1000,
    observe: Callable[[str, str, str], None] | None = None,
) -> Report:
    """`backtest` over events given as (id, kind, at, context) rows, as a reader produces
    them (an `Event` per line costs more than replaying it does)."""
    replay = Replay(candidate, live, scene, kind=kind, labels=labels, max_changes=max_changes, observe=observe)
    replay.feed(rows, progress=progress)
    return replay.report()


@dataclass(frozen=True, slots=True)
class Part:
    """The counts of a replay of part of a stream, in plain values (to send between
    processes): what `Replay.merge` adds to another replay's."""

    events: int
    decided: int
    labelled: int
    changed: int
    changes: tuple[tuple[str, int, int], ...]
    tallies: tuple[tuple[tuple[int, ...], int, tuple[int, ...], tuple[int, ...]], ...]  # live, candidate
    last: datetime | None


class Replay:
    """A backtest in progress: both sides' features, counts and the time of the last event,
    fed by `feed` in as many calls as the stream comes in. `feed(rows, decide=False)` only
    feeds the features (it warms them up for a replay that takes the stream over from
    there); `part` and `merge` carry counts from a replay of a later part of the stream."""

    def __init__(
        self,
        candidate: Ruleset,
        live: Ruleset,
        scene: str,
        *,
        kind: str | None = None,
        labels: Mapping[str, bool] | None = None,
        max_changes: int = 1000,
        observe: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.scene = scene
        self.kind = kind or scene
        self.labels = labels or {}
        self.max_changes = max_changes
        self.observe = observe
        self.first, self.second = _Replayer(live, scene), _Replayer(candidate, scene)
        # Both sides read the same catalog (the usual case): prepare each event once for
        # both, and give it each side's readers in turn.
        self.shared = _catalog(live) == _catalog(candidate)
        # A bucket per hash of the ids recorded so far: an id whose bucket is clear is new,
        # so its entries need no search for an earlier copy (what makes a retried event
        # count once).
        self.seen = bytearray(_SEEN_SLOTS)
        self.last: datetime | None = None
        self.events = self.decided = self.labelled = self.changed = 0
        self.changes: list[Change] = []

    @property
    def windows(self) -> int:
        """The longest window of either side's features, in microseconds (0: none)."""
        return max((w.span for side in (self.first, self.second) for w, *_ in side.recorder.features), default=0)

    def feed(
        self,
        rows: Iterable[Row],
        *,
        decide: bool = True,
        progress: Callable[[int], None] | None = None,
        ids: set[str] | None = None,
    ) -> None:
        """Replay `rows`, which come after those fed before (not counted as replayed when
        only warming up). `ids`, when given, gets the id of every row."""
        first, second = self.first, self.second
        kind = self.kind
        shared = self.shared
        records = first.records or second.records
        seen = self.seen
        buckets = _SEEN_SLOTS - 1
        last = self.last
        now = microseconds(last) if last is not None else 0
        replayed = self.events
        decided = self.decided
        labelled = self.labelled
        changed = self.changed
        changes, max_changes, observe = self.changes, self.max_changes, self.observe
        decide_first, decide_second = first.decide, second.decide
        velocity_first, velocity_second = first.velocity, second.velocity
        lists_first, lists_second = first.lists, second.lists
        tally_first, tally_second = first.tally.actions, second.tally.actions
        prepare_first, prepare_second = first.prepare, second.prepare
        record_first = first.recorder.record if first.records else None
        record_second = second.recorder.record if second.records else None
        get_label = self.labels.get if self.labels and decide else None
        every = _PROGRESS_EVERY if progress is not None else -1
        started = replayed
        next_report = replayed + every
        add_id = ids.add if ids is not None else None
        # The replay allocates nothing that forms cycles, while the windows it keeps would
        # make the cyclic collector walk them again and again: it waits until the end.
        try:
            with collector_paused():
                for event_id, event_kind, at, context in rows:
                    if last is not None and at < last:
                        raise InvalidInput(f"event {event_id}: events must come in time order ({at} after {last})")
                    if at is not last:
                        last = at
                        velocity_first.now = velocity_second.now = now = microseconds(at)
                        lists_first.now = lists_second.now = at
                    replayed += 1
                    if add_id is not None:
                        add_id(event_id)
                    ctx = prepare_first(context, now=at)
                    other = ctx if shared else prepare_second(context, now=at)
                    deciding = event_kind == kind
                    if deciding:
                        ctx[VELOCITY_KEY] = velocity_first
                        ctx[LISTS_KEY] = lists_first
                        if decide:
                            decided += 1
                            a = decide_first(ctx)
                        other[VELOCITY_KEY] = velocity_second
                        other[LISTS_KEY] = lists_second
                        if decide:
                            b = decide_second(other)
                            tally_first[a] += 1
                            tally_second[b] += 1
                            if get_label is not None:
                                label = get_label(event_id)
                                if label is not None:
                                    labelled += 1
                                    _score_label(first.tally, a, label)
                                    _score_label(second.tally, b, label)
                            if observe is not None:
                                observe(event_id, ACTIONS[a], ACTIONS[b])
                            if a != b:
                                changed += 1
                                if len(changes) < max_changes:
                                    changes.append(Change(event_id, ACTIONS[a], ACTIONS[b]))
                    if records:
                        h = hash(event_id) & buckets
                        again = seen[h] == 1
                        seen[h] = 1
                        if record_first is not None:
                            if deciding:
                                ctx[VELOCITY_KEY], ctx[LISTS_KEY] = velocity_first, lists_first
                            record_first(event_kind, ctx, now, event_id, again)
                        if record_second is not None:
                            if deciding:
                                other[VELOCITY_KEY], other[LISTS_KEY] = velocity_second, lists_second
                            record_second(event_kind, other, now, event_id, again)
                    if replayed == next_report:
                        progress(every)  # type: ignore[misc]
                        next_report += every
        finally:
            self.last = last
            if decide:  # a warm-up is not part of this replay's count
                self.events = replayed
            self.decided, self.labelled, self.changed = decided, labelled, changed
        if progress is not None and (replayed - started) % every:
            progress((replayed - started) % every)

    def part(self) -> Part:
        def tally(t: _Tally) -> tuple[tuple[int, ...], int, tuple[int, ...], tuple[int, ...]]:
            return tuple(t.actions), t.failed, tuple(t.reject), tuple(t.reject_or_review)

        return Part(self.events, self.decided, self.labelled, self.changed,
                    tuple((c.event, ACTIONS.index(c.live), ACTIONS.index(c.candidate)) for c in self.changes),
                    (tally(self.first.tally), tally(self.second.tally)), self.last)

    def merge(self, part: Part) -> None:
        """Add the counts of the replay of the stream's next part (features warmed up)."""
        self.events += part.events
        self.decided += part.decided
        self.labelled += part.labelled
        self.changed += part.changed
        room = self.max_changes - len(self.changes)
        self.changes.extend(Change(event, ACTIONS[a], ACTIONS[b]) for event, a, b in part.changes[:max(room, 0)])
        for tally, (actions, failed, reject, reject_or_review) in zip((self.first.tally, self.second.tally), part.tallies,
                                                                     strict=True):
            tally.failed += failed
            for counts, more in ((tally.actions, actions), (tally.reject, reject), (tally.reject_or_review, reject_or_review)):
                for index, count in enumerate(more):
                    counts[index] += count
        if part.last is not None:
            self.last = part.last

    def report(self) -> Report:
        report = Report(self.scene, self.events, self.decided, changed=self.changed, labelled=self.labelled)
        report.changes.extend(self.changes)
        self.first.tally.into(report.live)
        self.second.tally.into(report.candidate)
        return report


def _score_label(tally: _Tally, rank: int, label: bool) -> None:
    tally.reject[2 * (rank == 0) + label] += 1
    tally.reject_or_review[2 * (rank <= 1) + label] += 1


def _catalog(ruleset: Ruleset) -> set[tuple[str, str, Any]]:
    return {(tag.path, str(tag.type), repr(tag.default)) for tag in ruleset.program.tags.values()}
