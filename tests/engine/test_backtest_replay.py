"""The backtest's replay decides exactly as the live engine does.

Random streams of payments and failed logins — a few users, devices and cards so that windows
fill up, gaps that land just before, on and just after the window boundaries, events at the
same instant, retried events (the same id again), payments without a device (the decision
fails and the scene's fallback answers) — are replayed by `backtest` and, event by event, by
the normal `Engine` with an `InMemoryVelocity`: decide when the event is a payment, then
`record_event`, as production does. Each side's per-event action, read from the backtest's
changes against a rule set that always passes, must be the engine's; and the report of the
two rule sets side by side must hold the counts computed here from the engine's decisions.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from arbiter.cli import app
from arbiter.clock import FixedClock
from arbiter.commands import backtest as backtest_command
from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.engine.backtest import ACTIONS, Event, Report, action_of, backtest
from arbiter.engine.engine import Engine
from arbiter.engine.velocity import InMemoryVelocity, record_event

CATALOG = """
tag user.id: string
tag passthrough.device_id: string
tag payment.card: string { default "" }
tag payment.amount: money { default 0 }
effect pass()
effect verify(method: enum("sms", "face"))
effect review(reason: string)
effect reject(reason: string)
scene payment { on_failure closed fallback reject(reason: "unavailable") }
"""
FIRST = CATALOG + """
strategy pay_first { scene payment hit first
    rule failures { priority 30 when count(login_failed by user.id within 10m) >= 2 then reject(reason: "failures") }
    rule card_hour { priority 20 when sum(payment.amount by payment.card within 1h) + payment.amount >= 500
        then review(reason: "card") }
    rule shared { priority 10 when distinct(user.id by passthrough.device_id within 10m) >= 2 then verify(method: "sms") }
    rule ok { then pass() } }
"""
SCORE = CATALOG + """
strategy pay_score { scene payment hit score
    rule burst { score 40 when count(payment by user.id within 10m) >= 2 }
    rule card_hour { score 30 when sum(payment.amount by payment.card within 1h) >= 300 }
    rule shared { score 30 when distinct(user.id by passthrough.device_id within 1h) >= 2 }
    rule failures { score 50 when count(login_failed by user.id within 1h) >= 1 }
    band low { from 0 then pass() }
    band middle { from 40 then verify(method: "sms") }
    band high { from 60 then review(reason: "velocity") }
    band top { from 90 then reject(reason: "velocity") } }
"""
ALL = CATALOG + """
strategy pay_all { scene payment hit all
    rule big_day { group "amount" when sum(payment.amount by payment.card within 1h) >= 800 then reject(reason: "card") }
    rule big { group "amount" when payment.amount >= 200 then review(reason: "big") }
    rule devices { when distinct(passthrough.device_id by user.id within 10m) >= 2 then verify(method: "face") } }
