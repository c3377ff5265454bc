"""A backtest on a generated, labelled stream reports the figures computed here independently,
by plain loops over the same events."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import compile_program
from arbiter.engine.backtest import Event, backtest
from arbiter.errors import InvalidInput

CATALOG = """
tag user.id: string
tag payment.card: string
tag payment.amount: money
effect pass()
effect review(reason: string)
effect reject(reason: string)
scene payment { on_failure closed fallback reject(reason: "unavailable") }
"""
LIVE = CATALOG + """
strategy pay_live { scene payment hit first
    rule big { when payment.amount >= 5000 then reject(reason: "big") }
    rule ok { then pass() } }
"""
CANDIDATE = CATALOG + """
strategy pay_next { scene payment hit first
    rule card_day { priority 20 when sum(payment.amount by payment.card within 1d) + payment.amount >= 5000 then reject(reason: "card day") }
    rule burst { priority 10 when count(payment by user.id within 1h) >= 3 then review(reason: "burst") }
    rule ok { then pass() } }
"""
T0 = datetime(2026, 11, 11, tzinfo=UTC)


def ruleset(text: str):  # type: ignore[no-untyped-def]
    result = check_sources({"r.rules": text})
    assert result.ok, [d.message for d in result.diagnostics]
    return compile_program(result)


def stream(seed: int = 7, count: int = 3000) -> tuple[list[Event], dict[str, bool]]:
    rng = random.Random(seed)
    events, labels = [], {}
    at = T0
    for i in range(count):
        at += timedelta(seconds=rng.randint(1, 120))
        user = f"u{rng.randint(1, 60)}"
        card = f"c{rng.randint(1, 40)}"
        amount = Decimal(rng.randint(100, 600000)) / 100
        event = Event(f"e{i}", "payment", at, {"user": {"id": user}, "payment": {"card": card, "amount": str(amount)}})
        events.append(event)
        labels[event.id] = amount > Decimal("3000") and rng.random() < 0.7
    return events, labels


def expected(events: list[Event], labels: dict[str, bool]) -> dict[str, object]:
    """The same decisions, computed by brute force over the stream."""
    live, cand = [], []
    for i, e in enumerate(events):
        amount = Decimal(e.context["payment"]["amount"])
        live.append("reject" if amount >= 5000 else "pass")
        before = events[:i]
        card_day = sum(
            (Decimal(p.context["payment"]["amount"]) for p in before
             if p.context["payment"]["card"] == e.context["payment"]["card"] and e.at - p.at < timedelta(days=1)),
            Decimal(0),
        )
        burst = sum(1 for p in before if p.context["user"]["id"] == e.context["user"]["id"] and e.at - p.at < timedelta(hours=1))
        cand.append("reject" if card_day + amount >= 5000 else "review" if burst >= 3 else "pass")

    def pr(actions: list[str], positive: set[str]) -> tuple[float | None, float | None]:
        tp = sum(1 for e, a in zip(events, actions, strict=True) if a in positive and labels[e.id])
        fp = sum(1 for e, a in zip(events, actions, strict=True) if a in positive and not labels[e.id])
        fn = sum(1 for e, a in zip(events, actions, strict=True) if a not in positive and labels[e.id])
        return (tp / (tp + fp) if tp + fp else None, tp / (tp + fn) if tp + fn else None)

    return {
        "live": {a: live.count(a) for a in ("reject", "review", "pass")},
        "candidate": {a: cand.count(a) for a in ("reject", "review", "pass")},
        "changed": sum(1 for a, b in zip(live, cand, strict=True) if a != b),
        "live_pr": pr(live, {"reject"}),
        "candidate_pr": pr(cand, {"reject"}),
        "candidate_pr_review": pr(cand, {"reject", "review"}),
    }


def test_backtest_reports_what_brute_force_computes() -> None:
    events, labels = stream()
    report = backtest(ruleset(CANDIDATE), ruleset(LIVE), "payment", events, labels=labels)
    want = expected(events, labels)
    assert (report.events, report.decided, report.labelled) == (3000, 3000, 3000)
    assert {a: report.live.actions[a] for a in ("reject", "review", "pass")} == want["live"]
    assert {a: report.candidate.actions[a] for a in ("reject", "review", "pass")} == want["candidate"]
    assert report.changed == want["changed"]
    assert report.live.precision_recall("reject") == want["live_pr"]
    assert report.candidate.precision_recall("reject") == want["candidate_pr"]
    assert report.candidate.precision_recall("reject_or_review") == want["candidate_pr_review"]
    assert all(c.live != c.candidate for c in report.changes)


def test_events_out_of_time_order_are_refused() -> None:
    events, _ = stream(count=3)
    with pytest.raises(InvalidInput, match="events must come in time order"):
        backtest(ruleset(CANDIDATE), ruleset(LIVE), "payment", [events[1], events[0]])
