"""The lifecycle of each promotion declared in the rules (活动生命周期).

An operator or merchant submits a draft; the platform approves it or rejects it back to draft
with a reason. Once approved, its status follows the clock and its window: `scheduled` before
`starts`, `active` inside the window, `ended` from `ends` on. An operator may pause it
(while scheduled or active), resume it, or end it early.

    draft --submit--> submitted --approve--> approved (scheduled | active | ended by the clock)
    submitted --reject (with a reason)--> draft          submitted --withdraw--> draft
    scheduled, active --pause--> paused --resume--> approved
    scheduled, active, paused --end--> ended

Stored states are draft, submitted, approved, paused and ended (no row: draft); the status
people see is computed from the stored state, the window in the current rules and `now`, so
an approved promotion starts and stops on time without anyone moving it. Every transition
records who, when and why; an illegal one is refused with a reason (a value, never an
exception). A transition locks the promotion's row, so two racing operators are serialised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row

from arbiter.dsl.model import Program, Promotion
from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.promotions.models import LIFECYCLES, TRANSITIONS
from arbiter.platform.sql import insert_if_absent, write_lock

DRAFT = "draft"
SUBMITTED = "submitted"
APPROVED = "approved"  # stored only: shown as scheduled, active or ended
SCHEDULED = "scheduled"
ACTIVE = "active"
PAUSED = "paused"
ENDED = "ended"
STATUSES = (DRAFT, SUBMITTED, SCHEDULED, ACTIVE, PAUSED, ENDED)

SUBMIT = "submit"
WITHDRAW = "withdraw"
APPROVE = "approve"
REJECT = "reject"
PAUSE = "pause"
RESUME = "resume"
END = "end"

# action -> (the statuses it may start from, the stored state it leads to)
MOVES: Mapping[str, tuple[frozenset[str], str]] = {
    SUBMIT: (frozenset({DRAFT}), SUBMITTED),
    WITHDRAW: (frozenset({SUBMITTED}), DRAFT),
    APPROVE: (frozenset({SUBMITTED}), APPROVED),
    REJECT: (frozenset({SUBMITTED}), DRAFT),
    PAUSE: (frozenset({SCHEDULED, ACTIVE}), PAUSED),
    RESUME: (frozenset({PAUSED}), APPROVED),
    END: (frozenset({SCHEDULED, ACTIVE, PAUSED}), ENDED),
}

UNKNOWN_PROMOTION = "unknown promotion"
REASON_REQUIRED = "a rejection needs a reason"
WINDOW_OVER = "its window is over"


@dataclass(frozen=True, slots=True)
class Transition:
    """The outcome of a lifecycle action: the status after it (unchanged when refused) and
    why it was refused (None when it was not)."""

    promotion: str
    action: str
    status: str
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class Step:
    """One transition made, as recorded."""

    promotion: str
    action: str
    from_status: str
    to_status: str
    by: str
    why: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LifecycleView:
    """A promotion's lifecycle now: its status, the stored state, the last rejection's
    reason, and who moved it last and when (None for a draft never moved)."""

    promotion: str
    status: str
    state: str
    rejection: str | None
    updated_by: str | None
    updated_at: datetime | None


def effective(state: str, promotion: Promotion, now: datetime) -> str:
    """The status shown for a stored `state`, given the promotion's window and `now`."""
    start, end = promotion.window
    at = utc(now)
    if state in (APPROVED, PAUSED) and end is not None and at >= utc(end):
        return ENDED
    if state == APPROVED:
        return SCHEDULED if start is not None and at < utc(start) else ACTIVE
    return state


def statuses(uow: UnitOfWork, program: Program, now: datetime) -> dict[str, str]:
    """The status of every promotion in `program` at `now` (one query)."""
    stored = {row.name: row.state for row in uow.session.execute(
        select(LIFECYCLES.c.name, LIFECYCLES.c.state).where(LIFECYCLES.c.name.in_(list(program.promotions)))
    )}
    return {name: effective(stored.get(name, DRAFT), p, now) for name, p in sorted(program.promotions.items())}


def status_of(uow: UnitOfWork, program: Program, promotion: str, now: datetime) -> str | None:
    """The status of one promotion at `now`; None when the rules do not declare it."""
    view = lifecycle(uow, program, promotion, now)
    return None if view is None else view.status


def lifecycle(uow: UnitOfWork, program: Program, promotion: str, now: datetime) -> LifecycleView | None:
    p = program.promotions.get(promotion)
    if p is None:
        return None
    row = uow.session.execute(select(LIFECYCLES).where(LIFECYCLES.c.name == promotion)).first()
    if row is None:
        return LifecycleView(promotion, DRAFT, DRAFT, None, None, None)
    return LifecycleView(promotion, effective(row.state, p, now), row.state, row.reason, row.updated_by,
                         as_utc(row.updated_at))


