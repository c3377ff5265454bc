"""The review queue (人工审核): a `review` decision opens a case for an operator, who approves or
rejects it; the waiting order, payment, withdrawal, registration or credit application then
resumes or is cancelled.

A case keeps the decision's effects and its explanation (every rule, whether it matched, the
value of each sub-expression: decide with `explain=True`), an SLA due time per scene, its
status and assignee, and an audit trail of every action in `risk_review_action`.

    open --approve--> approved      (only before due_at)
    open --reject---> rejected
    open --expire---> expired       (expire_overdue, once due_at has passed)

Each move is one conditional UPDATE (`... WHERE status = 'open'`): of concurrent deciders
exactly one wins; the others get a refusal with the reason (`already approved`), and the
same operator repeating the same move gets it back as `replayed`. Overdue cases are not
escalated: they expire and the subject is cancelled, as the risk scenes fail closed — an
operator who did not look in time does not let a held payment through late; the user may
try again and be decided afresh.

Resuming is not this module's business: the caller passes `Resumers`, a mapping of subject
kind to `resume(uow, subject_id, approved, now)`, which the order, payment and withdrawal
modules fill with their own functions — dependencies point one way. The resumer runs in the
same transaction as the move, so a case never ends without its subject following (nor the
reverse). A kind with no resumer is refused before anything changes. Each move also emits a
`risk.review.<status>` event in the transaction.

The values (Case, ReviewResult, Sla, Resumers, errors) live in `cases.py`.
`open_case` is called inside the caller's use case and does not commit; `assign`, `approve`,
`reject` commit once; `expire_overdue` commits once per case it expires.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from arbiter.engine.decision import Decision
from arbiter.errors import Conflict, InvalidInput
from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.risk.cases import (
    DEFAULT_SLA,
    OVERDUE,
    Case,
    CaseAction,
    CaseNotFound,
    NoResumer,
    Resumer,
    Resumers,
    ReviewResult,
    Sla,
    mask_ip,
    masked,
)
from arbiter.platform.risk.models import (
    APPROVED,
    CASE_STATUSES,
    EXPIRED,
    KEY_LENGTH,
    OPEN,
    REJECTED,
    SUBJECT_KINDS,
    VALUE_LENGTH,
    RiskReviewAction,
    RiskReviewCase,
)
from arbiter.platform.sql import insert_if_absent, write_lock

__all__ = [
    "DEFAULT_SLA", "OVERDUE", "Case", "CaseAction", "CaseNotFound", "NoResumer", "Resumer", "Resumers",
    "ReviewResult", "Sla", "approve", "assign", "case", "expire_overdue", "list_cases", "mask_ip", "open_case",
    "reject",
]

CASES = getattr(RiskReviewCase, "__table__")  # noqa: B009 - typed as a Table here
ACTIONS = getattr(RiskReviewAction, "__table__")  # noqa: B009
SYSTEM = "system"  # the actor of what no person did: opening, expiring
ACTOR_LENGTH = 200

# ---------------------------------------------------------------------------- opening


def _text(value: str, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInput(f"{what}: give 1 to {limit} characters")
    return value


def explanation_of(decision: Decision) -> dict[str, Any]:
    """What a case keeps of a decision besides its effects: the strategy, ruleset, fired
    rules, score, failure and the trace of every rule."""
    whole = decision.to_json()
    kept = {k: whole[k] for k in ("strategy", "ruleset", "experiment", "variant", "fired", "score", "failed",
                                  "failure_policy", "reason")}
    kept["trace"] = masked(whole["trace"])
    return kept


def open_case(
    uow: UnitOfWork,
    decision: Decision,
    *,
    subject_kind: str,
    subject_id: str,
    sla: Sla | timedelta = DEFAULT_SLA,
    now: datetime,
    key: str,
) -> str:
    """Open a case for a `review` decision about the subject that waits on it, due by the
    scene's SLA; returns its id. Idempotent by `key` (the same key for another subject is a
    Conflict). Inside the caller's use case: does not commit."""
    if subject_kind not in SUBJECT_KINDS:
        raise InvalidInput(f"subject_kind: `{subject_kind}` is not one of {', '.join(SUBJECT_KINDS)}")
    _text(subject_id, "subject_id", VALUE_LENGTH)
    _text(key, "key", KEY_LENGTH)
    reviews = [e for e in decision.effects if e.name == "review"]
    if not reviews:
        raise InvalidInput(f"the decision of scene `{decision.scene}` asks for no review: no case to open")
    if decision.strategy is not None and not decision.trace:
        raise InvalidInput("decide with explain=True: a case keeps the decision's explanation")
    due = sla.due(decision.scene, now) if isinstance(sla, Sla) else Sla(default=sla).due(decision.scene, now)
    reasons = [str(e.get("reason", "")) for e in reviews]
    case_id = "rc_" + secrets.token_hex(12)
    values = dict(
        id=case_id, key=key, scene=decision.scene, subject_kind=subject_kind, subject_id=subject_id,
        reasons=json.dumps(reasons, ensure_ascii=False),
        effects=json.dumps([e.to_json() for e in decision.effects], ensure_ascii=False),
        explanation=json.dumps(explanation_of(decision), ensure_ascii=False, default=str),
        opened_at=utc(now), due_at=due, status=OPEN,
    )
    inserted = uow.session.execute(
        insert_if_absent(CASES, uow.engine.dialect.name, values).returning(CASES.c.id)).first()
    if inserted is None:
        row = uow.session.execute(select(CASES.c.id, CASES.c.subject_kind, CASES.c.subject_id)
                                  .where(CASES.c.key == key)).one()
        if (row.subject_kind, row.subject_id) != (subject_kind, subject_id):
            raise Conflict(f"key `{key}` opened case {row.id} for {row.subject_kind} {row.subject_id}",
                           code="risk.review.key_reused")
        return str(row.id)
    _act(uow, case_id, SYSTEM, "open", "; ".join(reasons), now)
    events.emit(uow, "risk.review.opened", case_id, {
        "scene": decision.scene, "subject_kind": subject_kind, "subject_id": subject_id,
        "reasons": reasons, "due_at": due.isoformat(),
    }, utc(now))
    return case_id


