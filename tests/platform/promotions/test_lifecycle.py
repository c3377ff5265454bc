"""Promotion lifecycles: every path with its exact status as the clock moves, refusals with
their reasons, and who/when/why recorded for each transition. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from arbiter.clock import FixedClock
from arbiter.platform.db import UnitOfWork
from arbiter.platform.promotions import lifecycle as lc

from .live_support import clean, compiled
from .support import T0, run

RULES = compiled("""
promotion sale { display "双11直降" type item_cut stacks all calc cut amount 10 CNY
    starts 2026-11-12T00:00:00+00:00 ends 2026-11-14T00:00:00+00:00 }
promotion always { display "常驻直降" type item_cut stacks all calc cut amount 5 CNY }
""")
PROGRAM = RULES.program
STARTS = datetime(2026, 11, 12, tzinfo=UTC)
ENDS = datetime(2026, 11, 14, tzinfo=UTC)


@pytest.fixture
def database(db: Engine) -> Engine:
    return clean(db)


def status(database: Engine, at: datetime, name: str = "sale") -> str:
    return run(database, lc.statuses, PROGRAM, at)[name]


def act(database: Engine, action: str, at: datetime, name: str = "sale", by: str = "op-1",
        why: str = "") -> lc.Transition:
    return run(database, lc.transition, PROGRAM, name, action, by=by, now=at, why=why)


def test_from_draft_to_ended_following_the_clock(database: Engine) -> None:
    clock = FixedClock(T0)
    assert run(database, lc.statuses, PROGRAM, clock.now()) == {"always": "draft", "sale": "draft"}
    assert act(database, lc.SUBMIT, clock.now(), by="merchant-7", why="for Singles' Day") == \
        lc.Transition("sale", "submit", "submitted")
    assert act(database, lc.APPROVE, clock.now(), by="lead-1", why="budget checked") == \
        lc.Transition("sale", "approve", "scheduled")
    assert status(database, STARTS - timedelta(microseconds=1)) == "scheduled"
    assert status(database, STARTS) == "active"  # starts is inclusive
    clock.advance(STARTS - T0 + timedelta(hours=6))
    assert act(database, lc.PAUSE, clock.now(), why="price complaint").status == "paused"
    assert status(database, clock.now() + timedelta(hours=12)) == "paused"  # the clock does not resume it
    clock.advance(timedelta(hours=18))
    assert act(database, lc.RESUME, clock.now(), why="fixed").status == "active"
    assert status(database, ENDS - timedelta(microseconds=1)) == "active"
    assert status(database, ENDS) == "ended"  # ends is exclusive
    assert status(database, T0) == "scheduled"  # the status is a function of the time asked about
    steps = run(database, lc.history, "sale")
    assert [(s.action, s.from_status, s.to_status, s.by, s.why, s.at) for s in steps] == [
        ("submit", "draft", "submitted", "merchant-7", "for Singles' Day", T0),
        ("approve", "submitted", "scheduled", "lead-1", "budget checked", T0),
        ("pause", "active", "paused", "op-1", "price complaint", STARTS + timedelta(hours=6)),
        ("resume", "paused", "active", "op-1", "fixed", STARTS + timedelta(hours=24)),
    ]


def test_a_rejection_goes_back_to_draft_with_its_reason(database: Engine) -> None:
    act(database, lc.SUBMIT, T0)
    no_reason = act(database, lc.REJECT, T0, by="lead-1", why="  ")
    assert (no_reason.ok, no_reason.status, no_reason.reason) == (False, "submitted", lc.REASON_REQUIRED)
    rejected = act(database, lc.REJECT, T0, by="lead-1", why="the cut exceeds the margin")
    assert (rejected.ok, rejected.status) == (True, "draft")
    view = run(database, lc.lifecycle, PROGRAM, "sale", T0)
    assert view == lc.LifecycleView("sale", "draft", "draft", "the cut exceeds the margin", "lead-1", T0)
    assert act(database, lc.APPROVE, T0).reason == "cannot approve a promotion that is draft"
    assert act(database, lc.SUBMIT, T0 + timedelta(hours=1)).status == "submitted"
    resubmitted = run(database, lc.lifecycle, PROGRAM, "sale", T0)
    assert resubmitted is not None and resubmitted.rejection is None  # a new submission starts clean
    assert act(database, lc.WITHDRAW, T0 + timedelta(hours=2), by="merchant-7").status == "draft"
    assert [(s.action, s.to_status) for s in run(database, lc.history, "sale")] == [
        ("submit", "submitted"), ("reject", "draft"), ("submit", "submitted"), ("withdraw", "draft")]


def test_illegal_transitions_are_refused_with_a_reason_and_leave_no_trace(database: Engine) -> None:
    assert act(database, lc.PAUSE, T0).reason == "cannot pause a promotion that is draft"
    assert act(database, lc.END, T0).reason == "cannot end a promotion that is draft"
    assert act(database, lc.WITHDRAW, T0).reason == "cannot withdraw a promotion that is draft"
    assert act(database, lc.SUBMIT, T0, name="nope") == lc.Transition("nope", "submit", "draft", lc.UNKNOWN_PROMOTION)
    act(database, lc.SUBMIT, T0)
    assert act(database, lc.SUBMIT, T0).reason == "cannot submit a promotion that is submitted"
    assert act(database, lc.PAUSE, T0).reason == "cannot pause a promotion that is submitted"
    act(database, lc.APPROVE, T0)
    assert act(database, lc.RESUME, T0).reason == "cannot resume a promotion that is scheduled"
    assert act(database, lc.APPROVE, T0).reason == "cannot approve a promotion that is scheduled"
    assert act(database, lc.PAUSE, ENDS).reason == "cannot pause a promotion that is ended"
    assert act(database, lc.END, ENDS).reason == "cannot end a promotion that is ended"
    assert len(run(database, lc.history, "sale")) == 2


def test_nothing_is_submitted_or_approved_once_its_window_is_over(database: Engine) -> None:
    late = act(database, lc.SUBMIT, ENDS)
    assert (late.ok, late.status, late.reason) == (False, "draft", "its window is over (it ended at 2026-11-14T00:00:00+00:00)")
    act(database, lc.SUBMIT, T0)
    assert act(database, lc.APPROVE, ENDS + timedelta(days=1)).reason.startswith(lc.WINDOW_OVER)  # type: ignore[union-attr]
    assert status(database, ENDS + timedelta(days=1)) == "submitted"


def test_a_paused_promotion_still_ends_with_its_window_and_cannot_resume(database: Engine) -> None:
    act(database, lc.SUBMIT, T0)
    act(database, lc.APPROVE, T0)
    assert act(database, lc.PAUSE, T0).status == "paused"  # paused while still scheduled
    assert status(database, STARTS) == "paused"
    assert status(database, ENDS) == "ended"
    assert act(database, lc.RESUME, ENDS).reason == "cannot resume a promotion that is ended"


def test_an_operator_ends_a_promotion_early_for_good(database: Engine) -> None:
    act(database, lc.SUBMIT, T0)
    act(database, lc.APPROVE, T0)
    ended = act(database, lc.END, STARTS + timedelta(hours=1), by="lead-1", why="stock sold out")
    assert (ended.ok, ended.status) == (True, "ended")
    assert status(database, STARTS + timedelta(hours=2)) == "ended"
    assert status(database, T0) == "ended"  # ended by hand, whatever the window says
    assert act(database, lc.RESUME, STARTS + timedelta(hours=2)).reason == "cannot resume a promotion that is ended"
    last = run(database, lc.history, "sale")[-1]
    assert (last.action, last.from_status, last.to_status, last.by, last.why) == (
        "end", "active", "ended", "lead-1", "stock sold out")


def test_without_a_window_an_approved_promotion_is_active_at_once(database: Engine) -> None:
    act(database, lc.SUBMIT, T0, name="always")
    assert act(database, lc.APPROVE, T0, name="always").status == "active"
    assert act(database, lc.END, T0, name="always").status == "ended"


def test_approve_all_bootstraps_the_demo_once(database: Engine) -> None:
    act(database, lc.SUBMIT, T0)
    statuses = run(database, lc.approve_all, PROGRAM, "bootstrap", "demo data", T0)
    assert statuses == {"always": "active", "sale": "scheduled"}
    assert [(s.action, s.by) for s in run(database, lc.history, "always")] == [
        ("submit", "bootstrap"), ("approve", "bootstrap")]
    assert [s.action for s in run(database, lc.history, "sale")] == ["submit", "approve"]
    act(database, lc.END, T0, name="always")
    assert run(database, lc.approve_all, PROGRAM, "bootstrap", "again", T0) == {"always": "ended", "sale": "scheduled"}
    assert len(run(database, lc.history, "sale")) == 2


def test_an_unknown_action_is_a_programming_error(database: Engine) -> None:
    with UnitOfWork(database) as uow, pytest.raises(ValueError, match="unknown lifecycle action"):
        lc.transition(uow, PROGRAM, "sale", "launch", by="op-1", now=T0)