def history(uow: UnitOfWork, promotion: str) -> list[Step]:
    """Every transition of `promotion`, oldest first."""
    rows = uow.session.execute(
        select(TRANSITIONS).where(TRANSITIONS.c.promotion == promotion).order_by(TRANSITIONS.c.id)
    ).all()
    return [Step(r.promotion, r.action, r.from_status, r.to_status, r.by, r.why, utc(r.at)) for r in rows]


def _locked_row(uow: UnitOfWork, promotion: str, by: str, now: datetime) -> Row[Any]:
    """The promotion's row, locked until the commit; a draft's row is created first."""
    uow.session.execute(insert_if_absent(LIFECYCLES, uow.engine.dialect.name, dict(
        name=promotion, state=DRAFT, version=0, reason=None, updated_by=by, updated_at=utc(now))))
    row = uow.session.execute(
        select(LIFECYCLES).where(LIFECYCLES.c.name == promotion).with_for_update()).first()
    assert row is not None, "the row was just inserted or was there"
    return row


def transition(
    uow: UnitOfWork, program: Program, promotion: str, action: str, *, by: str, now: datetime,
    why: str = "",
) -> Transition:
    """Apply `action` to `promotion` at `now` on behalf of `by`; commits when it moved."""
    if action not in MOVES:
        raise ValueError(f"unknown lifecycle action {action!r}")
    p = program.promotions.get(promotion)
    if p is None:
        return Transition(promotion, action, DRAFT, UNKNOWN_PROMOTION)
    sources, target = MOVES[action]
    if action == REJECT and not why.strip():
        status = status_of(uow, program, promotion, now) or DRAFT
        uow.session.rollback()
        return Transition(promotion, action, status, REASON_REQUIRED)
    write_lock(uow.session.connection())
    row = _locked_row(uow, promotion, by, now)
    before = effective(row.state, p, now)
    reason: str | None = None
    if before not in sources:
        reason = f"cannot {action} a promotion that is {before}"
    elif action in (SUBMIT, APPROVE) and p.window[1] is not None and utc(now) >= utc(p.window[1]):
        reason = f"{WINDOW_OVER} (it ended at {utc(p.window[1]).isoformat()})"
    if reason is not None:
        uow.session.rollback()
        return Transition(promotion, action, before, reason)
    uow.session.execute(
        update(LIFECYCLES).where(LIFECYCLES.c.name == promotion).values(
            state=target, version=LIFECYCLES.c.version + 1, updated_by=by, updated_at=utc(now),
            reason=why if action == REJECT else (None if action == SUBMIT else LIFECYCLES.c.reason),
        )
    )
    after = effective(target, p, now)
    uow.session.execute(insert(TRANSITIONS).values(
        promotion=promotion, action=action, from_status=before, to_status=after, by=by, why=why,
        at=utc(now)))
    uow.commit()
    return Transition(promotion, action, after)


def submit(uow: UnitOfWork, program: Program, promotion: str, *, by: str, now: datetime,
           why: str = "") -> Transition:
    return transition(uow, program, promotion, SUBMIT, by=by, now=now, why=why)


def withdraw(uow: UnitOfWork, program: Program, promotion: str, *, by: str, now: datetime,
             why: str = "") -> Transition:
    return transition(uow, program, promotion, WITHDRAW, by=by, now=now, why=why)


def approve(uow: UnitOfWork, program: Program, promotion: str, *, by: str, now: datetime,
            why: str = "") -> Transition:
    return transition(uow, program, promotion, APPROVE, by=by, now=now, why=why)


def reject(uow: UnitOfWork, program: Program, promotion: str, *, by: str, now: datetime,
           why: str) -> Transition:
    return transition(uow, program, promotion, REJECT, by=by, now=now, why=why)


def pause(uow: UnitOfWork, program: Program, promotion: str, *, by: str, now: datetime,
          why: str = "") -> Transition:
    return transition(uow, program, promotion, PAUSE, by=by, now=now, why=why)


def resume(uow: UnitOfWork, program: Program, promotion: str, *, by: str, now: datetime,
           why: str = "") -> Transition:
    return transition(uow, program, promotion, RESUME, by=by, now=now, why=why)


def end(uow: UnitOfWork, program: Program, promotion: str, *, by: str, now: datetime,
        why: str = "") -> Transition:
    return transition(uow, program, promotion, END, by=by, now=now, why=why)


def approve_all(uow: UnitOfWork, program: Program, by: str, why: str, now: datetime) -> dict[str, str]:
    """Submit and approve every promotion still in draft or submitted (bootstrapping a demo);
    paused and ended ones stay as they are. Returns every promotion's status after."""
    for name in sorted(program.promotions):
        status = status_of(uow, program, name, now)
        uow.session.rollback()  # end the read: each transition takes the write lock afresh
        if status == DRAFT:
            submit(uow, program, name, by=by, now=now, why=why)
            status = SUBMITTED
        if status == SUBMITTED:
            approve(uow, program, name, by=by, now=now, why=why)
    result = statuses(uow, program, now)
    uow.session.rollback()
    return result