# ---------------------------------------------------------------------------- moving


def _act(uow: UnitOfWork, case_id: str, actor: str, action: str, note: str, now: datetime) -> None:
    uow.session.execute(ACTIONS.insert().values(case_id=case_id, at=utc(now), actor=actor, action=action,
                                                note=note))


def _row(uow: UnitOfWork, case_id: str) -> Any:
    row = uow.session.execute(select(CASES).where(CASES.c.id == case_id)).one_or_none()
    if row is None:
        raise CaseNotFound(f"review case {case_id} was not found")
    return row


def _operator(operator: str) -> str:
    return _text(operator, "operator", ACTOR_LENGTH).strip()


def assign(uow: UnitOfWork, case_id: str, operator: str, now: datetime, *, by: str | None = None) -> ReviewResult:
    """Give an open case to `operator` (again, or to another: the trail keeps each), as
    `by` (the operator themselves when absent). Commits."""
    operator = _operator(operator)
    actor = operator if by is None else _operator(by)
    write_lock(uow.session.connection())
    before = _row(uow, case_id)
    moved = uow.session.execute(update(CASES).where(CASES.c.id == case_id, CASES.c.status == OPEN)
                                .values(assignee=operator))
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return ReviewResult(case_id, before.status, f"already {before.status}")
    parts = [f"to {operator}"] if actor != operator else []
    if before.assignee and before.assignee != operator:
        parts.append(f"from {before.assignee}")
    _act(uow, case_id, actor, "assign", ", ".join(parts), now)
    uow.commit()
    return ReviewResult(case_id, OPEN)


def approve(uow: UnitOfWork, case_id: str, operator: str, note: str, now: datetime, *,
            resumers: Mapping[str, Resumer]) -> ReviewResult:
    """Approve an open case before it is due and resume its subject, in one transaction. Commits."""
    return _decide(uow, case_id, operator, note, now, APPROVED, resumers)


def reject(uow: UnitOfWork, case_id: str, operator: str, note: str, now: datetime, *,
           resumers: Mapping[str, Resumer]) -> ReviewResult:
    """Reject an open case (a note saying why is required) and cancel its subject. Commits."""
    if not isinstance(note, str) or not note.strip():
        raise InvalidInput("note: say why the case is rejected")
    return _decide(uow, case_id, operator, note, now, REJECTED, resumers)


def _resumer(resumers: Mapping[str, Resumer], kind: str) -> Resumer:
    resumer = resumers.get(kind)
    if resumer is None:
        raise NoResumer(f"no resumer is registered for subject kind `{kind}`: the case cannot be decided")
    return resumer


