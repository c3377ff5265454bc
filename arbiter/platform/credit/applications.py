"""Credit applications (授信申请): the user's submitted data goes to the `credit_apply` scene (a
score strategy), whose decision approves with a line and a risk tier, sends the application to
a person (review) or rejects it. A person then approves or rejects a reviewed application.

An approval opens the line, or raises the limit of the line the user has (a later application
is how a limit increase, 提额, is decided by the scorecard): it never lowers a limit. The data
submitted is read by the rules and never stored; an application keeps its outcome and score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from arbiter.engine.decision import Decision
from arbiter.engine.engine import Engine
from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.columns import utc
from arbiter.platform.credit import limits
from arbiter.platform.credit.lines import check_key
from arbiter.platform.credit.models import APPLICATIONS
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.sql import insert_if_absent, write_lock

APPROVED, REVIEW, REJECTED = "approved", "review", "rejected"
SCENE = "credit_apply"
CLIENT = "credit_service"


@dataclass(frozen=True, slots=True)
class Application:
    key: str
    user_id: str
    status: str  # approved | review | rejected
    limit: Money | None = None
    tier: str | None = None
    reason: str | None = None
    score: int | None = None
    tags: tuple[str, ...] = ()  # labels the decision asks to put on the user (tag_user)
    replayed: bool = False

    @property
    def approved(self) -> bool:
        return self.status == APPROVED


def outcome(decision: Decision) -> tuple[str, Money | None, str | None, str | None, tuple[str, ...]]:
    """(status, limit, tier, reason, tags) of a credit_apply decision; a failed decision
    answers with the scene's fallback, a refusal."""
    tags = tuple(str(e.get("tag")) for e in decision.effects if e.name == "tag_user")
    for effect in decision.effects:
        if effect.name == "grant_credit":
            limit = effect.get("limit")
            assert isinstance(limit, Money)
            return APPROVED, limit, str(effect.get("tier")), None, tags
        if effect.name == "review":
            return REVIEW, None, None, str(effect.get("reason")), tags
        if effect.name == "reject":
            return REJECTED, None, None, str(effect.get("reason")), tags
    return REJECTED, None, None, decision.reason or "no_credit_decision", tags


def apply(uow: UnitOfWork, engine: Engine, *, user_id: str, facts: Mapping[str, Any], key: str,
          now: datetime, passthrough: Mapping[str, Any] | None = None) -> Application:
    """Decide an application on `facts` (the user's tags: age, monthly_income, ...), once per
    key. Approved: the line is opened or raised. Commits."""
    check_key(key)
    if not user_id:
        raise InvalidInput("user_id: who applies?")
    write_lock(uow.session.connection())
    first = _stored(uow, key)
    if first is not None:
        if first.user_id != user_id:
            raise Conflict(f"application key {key!r} belongs to another user")
        return first
    context = {"user": {**dict(facts), "id": user_id}, "passthrough": dict(passthrough or {})}
    decision = engine.decide(SCENE, context, client=CLIENT, access="embedded")
    status, limit, tier, reason, tags = outcome(decision)
    at = utc(now)
    uow.session.execute(insert_if_absent(APPLICATIONS, uow.engine.dialect.name, dict(
        key=key, user_id=user_id, status=status, score=decision.score,
        currency=(limit.currency if limit else Money.zero().currency),
        credit_limit=None if limit is None else limit.amount, tier=tier, reason=reason, tags=",".join(tags),
        ruleset_hash=decision.ruleset_hash, decided_at=at,
    )))
    if limit is not None and tier is not None:
        limits.grant(uow, user_id, limit, tier, now=now)
    events.emit(uow, "credit_apply", user_id, {"user_id": user_id, "status": status, "score": decision.score,
                                               "tier": tier}, at, key=f"credit_apply:{key}")
    uow.commit()
    return Application(key, user_id, status, limit, tier, reason, decision.score, tags)


def decide_review(uow: UnitOfWork, *, key: str, approve: bool, by: str, now: datetime,
                  limit: Money | None = None, tier: str | None = None, reason: str | None = None) -> Application:
    """A person's decision on an application held for review: approve with a limit and a
    tier, or reject with a reason. Deciding it again the same way changes nothing. Commits."""
    if not by:
        raise InvalidInput("by: who decides the review?")
    if approve and (limit is None or tier is None):
        raise InvalidInput("an approval needs a limit and a tier")
    if not approve and not reason:
        raise InvalidInput("a rejection needs a reason")
    write_lock(uow.session.connection())
    first = _stored(uow, key)
    if first is None:
        raise NotFound(f"no credit application {key!r}")
    wanted = APPROVED if approve else REJECTED
    if first.status != REVIEW:
        if first.status == wanted:
            return first
        raise Conflict(f"application {key!r} is already {first.status}")
    at = utc(now)
    uow.session.execute(update(APPLICATIONS).where(APPLICATIONS.c.key == key, APPLICATIONS.c.status == REVIEW).values(
        status=wanted, credit_limit=None if limit is None else limit.amount,
        currency=limit.currency if limit else first.limit.currency if first.limit else Money.zero().currency,
        tier=tier, reason=None if approve else reason, reviewed_by=by, reviewed_at=at))
    if approve:
        assert limit is not None and tier is not None
        limits.grant(uow, first.user_id, limit, tier, now=now)
    uow.commit()
    decided = _stored(uow, key)
    assert decided is not None
    return replace(decided, replayed=False)


def latest(uow: UnitOfWork, user_id: str) -> Application | None:
    row = uow.session.execute(select(APPLICATIONS).where(APPLICATIONS.c.user_id == user_id)
                              .order_by(APPLICATIONS.c.decided_at.desc()).limit(1)).first()
    return None if row is None else _application(row)


def _stored(uow: UnitOfWork, key: str) -> Application | None:
    row = uow.session.execute(select(APPLICATIONS).where(APPLICATIONS.c.key == key)).first()
    return None if row is None else _application(row, replayed=True)


def _application(row: Any, *, replayed: bool = False) -> Application:
    limit = None if row.credit_limit is None else Money(row.credit_limit, row.currency)
    tags = tuple(t for t in row.tags.split(",") if t)
    return Application(row.key, row.user_id, row.status, limit, row.tier, row.reason, row.score, tags, replayed)
