"""An order's promotions through checkout: `place` holds every applied promotion's budget and
coupon, `confirm` spends them at payment, `cancel` gives them back; each idempotent by order id
and exact to the cent. A budget gone between the quote and the order re-prices the order with
the reason; a reservation refused or granted in part re-prices it with what was held. On
SQLite, PostgreSQL (budgets commit with the order's record) and Redis (beside it)."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from arbiter.clock import FixedClock
from arbiter.engine.pricing import Cart, CartLine, trial
from arbiter.errors import InvalidInput
from arbiter.money import Money
from arbiter.platform.promotions import coupons as c
from arbiter.platform.promotions import holds as h
from arbiter.platform.promotions import pricing, service
from arbiter.platform.promotions.budgets import BudgetUnavailable
from arbiter.platform.promotions.holds import Hold

from .live_support import (
    PHONE,
    SHOP,
    applied,
    cart,
    compiled,
    left,
    newbie_template,
    ready,
    refused,
    stale,
)
from .support import T0, run

STORES = ["sqlite", "postgresql", "redis"]
D = Decimal
BUDGETS = ("phone_cut", "platform_cut", "newbie")


@pytest.mark.parametrize("store", STORES)
def test_place_confirm_cancel_move_budgets_to_the_cent_once(store: str, request: pytest.FixtureRequest,
                                                            clock: FixedClock) -> None:
    db, budgets = ready(store, request, clock)
    quoted = run(db, pricing.quote, SHOP, cart(PHONE), budgets, T0)
    placed = run(db, pricing.place, SHOP, cart(PHONE), "o1", budgets, T0)
    assert (placed.ok, placed.status, placed.replayed) == (True, "placed", False)
    assert placed.result == quoted.result  # nothing changed in between: the price quoted is the price
    [coupon] = [x.coupon for x in placed.holds if x.coupon is not None]
    assert [(x.promotion, x.key, x.amount, x.budget, x.coupon_budget, x.state) for x in placed.holds] == [
        ("phone_cut", "o1", D("200.00"), "phone_cut", None, "held"),
        ("newbie", "o1", D("30.00"), None, "newbie", "held"),
        ("platform_cut", "o1", D("50.00"), "platform_cut", None, "held"),
    ]
    assert left(budgets, *BUDGETS) == ["300.00", "50.00", "30.00"]
    info = run(db, service.coupon, coupon)
    assert info is not None and (info.user, info.status, info.order_id) == ("u1", c.RESERVED, "o1")

    again = run(db, pricing.place, SHOP, cart(PHONE), "o1", budgets, T0)
    assert (again.replayed, again.status, again.result, again.holds) == (True, "placed", placed.result, placed.holds)
    assert left(budgets, *BUDGETS) == ["300.00", "50.00", "30.00"]

    paid = run(db, pricing.confirm, "o1", budgets, T0)
    assert (paid.ok, paid.status, paid.replayed) == (True, "confirmed", False)
    assert sorted((m.target, m.status) for m in paid.moves) == [
        ("budget phone_cut", "confirmed"), ("budget platform_cut", "confirmed"), (f"coupon {coupon}", c.REDEEMED)]
    assert budgets.reservation("newbie", "o1").status == "confirmed"  # type: ignore[union-attr]
    assert run(db, pricing.confirm, "o1", budgets, T0) == pricing.Settled("o1", "confirmed", replayed=True)
    assert left(budgets, *BUDGETS) == ["300.00", "50.00", "30.00"]

    cancelled = run(db, pricing.cancel, "o1", budgets, T0 + timedelta(days=1))
    assert (cancelled.ok, cancelled.status, cancelled.replayed) == (True, "cancelled", False)
    assert sorted((m.target, m.status) for m in cancelled.moves) == [
        ("budget phone_cut", "released"), ("budget platform_cut", "released"), (f"coupon {coupon}", c.RETURNED)]
    assert left(budgets, *BUDGETS) == ["500.00", "100.00", "60.00"]
    for _ in range(3):
        assert run(db, pricing.cancel, "o1", budgets, T0) == pricing.Settled("o1", "cancelled", replayed=True)
    assert left(budgets, *BUDGETS) == ["500.00", "100.00", "60.00"]
    assert run(db, service.coupon, coupon).status == c.RETURNED  # type: ignore[union-attr]
    assert run(db, pricing.confirm, "o1", budgets, T0).reason == "the order is cancelled"
    late = run(db, pricing.place, SHOP, cart(PHONE), "o1", budgets, T0)
    assert (late.replayed, late.status, late.result) == (True, "cancelled", placed.result)
    assert left(budgets, *BUDGETS) == ["500.00", "100.00", "60.00"]


@pytest.mark.parametrize("store", STORES)
def test_an_unpaid_order_cancelled_gives_everything_back(store: str, request: pytest.FixtureRequest,
                                                        clock: FixedClock) -> None:
    db, budgets = ready(store, request, clock)
    claimed = run(db, service.claim, "newbie_30", "u2", T0)
    placed = run(db, pricing.place, SHOP, cart(PHONE, user="u2"), "o2", budgets, T0)
    assert [x.coupon for x in placed.holds if x.coupon is not None] == [claimed.coupon_id]  # the one held
    assert left(budgets, *BUDGETS) == ["300.00", "50.00", "30.00"]
    assert run(db, pricing.cancel, "o2", budgets, T0).ok
    assert left(budgets, *BUDGETS) == ["500.00", "100.00", "60.00"]
    assert [x.id for x in run(db, service.held_coupons, "u2", T0)] == [claimed.coupon_id]
    assert run(db, pricing.cancel, "nope", budgets, T0).reason == pricing.NO_ORDER
    assert run(db, pricing.confirm, "nope", budgets, T0).reason == pricing.NO_ORDER


@pytest.mark.parametrize("store", STORES)
def test_a_budget_gone_between_quote_and_place_reprices_the_order(store: str, request: pytest.FixtureRequest,
                                                                  clock: FixedClock) -> None:
    db, budgets = ready(store, request, clock)
    quoted = run(db, pricing.quote, SHOP, cart(PHONE), budgets, T0).result
    assert ("phone_cut", D("200.00")) in applied(quoted) and quoted.payable == D("720.00")
    budgets.reserve("phone_cut", "rival", Money.of("400.00"), user="u9", day=T0.date())  # others' orders
    placed = run(db, pricing.place, SHOP, cart(PHONE), "o1", budgets, T0)
    assert placed.result is not None
    assert refused(placed.result)["phone_cut"] == "budget exhausted"
    assert applied(placed.result) == [("newbie", D("30.00")), ("platform_cut", D("50.00"))]
    assert placed.result.payable == D("920.00")
    assert [x.promotion for x in placed.holds] == ["newbie", "platform_cut"]
    assert left(budgets, *BUDGETS) == ["100.00", "50.00", "30.00"]


@pytest.mark.parametrize("store", STORES)
def test_a_reservation_refused_at_placing_releases_what_changed_and_reprices(
        store: str, request: pytest.FixtureRequest, clock: FixedClock) -> None:
    rules = compiled("""
        promotion small { display "满100减50" type threshold_cut stage shop group "G" stacks ["newbie"]
            threshold 100 CNY amount 50 CNY budget 1000 CNY funding merchant }
        promotion big { display "满100减80" type threshold_cut stage shop group "G"
            threshold 100 CNY amount 80 CNY budget 1000 CNY funding merchant }
        promotion newbie { display "新人券 满99减40" type coupon template "newbie_30"
            threshold 99 CNY amount 40 CNY budget 60 CNY funding platform }
    """)
    db, budgets = ready(store, request, clock, rules, newbie_template("40.00"))
    basket = cart(("SKU-1", "S1", "tea", "200.00"))
    assert applied(run(db, pricing.quote, rules, basket, budgets, T0).result) == [
        ("small", D("50.00")), ("newbie", D("40.00"))]  # 110.00 beats big alone (120.00)
    racing = stale(budgets, "newbie", "60.00")  # a rival empties it after the trial read it
    placed = run(db, pricing.place, rules, basket, "o1", racing, T0)
    assert placed.ok and placed.result is not None
    assert applied(placed.result) == [("big", D("80.00"))]
    assert placed.result.payable == D("120.00")
    assert refused(placed.result) == {"newbie": "budget exhausted", "small": "excluded by big"}
    assert [(x.promotion, x.key, x.amount) for x in placed.holds] == [("big", "o1", D("80.00"))]
    assert left(budgets, "small", "big", "newbie") == ["1000.00", "920.00", "0.00"]
    assert budgets.reservation("small", "o1").status == "released"  # type: ignore[union-attr]
    # The coupon claimed for the order stays the user's, usable.
    assert [x.template for x in run(db, service.held_coupons, "u1", T0)] == ["newbie_30"]
    assert run(db, pricing.cancel, "o1", budgets, T0).ok
    assert left(budgets, "small", "big", "newbie") == ["1000.00", "1000.00", "0.00"]


@pytest.mark.parametrize("store", STORES)
def test_a_partial_grant_reprices_with_what_was_granted(store: str, request: pytest.FixtureRequest,
                                                       clock: FixedClock) -> None:
    db, budgets = ready(store, request, clock)
    racing = stale(budgets, "platform_cut", "80.00")  # 20.00 left when the reservation comes
    placed = run(db, pricing.place, SHOP, cart(PHONE), "o1", racing, T0)
    assert placed.result is not None
    assert applied(placed.result) == [("phone_cut", D("200.00")), ("newbie", D("30.00")), ("platform_cut", D("20.00"))]
    assert placed.result.payable == D("750.00")
    assert [(x.promotion, x.amount) for x in placed.holds] == [
        ("phone_cut", D("200.00")), ("newbie", D("30.00")), ("platform_cut", D("20.00"))]
    assert left(budgets, *BUDGETS) == ["300.00", "0.00", "30.00"]
    assert run(db, pricing.confirm, "o1", budgets, T0).ok
    assert run(db, pricing.cancel, "o1", budgets, T0).ok
    assert left(budgets, *BUDGETS) == ["500.00", "20.00", "60.00"]  # the rival still holds 80.00


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_a_confirm_after_a_reservation_was_released_fails_until_cancelled(
        store: str, request: pytest.FixtureRequest, clock: FixedClock) -> None:
    db, budgets = ready(store, request, clock)
    run(db, pricing.place, SHOP, cart(PHONE), "o1", budgets, T0)
    budgets.release("phone_cut", "o1")  # released behind the order's back (a timeout elsewhere)
    paid = run(db, pricing.confirm, "o1", budgets, T0)
    assert (paid.ok, paid.status, paid.reason) == (False, "placed", "budget phone_cut: already released")
    assert run(db, pricing.cancel, "o1", budgets, T0).ok
    assert left(budgets, *BUDGETS) == ["500.00", "100.00", "60.00"]


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_a_place_that_stopped_half_way_is_taken_over_after_its_lease(
        store: str, request: pytest.FixtureRequest, clock: FixedClock) -> None:
    db, budgets = ready(store, request, clock)
    # A first call opened the order, wrote its intent and reserved, then stopped.
    opened, record = run(db, h.open_order, "o9", "u1", None, T0, timedelta(seconds=60))
    intent = Hold("phone_cut", "o9", D("200.00"), "CNY", budget="phone_cut")
    run(db, h.save, "o9", record.token, [intent])
    budgets.reserve("phone_cut", "o9", Money.of("200.00"), user="u1", per_user=1, day=T0.date())
    assert opened == h.NEW and left(budgets, "phone_cut") == ["300.00"]
    busy = run(db, pricing.place, SHOP, cart(PHONE), "o9", budgets, T0 + timedelta(seconds=30))
    assert (busy.ok, busy.status, busy.reason) == (False, "placing", pricing.ORDER_BUSY)
    placed = run(db, pricing.place, SHOP, cart(PHONE), "o9", budgets, T0 + timedelta(seconds=61))
    assert placed.ok and placed.result is not None and placed.result.payable == D("720.00")
    assert [(x.promotion, x.key) for x in placed.holds] == [
        ("phone_cut", "o9#1"), ("newbie", "o9"), ("platform_cut", "o9")]
    assert budgets.reservation("phone_cut", "o9").status == "released"  # type: ignore[union-attr]
    assert left(budgets, *BUDGETS) == ["300.00", "50.00", "30.00"]
    assert run(db, pricing.cancel, "o9", budgets, T0).ok
    assert left(budgets, *BUDGETS) == ["500.00", "100.00", "60.00"]


@pytest.mark.parametrize("store", ["sqlite"])
def test_a_cancel_wins_over_a_stopped_place(store: str, request: pytest.FixtureRequest, clock: FixedClock) -> None:
    db, budgets = ready(store, request, clock)
    _, record = run(db, h.open_order, "o9", "u1", None, T0, timedelta(seconds=60))
    run(db, h.save, "o9", record.token, [Hold("phone_cut", "o9", D("200.00"), "CNY", budget="phone_cut")])
    budgets.reserve("phone_cut", "o9", Money.of("200.00"), user="u1", day=T0.date())
    cancelled = run(db, pricing.cancel, "o9", budgets, T0)
    assert [(m.target, m.status) for m in cancelled.moves] == [("budget phone_cut", "released")]
    assert left(budgets, "phone_cut") == ["500.00"]
    stopped = run(db, h.save, "o9", record.token, [])  # the first call comes back: it lost the order
    assert stopped is False
    late = run(db, pricing.place, SHOP, cart(PHONE), "o9", budgets, T0 + timedelta(minutes=5))
    assert (late.status, late.replayed, late.result) == ("cancelled", True, None)


def test_an_order_is_placed_for_a_user(request: pytest.FixtureRequest, clock: FixedClock) -> None:
    db, budgets = ready("sqlite", request, clock)
    with pytest.raises(InvalidInput, match="placed for a user"):
        run(db, pricing.place, SHOP, cart(PHONE, user=None), "o1", budgets, T0)


def test_the_priced_result_survives_storage_exactly() -> None:
    rules = compiled("""
        promotion g { type gift stacks all threshold 10 CNY gift "SKU-GIFT" gift_value 9.90 CNY funding merchant }
        promotion t { type threshold_cut stacks all tiers [{ threshold: 100 CNY, amount: 10 CNY },
            { threshold: 500 CNY, amount: 60 CNY }] funding { platform: 70%, merchant: 30% } }
        promotion n { type threshold_discount stacks all tiers [{ count: 9, percent: 90% }] }
    """)
    priced = trial(rules, cart(("A", "S1", "tea", "33.33"), ("B", "S1", "tea", "99.99"), quantity=3),
                   clock=FixedClock(T0))
    assert priced.hints and priced.gifts and priced.lines[0].allocations
    assert h.decode_result(h.encode_result(priced)) == priced


def test_a_presale_split_survives_storage_with_its_phase() -> None:
    rules = compiled("promotion pre { type presale stacks all deposit 100 CNY deposit_value 200 CNY "
                     "ends 2026-11-01T00:00:00Z balance_starts 2026-11-01T00:00:00Z }")
    paid = Cart((CartLine("l1", "PHONE", "S1", 1, Money.of("3000.00"), {"deposit_paid": True}),), user="u1")
    priced = trial(rules, paid, clock=FixedClock(T0))
    assert [(s.phase, s.deposit, s.balance) for s in priced.presale] == [("balance", Decimal("100.00"), Decimal("2800.00"))]
    stored = h.encode_result(priced)
    assert h.decode_result(stored) == priced
    # A result stored before phases were recorded was priced in the deposit phase.
    legacy = json.loads(stored)
    del legacy["presale"][0]["phase"]
    assert [s.phase for s in h.decode_result(json.dumps(legacy)).presale] == ["deposit"]


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_a_store_failing_mid_place_lets_a_retry_take_over_at_once(
        store: str, request: pytest.FixtureRequest, clock: FixedClock) -> None:
    db, budgets = ready(store, request, clock)
    base: Any = type(budgets)

    class Down(base):  # type: ignore[misc, valid-type]
        def reserve(self, promotion: str, *args: Any, **kwargs: Any) -> Any:
            if promotion == "platform_cut":
                raise BudgetUnavailable("budgets: unreachable")
            return super().reserve(promotion, *args, **kwargs)

        def joined(self, connection: Any) -> Any:
            twin = super().joined(connection)
            twin.__class__ = Down
            return twin

    down = copy.copy(budgets)
    down.__class__ = Down
    with pytest.raises(BudgetUnavailable):
        run(db, pricing.place, SHOP, cart(PHONE), "o1", down, T0)
    assert left(budgets, *BUDGETS) == ["300.00", "100.00", "30.00"]  # held until someone takes over
    placed = run(db, pricing.place, SHOP, cart(PHONE), "o1", budgets, T0)  # no need to wait for the lease
    assert placed.ok and placed.result is not None and placed.result.payable == D("720.00")
    assert [(x.promotion, x.key) for x in placed.holds] == [
        ("phone_cut", "o1#1"), ("newbie", "o1#1"), ("platform_cut", "o1#1")]
    assert left(budgets, *BUDGETS) == ["300.00", "50.00", "30.00"]
    assert run(db, pricing.cancel, "o1", budgets, T0).ok
    assert left(budgets, *BUDGETS) == ["500.00", "100.00", "60.00"]
