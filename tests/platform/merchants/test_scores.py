"""The merchant score: its parts and weights to the cent, its bounds (a property), the inputs
read from the order and after-sales events and the ratings over the window, the `shop.*`
facts that carry it to the rules, and the `shop_review` scene restricting a failing shop."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from arbiter.clock import FixedClock
from arbiter.dsl.compiler import Ruleset
from arbiter.engine.engine import Engine as Decisions
from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import flows
from arbiter.platform.events import service as events
from arbiter.platform.merchants import scores
from arbiter.platform.merchants import service as merchants
from arbiter.platform.merchants.models import RATINGS
from arbiter.platform.runtime import Platform

from .support import T0, open_shop

D = Decimal
H = timedelta(hours=1)


def test_the_parts_and_weights_to_the_cent() -> None:
    assert scores.shipping_points(D("24")) == 5 and scores.shipping_points(D("36")) == 4
    assert scores.shipping_points(D("72")) == 1 and scores.shipping_points(D("200")) == 1
    assert scores.shipping_points(D("30.00")) == D("4.5")
    assert scores.aftersales_points(D("0")) == 5 and scores.aftersales_points(D("0.05")) == 4
    assert scores.aftersales_points(D("0.5")) == 1
    assert scores.combine(D("4.00"), D("20.00"), D("0.5000")) == D("3.40")
    assert scores.combine(None, None, None) == D("4.50")  # nothing to go on: the rules' default
    assert scores.combine(D("4.87"), D("31.33"), D("0.0333")) == D("4.56")  # 1.948 + 1.31675 + 1.3002 = 4.56495


@given(st.one_of(st.none(), st.decimals(1, 5, places=2)), st.one_of(st.none(), st.decimals(0, 1000, places=2)),
       st.one_of(st.none(), st.decimals(0, 1, places=4)))
def test_a_score_is_always_between_1_and_5_in_cents(rating: Decimal | None, hours: Decimal | None,
                                                   rate: Decimal | None) -> None:
    score = scores.combine(rating, hours, rate)
    assert D(1) <= score <= D(5) and score == score.quantize(D("0.01"))
    if hours is not None:  # shipping slower never scores better
        assert scores.combine(rating, hours + 12, rate) <= score


def _order(uow: UnitOfWork, order_id: str, shop: str, paid_at: datetime, shipped_after: timedelta | None,
           case: bool = False) -> None:
    events.emit(uow, "order.paid", order_id, {"shop": shop}, paid_at)
    if shipped_after is not None:
        events.emit(uow, "order.shipped", order_id, {"shop": shop}, paid_at + shipped_after)
        if case:
            events.emit(uow, "aftersales.requested", f"AS-{order_id}", {"shop": shop}, paid_at + 2 * shipped_after)


def _rate(uow: UnitOfWork, order_id: str, shop: str, stars: int, at: datetime) -> None:
    uow.session.execute(insert(RATINGS).values(order_id=order_id, shop=shop, user_id="u", stars=stars, at=at))


def test_the_inputs_come_from_the_events_and_ratings_of_the_window(db: Engine) -> None:
    now = T0 + timedelta(days=100)
    with UnitOfWork(db) as uow:
        open_shop(uow)
        open_shop(uow, "m-b", "shop-b")
        _order(uow, "O-old", "shop-a", T0, 100 * H, case=True)  # before the window: not counted
        _rate(uow, "O-old", "shop-a", 1, T0 + 5 * H)
        for n, hours in enumerate((20, 30, 46), start=1):
            _order(uow, f"O{n}", "shop-a", T0 + timedelta(days=50 + n), hours * H, case=n == 3)
            _rate(uow, f"O{n}", "shop-a", 5 if n < 3 else 4, T0 + timedelta(days=60))
        _order(uow, "O4", "shop-a", now - H, None)  # paid, not shipped yet
        _order(uow, "O-b", "shop-b", now - 2 * H, None)
        _order(uow, "O-x", "shop-x", now - 2 * H, 1 * H)  # no merchant of ours
        uow.commit()
        computed = {s.shop: s for s in merchants.compute_scores(uow, now)}
        a, b = computed["shop-a"], computed["shop-b"]
        assert sorted(computed) == ["shop-a", "shop-b"]
        # shipping (20 + 30 + 46) / 3 = 32.00 h -> 5 - 8/12; 1 case in 4 orders -> 5 - 5 = 1 (not below);
        # rating (5 + 5 + 4) / 3 = 4.67: 0.4 × 4.67 + 0.3 × 4.3333.. + 0.3 × 1 = 3.468 -> 3.47
        assert (a.shipping_hours, a.aftersales_rate, a.rating, a.orders, a.shipped, a.cases, a.ratings) == (
            D("32.00"), D("0.2500"), D("4.67"), 4, 3, 1, 3)
        assert a.score == D("3.47")
        assert (b.score, b.shipping_hours, b.aftersales_rate, b.rating, b.orders) == (D("4.65"), None, D("0"),
                                                                                     None, 1)
        assert merchants.score_of(uow, "shop-a") == a
        assert merchants.shop_facts(uow, "shop-a") == {"id": "shop-a", "type": "marketplace", "opened_at": T0,
                                                       "score": D("3.47")}
        assert merchants.shop_facts(uow, "arbiter-self") == {"id": "arbiter-self", "type": "self_operated"}
        assert merchants.shop_facts(uow, "shop-x") == {"id": "shop-x"}
        assert merchants.score_of(uow, "shop-x") is None
        with pytest.raises(InvalidInput, match="window_days"):
            merchants.compute_scores(uow, now, window_days=0)


def test_the_rules_restrict_a_failing_shop_and_flag_a_slipping_one(db: Engine, demo_rules: Ruleset) -> None:
    decisions = Decisions(demo_rules, FixedClock(T0))
    now = T0 + timedelta(days=10)
    with UnitOfWork(db) as uow:
        open_shop(uow)
        open_shop(uow, "m-b", "shop-b", type="brand_flagship")
        open_shop(uow, "m-c", "shop-c")
        for n in range(4):  # shop-a ships in 4 days and every order comes back
            _order(uow, f"A{n}", "shop-a", T0 + timedelta(days=n), 96 * H, case=True)
            _order(uow, f"B{n}", "shop-b", T0 + timedelta(days=n), 30 * H, case=n == 0)
        uow.commit()
        _rate(uow, "A0", "shop-a", 2, T0 + timedelta(days=5))
        uow.commit()
        computed = {s.shop: s.score for s in merchants.compute_scores(uow, now)}
        assert computed == {"shop-a": D("1.40"), "shop-b": D("3.45"), "shop-c": D("4.50")}
        reviewed = {r.shop: r for r in merchants.review_shops(uow, decisions, now)}
        assert reviewed["shop-a"].restricted and reviewed["shop-a"].effects == ('restrict_shop(reason: "score_below_3")',)
        assert (reviewed["shop-b"].restricted, reviewed["shop-b"].flagged) == (False, "score_below_4")
        assert reviewed["shop-c"].effects == ("pass()",)
        assert merchants.merchant(uow, "m-a").status == "restricted"
        assert merchants.history(uow, "m-a")[-1].reason == "score 1.40: score_below_3"
        assert merchants.merchant(uow, "m-b").status == "active"
        again = {r.shop: r for r in merchants.review_shops(uow, decisions, now)}
        assert not again["shop-a"].restricted  # restricted already: nothing more happens


def test_a_user_rates_their_delivered_order_once(platform: Platform) -> None:
    story = flows.phone_flow(platform, T0, say=lambda _: None)
    user_id, order_id = story.figures("registered")["user"], story.figures("ordered")["order"]
    with UnitOfWork(platform.db) as uow:
        with pytest.raises(InvalidInput, match="stars: 6 is not a whole number from 1 to 5"):
            merchants.rate_order(uow, order_id, user_id=user_id, stars=6, now=T0)
        with pytest.raises(NotFound):
            merchants.rate_order(uow, order_id, user_id="someone-else", stars=5, now=T0)
        assert merchants.rate_order(uow, order_id, user_id=user_id, stars=4, now=T0) == 4
        assert merchants.rate_order(uow, order_id, user_id=user_id, stars=4, now=T0) == 4  # a repeat
        with pytest.raises(Conflict, match="was rated 4 already"):
            merchants.rate_order(uow, order_id, user_id=user_id, stars=1, now=T0)
    unpaid = flows.phone_flow(platform, T0, path="refund_before_shipment", phone="13800138099", say=lambda _: None)
    with UnitOfWork(platform.db) as uow:
        with pytest.raises(Conflict, match="only a delivered order is rated"):
            merchants.rate_order(uow, unpaid.figures("ordered")["order"],
                                 user_id=unpaid.figures("registered")["user"], stars=5, now=T0)
