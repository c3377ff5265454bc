"""A coupon and its budget moving together through an order's life: placed, paid, cancelled;
a budget refusal leaves the coupon usable; a payment after the budget was released is refused.
On SQLite and PostgreSQL (the budget commits with the coupon) and Redis (beside it)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine, make_url

from arbiter.clock import FixedClock
from arbiter.money import Money
from arbiter.platform.db import make_engine
from arbiter.platform.promotions import budgets as b
from arbiter.platform.promotions import coupons as c
from arbiter.platform.promotions import service
from arbiter.platform.promotions.budgets import (
    BudgetStore,
    BudgetTerms,
    BudgetUnavailable,
    SqlBudgets,
)
from arbiter.platform.promotions.redis_budgets import RedisBudgets

from .support import T0, cny, new_user_coupon, run, stores

STORES = ["sqlite", "postgresql", "redis"]
PROMOTION = "new_user_99_20"


def prepared(store: str, request: pytest.FixtureRequest, clock: FixedClock, total: str = "30.00",
             ) -> tuple[Engine, BudgetStore, dict[str, int]]:
    db, budgets = stores(store, request, clock)
    budgets.define(PROMOTION, cny(total))
    run(db, service.define_template, new_user_coupon(), T0)
    held = {}
    for user in ("u1", "u2"):
        result = run(db, service.claim, "new_user_99_20", user, T0)
        assert result.coupon_id is not None
        held[user] = result.coupon_id
    return db, budgets, held


@pytest.mark.parametrize("store", STORES)
def test_placed_paid_then_cancelled(store: str, request: pytest.FixtureRequest, clock: FixedClock) -> None:
    db, budgets, held = prepared(store, request, clock)
    coupon = held["u1"]
    placed = run(db, service.reserve_with_budget, budgets, coupon, "o1", "u1", cny("20.00"), T0)
    assert placed.ok and placed.granted == cny("20.00") and placed.coupon.status == c.RESERVED
    paid = run(db, service.redeem_with_budget, budgets, coupon, "o1", T0)
    assert paid.ok and paid.coupon.status == c.REDEEMED and paid.budget is not None
    assert paid.budget.status == b.CONFIRMED
    again = run(db, service.redeem_with_budget, budgets, coupon, "o1", T0)
    assert again.ok and again.coupon.replayed and again.budget is not None and again.budget.replayed
    assert budgets.remaining(PROMOTION) == cny("10.00")
    cancelled = run(db, service.return_with_budget, budgets, coupon, "o1", T0)
    assert cancelled.ok and cancelled.coupon.status == c.RETURNED and cancelled.budget is not None
    assert (cancelled.budget.status, cancelled.budget.granted) == (b.RELEASED, cny("20.00"))
    assert budgets.remaining(PROMOTION) == cny("30.00")
    # The returned coupon serves the next order.
    assert run(db, service.reserve_with_budget, budgets, coupon, "o2", "u1", cny("20.00"), T0).ok
    assert budgets.remaining(PROMOTION) == cny("10.00")


@pytest.mark.parametrize("store", STORES)
def test_a_budget_refusal_leaves_the_coupon_usable(store: str, request: pytest.FixtureRequest,
                                                   clock: FixedClock) -> None:
    db, budgets, held = prepared(store, request, clock, total="15.00")
    refused = run(db, service.reserve_with_budget, budgets, held["u1"], "o1", "u1", cny("20.00"), T0)
    assert not refused.ok and refused.reason == b.BUDGET_EXHAUSTED and refused.granted is None
    assert refused.coupon.status == c.AVAILABLE
    assert [h.id for h in run(db, service.held_coupons, "u1", T0)] == [held["u1"]]
    partial = run(db, service.reserve_with_budget, budgets, held["u1"], "o1", "u1", cny("20.00"), T0,
                  terms=BudgetTerms(b.PARTIAL))
    assert partial.ok and partial.granted == cny("15.00") and partial.budget is not None and partial.budget.partial
    refused_coupon = run(db, service.reserve_with_budget, budgets, held["u1"], "o2", "u2", cny("1.00"), T0)
    assert refused_coupon.reason == c.NOT_HOLDER and refused_coupon.budget is None
    assert budgets.remaining(PROMOTION) == cny("0.00")


@pytest.mark.parametrize("store", STORES)
def test_a_payment_after_the_budget_was_released_is_refused(store: str, request: pytest.FixtureRequest,
                                                            clock: FixedClock) -> None:
    db, budgets, held = prepared(store, request, clock)
    run(db, service.reserve_with_budget, budgets, held["u1"], "o1", "u1", cny("20.00"), T0)
    budgets.release(PROMOTION, "o1")  # the order timed out on the budget's side
    late = run(db, service.redeem_with_budget, budgets, held["u1"], "o1", T0)
    assert (late.ok, late.reason, late.coupon.status) == (False, b.ALREADY_RELEASED, c.RESERVED)
    info = run(db, service.coupon, held["u1"])
    assert info is not None and info.status == c.RESERVED  # not spent: the order must be cancelled


def test_an_unreachable_database_is_budget_unavailable(clock: FixedClock, postgres_url: str) -> None:
    url = make_url(postgres_url).set(port=1).update_query_dict({"connect_timeout": "1"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        with pytest.raises(BudgetUnavailable):
            SqlBudgets(engine, clock).reserve(PROMOTION, "o1", cny("1"), user="u1", day=T0.date())
    finally:
        engine.dispose()


def test_an_unreachable_redis_is_budget_unavailable(clock: FixedClock) -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, socket_timeout=0.5,
                         retry=Retry(NoBackoff(), 0))
    store = RedisBudgets(client, clock)
    with pytest.raises(BudgetUnavailable):
        store.reserve(PROMOTION, "o1", Money.of("1"), user="u1", day=T0.date())
    with pytest.raises(BudgetUnavailable):
        store.remaining(PROMOTION)
    client.close()