def _decide(uow: UnitOfWork, case_id: str, operator: str, note: str, now: datetime, status: str,
            resumers: Mapping[str, Resumer]) -> ReviewResult:
    operator = _operator(operator)
    if not isinstance(note, str):
        raise InvalidInput("note: a text (it may be empty when approving)")
    write_lock(uow.session.connection())
    row = _row(uow, case_id)
    resume = _resumer(resumers, row.subject_kind)
    condition = [CASES.c.id == case_id, CASES.c.status == OPEN]
    if status == APPROVED:
        condition.append(CASES.c.due_at > utc(now))
    moved = uow.session.execute(
        update(CASES).where(*condition).values(
            status=status, decided_by=operator, decided_at=utc(now), note=note,
            assignee=func.coalesce(CASES.c.assignee, operator),
        )
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        current = _row(uow, case_id)  # as committed now: the winner's move
        if current.status == status and current.decided_by == operator:
            return ReviewResult(case_id, status, replayed=True)
        if current.status == OPEN:
            return ReviewResult(case_id, OPEN, OVERDUE)
        return ReviewResult(case_id, current.status, f"already {current.status}")
    _act(uow, case_id, operator, "approve" if status == APPROVED else "reject", note, now)
    resume(uow, row.subject_id, status == APPROVED, utc(now))
    _emit(uow, row, status, operator, now)
    uow.commit()
    return ReviewResult(case_id, status)


def _emit(uow: UnitOfWork, row: Any, status: str, actor: str, now: datetime) -> None:
    events.emit(uow, f"risk.review.{status}", row.id, {
        "scene": row.scene, "subject_kind": row.subject_kind, "subject_id": row.subject_id, "by": actor,
    }, utc(now))


def expire_overdue(uow: UnitOfWork, now: datetime, *, resumers: Mapping[str, Resumer],
                   limit: int = 1000) -> list[str]:
    """Expire the open cases due at or before `now` (most overdue first) and cancel their
    subjects; returns their ids. Every kind among them needs a resumer, checked before any
    change. Commits once per case, so a sweep that stops half-way keeps what it did."""
    write_lock(uow.session.connection())
    due = select(CASES.c.id, CASES.c.subject_kind).where(CASES.c.status == OPEN, CASES.c.due_at <= utc(now))
    overdue = list(uow.session.execute(due.order_by(CASES.c.due_at, CASES.c.id).limit(max(1, limit))))
    for kind in sorted({row.subject_kind for row in overdue}):
        _resumer(resumers, kind)
    expired: list[str] = []
    for case_id, kind in overdue:
        write_lock(uow.session.connection())  # after a commit, the next transaction locks again
        moved = uow.session.execute(update(CASES).where(
            CASES.c.id == case_id, CASES.c.status == OPEN, CASES.c.due_at <= utc(now),
        ).values(status=EXPIRED, decided_by=SYSTEM, decided_at=utc(now), note="past its SLA"))
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            continue  # decided meanwhile
        row = _row(uow, case_id)
        due_at = as_utc(row.due_at)
        assert due_at is not None
        _act(uow, case_id, SYSTEM, "expire", f"due at {due_at.isoformat()}", now)
        resumers[kind](uow, row.subject_id, False, utc(now))
        _emit(uow, row, EXPIRED, SYSTEM, now)
        uow.commit()
        expired.append(case_id)
    return expired


# ---------------------------------------------------------------------------- reading


def _case(row: Any, actions: tuple[CaseAction, ...] = ()) -> Case:
    opened_at, due_at = as_utc(row.opened_at), as_utc(row.due_at)
    assert opened_at is not None and due_at is not None
    return Case(
        id=row.id, scene=row.scene, subject_kind=row.subject_kind, subject_id=row.subject_id,
        reasons=tuple(json.loads(row.reasons)), effects=tuple(json.loads(row.effects)),
        explanation=json.loads(row.explanation), opened_at=opened_at, due_at=due_at, status=row.status,
        assignee=row.assignee, decided_by=row.decided_by, decided_at=as_utc(row.decided_at), note=row.note,
        actions=actions,
    )


def case(uow: UnitOfWork, case_id: str) -> Case | None:
    """A case with its whole trail, or None."""
    row = uow.session.execute(select(CASES).where(CASES.c.id == case_id)).one_or_none()
    if row is None:
        return None
    trail = uow.session.execute(select(ACTIONS).where(ACTIONS.c.case_id == case_id).order_by(ACTIONS.c.id))
    actions = []
    for a in trail:
        at = as_utc(a.at)
        assert at is not None
        actions.append(CaseAction(at, a.actor, a.action, a.note))
    return _case(row, tuple(actions))


def list_cases(uow: UnitOfWork, status: str | None = None, scene: str | None = None, *,
               subject_kind: str | None = None, limit: int = 100) -> list[Case]:
    """Cases (without their trails), the soonest due first."""
    if status is not None and status not in CASE_STATUSES:
        raise InvalidInput(f"status: `{status}` is not one of {', '.join(CASE_STATUSES)}")
    query = select(CASES)
    if status is not None:
        query = query.where(CASES.c.status == status)
    if scene is not None:
        query = query.where(CASES.c.scene == scene)
    if subject_kind is not None:
        query = query.where(CASES.c.subject_kind == subject_kind)
    query = query.order_by(CASES.c.due_at, CASES.c.id).limit(max(1, min(limit, 1000)))
    return [_case(row) for row in uow.session.execute(query)]