"""
PASS = CATALOG + """
strategy pay_pass { scene payment hit first rule ok { then pass() } }
"""
PASS_OWN = PASS + "tag order.note: string\n"
T0 = datetime(2026, 11, 11, 20, 0, tzinfo=UTC)
# Gaps around the windows (10 minutes, 1 hour): just before, on and just after a boundary.
GAPS = [timedelta(0), timedelta(microseconds=1), timedelta(seconds=59)] + [
    timedelta(seconds=s) + d
    for s in (600, 3600)
    for d in (timedelta(microseconds=-1), timedelta(0), timedelta(microseconds=1))
] + [timedelta(seconds=1800), timedelta(hours=2)]

_RULESETS: dict[str, Ruleset] = {}


def ruleset(text: str) -> Ruleset:
    if text not in _RULESETS:
        result = check_sources({"r.rules": text})
        assert result.ok, [d.message for d in result.diagnostics]
        _RULESETS[text] = compile_program(result)
    return _RULESETS[text]


@dataclass(frozen=True)
class Draft:
    gap: timedelta
    kind: str
    user: int
    device: int | None
    card: int
    cents: int
    retry: int | None  # the index of an earlier event this one repeats (a retry)
    label: bool


drafts = st.builds(
    Draft,
    gap=st.sampled_from(GAPS),
    kind=st.sampled_from(["payment", "payment", "payment", "login_failed"]),
    user=st.integers(1, 4),
    device=st.one_of(st.none(), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    card=st.integers(1, 3),
    cents=st.integers(0, 40_000),
    retry=st.one_of(st.none(), st.none(), st.none(), st.integers(0, 200)),
    label=st.booleans(),
)


def build(stream: list[Draft]) -> tuple[list[Event], dict[str, bool]]:
    events: list[Event] = []
    labels: dict[str, bool] = {}
    at = T0
    for i, draft in enumerate(stream):
        at += draft.gap
        if draft.retry is not None and events:  # a retry: the same event again, later
            earlier = events[draft.retry % len(events)]
            events.append(Event(earlier.id, earlier.kind, at, earlier.context))
            continue
        event_id = f"e{i}"
        context: dict[str, Any] = {
            "user": {"id": f"u{draft.user}"},
            "payment": {"card": f"c{draft.card}",
                        "amount": f"{draft.cents // 100}.{draft.cents % 100:02d}" if draft.cents % 3 else draft.cents // 100},
        }
        if draft.device is not None:
            context["passthrough"] = {"device_id": f"d{draft.device}"}
        events.append(Event(event_id, draft.kind, at, context))
        labels[event_id] = draft.label
    return events, labels


def engine_actions(text: str, events: list[Event]) -> list[tuple[str, bool]]:
    """Each payment's action (and whether its decision failed), by the live engine: decide at
    the event's time, then record the event, in the stream's order."""
    rules = ruleset(text)
    clock = FixedClock(T0)
    velocity = InMemoryVelocity()
    engine = Engine(rules, clock, velocity=velocity)
    actions = []
    for event in events:
        clock.advance(event.at - clock.now())
        if event.kind == "payment":
            decision = engine.decide("payment", event.context)
            actions.append((action_of(e.name for e in decision.effects), decision.failed))
        record_event(rules, velocity, event.kind, event.context, event.at, event.id)
    return actions


def replay_actions(live_text: str, candidate_text: str, events: list[Event]) -> tuple[list[str], list[str]]:
    """Each payment's action on each side, as the backtest decided it."""
    live: list[str] = []
    candidate: list[str] = []

    def observe(event_id: str, a: str, b: str) -> None:
        live.append(a)
        candidate.append(b)

    backtest(ruleset(candidate_text), ruleset(live_text), "payment", events, observe=observe)
    return live, candidate


def expected_report(live: list[tuple[str, bool]], candidate: list[tuple[str, bool]], events: list[Event],
                    labels: dict[str, bool]) -> dict[str, Any]:
    payments = [e for e in events if e.kind == "payment"]

    def side(actions: list[tuple[str, bool]]) -> dict[str, Any]:
        out: dict[str, Any] = {"actions": Counter(a for a, _ in actions), "failed": sum(f for _, f in actions)}
        for which, positive in (("reject", {"reject"}), ("reject_or_review", {"reject", "review"})):
            flagged = [(a in positive, labels[e.id]) for e, (a, _) in zip(payments, actions, strict=True)]
            tp, fp, fn = flagged.count((True, True)), flagged.count((True, False)), flagged.count((False, True))
            out[which] = (tp / (tp + fp) if tp + fp else None, tp / (tp + fn) if tp + fn else None)
        return out

    changes = [(e.id, a, b) for e, (a, _), (b, _) in zip(payments, live, candidate, strict=True) if a != b]
    return {"events": len(events), "decided": len(payments), "labelled": len(payments),
            "live": side(live), "candidate": side(candidate), "changes": changes}


def observed_report(report: Report) -> dict[str, Any]:
    def side(s: Any) -> dict[str, Any]:
        return {"actions": Counter({a: n for a, n in s.actions.items() if n}), "failed": s.failed,
                "reject": s.precision_recall("reject"), "reject_or_review": s.precision_recall("reject_or_review")}

    return {"events": report.events, "decided": report.decided, "labelled": report.labelled,
            "live": side(report.live), "candidate": side(report.candidate),
            "changes": [(c.event, c.live, c.candidate) for c in report.changes]}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=st.lists(drafts, min_size=1, max_size=120), pair=st.sampled_from([(FIRST, SCORE), (SCORE, ALL), (ALL, FIRST)]))
def test_the_replay_decides_each_event_as_the_live_engine_does(stream: list[Draft], pair: tuple[str, str]) -> None:
    events, labels = build(stream)
    live_text, candidate_text = pair
    live, candidate = engine_actions(live_text, events), engine_actions(candidate_text, events)
    assert replay_actions(live_text, candidate_text, events) == ([a for a, _ in live], [a for a, _ in candidate])
    # Against a rule set with a catalog of its own, so that each side prepares the events.
    assert replay_actions(PASS_OWN, candidate_text, events)[1] == [a for a, _ in candidate]

    report = backtest(ruleset(candidate_text), ruleset(live_text), "payment", events, labels=labels,
                      max_changes=len(events))
    want = expected_report(live, candidate, events, labels)
    assert observed_report(report) == want
    assert report.changed == len(want["changes"])


