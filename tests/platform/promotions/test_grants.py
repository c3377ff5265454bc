"""Coupons granted by the demo rules' decisions (home popup, coupon claim), on SQLite and
PostgreSQL: issued once per scene, user and template, under the template's own limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_paths
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.engine.decision import Decision
from arbiter.engine.engine import Engine as DecisionEngine
from arbiter.errors import InvalidInput
from arbiter.platform.db import UnitOfWork
from arbiter.platform.promotions import coupons as c
from arbiter.platform.promotions import service
from arbiter.platform.promotions.coupons import NEW_USER, PLATFORM, TemplateSpec
from arbiter.platform.promotions.grants import TEMPLATE_MISMATCH, Granted, grant_decision, grant_key

from .support import cny, run

RULES = Path(__file__).resolve().parents[3] / "rules"
NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)  # 20:00 in Beijing, during the sale


@pytest.fixture(scope="module")
def demo() -> Ruleset:
    return compile_program(check_paths([RULES]))


def decide(demo: Ruleset, scene: str, context: dict[str, Any]) -> Decision:
    decision = DecisionEngine(demo, FixedClock(NOW)).decide(scene, context)
    assert not decision.failed, decision.reason
    return decision


def templates(db: Engine, **changes: TemplateSpec) -> None:
    """The coupon templates the demo rules grant, as the coupon service defines them."""
    specs = {
        "newbie_30": TemplateSpec(code="newbie_30", display="新人券 满99减30", kind=NEW_USER, threshold=cny("99.00"),
                                  value=cny("30.00"), days_after_claim=7, claim_limit=1),
        "general_5": TemplateSpec(code="general_5", display="通用券 5元", kind=PLATFORM, threshold=cny("0.00"),
                                  value=cny("5.00"), days_after_claim=3, claim_limit=None),
    }
    specs.update(changes)
    for spec in specs.values():
        run(db, service.define_template, spec, NOW)


def grant(db: Engine, decision: Decision, user: str, **kwargs: Any) -> tuple[Granted, ...]:
    with UnitOfWork(db) as uow:
        return grant_decision(uow, decision, user, NOW, **kwargs)


def outcomes(granted: tuple[Granted, ...]) -> list[tuple[str, str | None, str | None, bool]]:
    return [(g.template, g.coupon.status, g.reason, g.replayed) for g in granted]


def test_the_new_user_popup_issues_its_coupon_once(db: Engine, demo: Ruleset) -> None:
    templates(db)
    decision = decide(demo, "home_popup", {"user": {"id": "ctl-1", "registered_days": 3}})
    assert [e.name for e in decision.effects] == ["show", "grant_coupon"]
    [first] = grant(db, decision, "ctl-1")
    assert outcomes((first,)) == [("newbie_30", c.AVAILABLE, None, False)]
    assert (first.amount, first.valid_for) == (cny("30"), timedelta(days=7))
    # The same decision delivered again, or decided again: nothing more is issued.
    [again] = grant(db, decision, "ctl-1")
    assert (again.coupon.coupon_id, again.replayed) == (first.coupon.coupon_id, True)
    [decided_again] = grant(db, decide(demo, "home_popup", {"user": {"id": "ctl-1", "registered_days": 3}}), "ctl-1")
    assert (decided_again.coupon.coupon_id, decided_again.replayed) == (first.coupon.coupon_id, True)
    assert run(db, service.stock_issued, "newbie_30") == 1
    [held] = run(db, service.held_coupons, "ctl-1", NOW)
    assert (held.id, held.template, held.value, held.expires_at) == (
        first.coupon.coupon_id, "newbie_30", cny("30.00"), NOW + timedelta(days=7))
    assert run(db, service.coupon, held.id).source == "grant"


def test_another_scene_granting_the_same_coupon_meets_the_per_user_limit(db: Engine, demo: Ruleset) -> None:
    templates(db)
    popup = decide(demo, "home_popup", {"user": {"id": "ctl-2", "registered_days": 3}})
    claim = decide(demo, "coupon_claim", {"user": {"id": "ctl-2", "registered_days": 3}})
    assert grant_key(popup.scene, "ctl-2", "newbie_30") != grant_key(claim.scene, "ctl-2", "newbie_30")
    assert outcomes(grant(db, popup, "ctl-2")) == [("newbie_30", c.AVAILABLE, None, False)]
    assert outcomes(grant(db, claim, "ctl-2")) == [("newbie_30", None, c.CLAIM_LIMIT, False)]
    assert len(run(db, service.held_coupons, "ctl-2", NOW)) == 1


def test_each_user_gets_their_own_coupon(db: Engine, demo: Ruleset) -> None:
    templates(db)
    decision = decide(demo, "coupon_claim", {"user": {"id": "u7", "registered_days": 365, "level": 2}})
    for user in ("u7", "u8"):
        [granted] = grant(db, decision, user)
        assert (granted.template, granted.ok, granted.replayed) == ("general_5", True, False)
        [held] = run(db, service.held_coupons, user, NOW)
        assert (held.value, held.expires_at) == (cny("5.00"), NOW + timedelta(days=3))
    assert run(db, service.stock_issued, "general_5") == 2


def test_a_refused_claim_grants_nothing(db: Engine, demo: Ruleset) -> None:
    templates(db)
    decision = decide(demo, "coupon_claim", {"user": {"id": "u1", "registered_days": 1, "tags": ["coupon_abuser"]}})
    assert [str(e) for e in decision.effects] == ['reject(reason: "coupon_abuse")']
    assert grant(db, decision, "u1") == ()
    assert run(db, service.held_coupons, "u1", NOW) == []


def test_an_unknown_template_or_one_unlike_the_effect_is_not_issued(db: Engine, demo: Ruleset) -> None:
    # member_20 is granted by the rules but not defined; general_5 gives 6.00, not the 5 shown.
    templates(db, general_5=TemplateSpec(code="general_5", display="通用券", kind=PLATFORM, threshold=cny("0.00"),
                                         value=cny("6.00"), days_after_claim=3, claim_limit=None))
    member = decide(demo, "coupon_claim", {"user": {"id": "u6", "registered_days": 365, "level": 3}})
    assert outcomes(grant(db, member, "u6")) == [("member_20", None, c.UNKNOWN_TEMPLATE, False)]
    everyone = decide(demo, "coupon_claim", {"user": {"id": "u7", "registered_days": 365, "level": 2}})
    assert outcomes(grant(db, everyone, "u7")) == [("general_5", None, TEMPLATE_MISMATCH, False)]
    # A validity other than the effect's 3 days is refused too.
    templates(db, general_5=TemplateSpec(code="general_5", display="通用券", kind=PLATFORM, threshold=cny("0.00"),
                                         value=cny("5.00"), days_after_claim=7, claim_limit=None))
    assert outcomes(grant(db, everyone, "u7")) == [("general_5", None, TEMPLATE_MISMATCH, False)]
    assert run(db, service.stock_issued, "general_5") == 0
    # Once the template matches, the same decision grants.
    templates(db)
    assert outcomes(grant(db, everyone, "u7")) == [("general_5", c.AVAILABLE, None, False)]


def test_bad_users_are_refused_and_nothing_moves(db: Engine, demo: Ruleset) -> None:
    templates(db)
    decision = decide(demo, "home_popup", {"user": {"id": "ctl-1", "registered_days": 3}})
    for user in ("", "x" * 201):
        with pytest.raises(InvalidInput, match="user: .* must be 1 to 200 characters"):
            grant(db, decision, user)
    assert run(db, service.stock_issued, "newbie_30") == 0


def test_long_keys_fit_the_operations_log() -> None:
    assert grant_key("coupon_claim", "u1", "newbie_30") == "coupon_claim:u1"
    long = grant_key("coupon_claim", "u" * 200, "t" * 200)
    assert len(long) == 64 and len(f"grant:{'t' * 200}:{long}") <= 400
