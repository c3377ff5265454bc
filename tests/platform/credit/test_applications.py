"""Credit applications through the `credit_apply` scorecard: approved with a line and a tier,
held for review and decided by a person, rejected; a later application raises the limit."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine as Database

from arbiter.errors import Conflict
from arbiter.platform.credit import applications, lines, quotes
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events

from .support import T0, cny, engine

BEST = {"age": 32, "phone_verified": True, "monthly_income": "20000", "registered_days": 900, "orders_30d": 4,
        "level": 3}
GOOD = {"age": 25, "phone_verified": True, "monthly_income": "6000", "registered_days": 400, "orders_30d": 2}
REVIEWED = {"age": 25, "phone_verified": True, "monthly_income": "6000", "registered_days": 30, "level": 3,
            "is_new_device": True}


def apply(db: Database, user: str, facts: dict[str, object], key: str) -> applications.Application:
    with UnitOfWork(db) as uow:
        return applications.apply(uow, engine(), user_id=user, facts=facts, key=key, now=T0)


def test_approved_applications_open_a_line(db: Database) -> None:
    first = apply(db, "u1", GOOD, "a1")
    assert (first.status, first.limit, first.tier, first.score) == ("approved", cny("8000"), "B", 70)
    assert apply(db, "u1", GOOD, "a1").replayed
    with UnitOfWork(db) as uow:
        line = lines.line(uow, "u1")
        assert line is not None and (line.limit, line.used, line.tier) == (cny("8000.00"), cny("0"), "B")
        assert [e.kind for e in events.about(uow, "u1")] == ["credit_apply"]
    # 提额: the scorecard grants more later on, and the line follows; it never grants less
    later = apply(db, "u1", BEST, "a2")
    assert (later.limit, later.tier) == (cny("20000"), "A")
    with UnitOfWork(db) as uow:
        assert quotes.credit_facts(uow, "u1")["credit_limit"] == cny("20000.00")
    with pytest.raises(Conflict):
        apply(db, "u9", GOOD, "a1")


def test_review_then_a_person_decides(db: Database) -> None:
    held = apply(db, "u2", REVIEWED, "a3")
    assert (held.status, held.reason, held.score) == ("review", "manual_credit_review", 50)
    with UnitOfWork(db) as uow:
        assert quotes.credit_facts(uow, "u2")["credit_status"] == "pending"
        decided = applications.decide_review(uow, key="a3", approve=True, by="ops-7", now=T0,
                                             limit=cny("5000.00"), tier="B")
    assert (decided.status, decided.limit, decided.tier, decided.replayed) == ("approved", cny("5000.00"), "B", False)
    with UnitOfWork(db) as uow:
        assert quotes.credit_facts(uow, "u2")["credit_available"] == cny("5000.00")
        again = applications.decide_review(uow, key="a3", approve=True, by="ops-7", now=T0, limit=cny("5000.00"),
                                           tier="B")
        assert again.status == "approved"
        with pytest.raises(Conflict):
            applications.decide_review(uow, key="a3", approve=False, by="ops-7", now=T0, reason="changed mind")


def test_rejections_carry_the_reason_and_the_labels(db: Database) -> None:
    thin = apply(db, "u3", {"age": 22, "registered_days": 10}, "a4")
    assert (thin.status, thin.reason, thin.limit) == ("rejected", "credit_score_too_low", None)
    risky = apply(db, "u4", {**BEST, "risk_score": 75}, "a5")
    assert (risky.status, risky.tags) == ("rejected", ("credit_risk_watch",))
    with UnitOfWork(db) as uow:
        assert lines.line(uow, "u4") is None
        assert quotes.credit_facts(uow, "u4")["credit_status"] == "none"