def test_a_known_stream_gives_known_decisions() -> None:
    """Boundaries by hand: the 10-minute window excludes its oldest moment, a retried event
    counts once, a payment without a device fails closed."""
    at = [T0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=10), T0 + timedelta(minutes=10, microseconds=1)]
    pay = {"user": {"id": "u1"}, "passthrough": {"device_id": "d1"}, "payment": {"card": "c1", "amount": "10.00"}}
    events = [
        Event("f1", "login_failed", at[0], pay),
        Event("f2", "login_failed", at[1], pay),
        Event("f2", "login_failed", at[1], pay),  # retried: counted once
        Event("p1", "payment", at[1], pay),  # two failures within 10 minutes: reject
        Event("p2", "payment", at[2], pay),  # f1 left the window at exactly 10 minutes: one failure
        Event("p3", "payment", at[3], {"user": {"id": "u2"}, "payment": {"card": "c2", "amount": "1"}}),  # no device
    ]
    assert [a for a, _ in engine_actions(FIRST, events)] == replay_actions(PASS, FIRST, events)[1] == [
        "reject", "pass", "reject"]
    assert [f for _, f in engine_actions(FIRST, events)] == [False, False, True]
    report = backtest(ruleset(FIRST), ruleset(PASS), "payment", events)
    assert (report.events, report.decided, report.candidate.failed, report.live.failed) == (6, 3, 1, 0)
    assert dict(report.candidate.actions) == {"reject": 2, "pass": 1}


@pytest.mark.parametrize(("parallel", "retry"), [(False, None), (True, None), (True, 3)])
def test_the_command_reports_what_the_engine_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     parallel: bool, retry: int | None) -> None:
    """`arbiter backtest` on a JSON-lines file (with a blank line, a `Z` time and an indented
    line) reports what the engine decides for the same events; in one process, in two (the
    file split, the second part's features warmed up), and in two with an event retried
    across the split (the child's part is not taken: this process replays it)."""
    if parallel:
        monkeypatch.setattr(backtest_command, "PARALLEL_BYTES", 0)
    events, labels = build([
        Draft(GAPS[i % len(GAPS)], "payment" if i % 4 else "login_failed", 1 + i % 3, None if i % 7 == 0 else 1 + i % 2,
              1 + i % 2, (i * 7919) % 40_000, retry if i == 290 else None, i % 5 == 0)
        for i in range(300)
    ])
    lines = [json.dumps({"id": e.id, "kind": e.kind, "at": e.at.isoformat().replace("+00:00", "Z"),
                         "context": e.context}) + "\n" for e in events]
    lines.insert(10, "\n")
    lines[20] = "  " + lines[20]
    (tmp_path / "events.jsonl").write_text("".join(lines), encoding="utf-8")
    (tmp_path / "labels.jsonl").write_text(
        "".join(json.dumps({"id": k, "label": v}) + "\n" for k, v in labels.items()), encoding="utf-8")
    (tmp_path / "live.rules").write_text(FIRST, encoding="utf-8")
    (tmp_path / "candidate.rules").write_text(SCORE, encoding="utf-8")
    result = CliRunner().invoke(app, [
        "backtest", str(tmp_path / "candidate.rules"), "--live", str(tmp_path / "live.rules"), "--scene", "payment",
        "--events", str(tmp_path / "events.jsonl"), "--labels", str(tmp_path / "labels.jsonl"), "--format", "json",
    ])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    want = expected_report(engine_actions(FIRST, events), engine_actions(SCORE, events), events, labels)
    assert (got["events"], got["decided"], got["labelled"]) == (300, want["decided"], want["decided"])
    for name in ("live", "candidate"):
        assert got[name]["actions"] == {a: want[name]["actions"][a] for a in ACTIONS}
        assert got[name]["failed"] == want[name]["failed"]
        for which in ("reject", "reject_or_review"):
            assert (got[name][which]["precision"], got[name][which]["recall"]) == want[name][which]
    assert [(c["event"], c["live"], c["candidate"]) for c in got["changes"]] == want["changes"]
    assert want["live"]["failed"] > 0 and len(want["changes"]) > 10
