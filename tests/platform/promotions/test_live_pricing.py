"""The trial on live data: `StoreBudgetView` reads budgets and per-user limits without moving
them, and `quote` — the product page's 到手价, the cart, the checkout page — assumes the
coupons a user holds or could claim, consumes nothing, and sees per-user limits and exhausted
budgets. On SQLite, PostgreSQL and Redis."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from arbiter.clock import FixedClock
from arbiter.money import Money
from arbiter.platform.promotions import lifecycle, pricing, service
from arbiter.platform.promotions.budgets import BudgetStore
from arbiter.platform.promotions.pricing import CouponPick, StoreBudgetView

from .live_support import PHONE, SHOP, applied, cart, compiled, left, ready, refused
from .support import T0, run, stores

STORES = ["sqlite", "postgresql", "redis"]
D = Decimal


def test_the_budget_view_reads_remaining_money_uses_and_limits(budgets: BudgetStore) -> None:
    rules = compiled("""
        promotion capped { type item_cut stacks all calc cut amount 5 CNY budget 12.50 CNY per_user 2 }
        promotion counted { type item_cut stacks all calc cut amount 5 CNY uses 1 }
        promotion free { type item_cut stacks all calc cut amount 5 CNY }
    """)
    pricing.define_budgets(budgets, rules.program)

    def view(user: str | None = "u1", device: str | None = None) -> StoreBudgetView:
        return StoreBudgetView(budgets, rules.program, user, device, T0.date())

    assert [view().remaining(name) for name in ("capped", "counted", "free")] == [D("12.50"), None, None]
    assert [view().uses_left(name, "u1") for name in ("capped", "counted", "free")] == [1, None, None]
    assert view(user=None).uses_left("capped", None) is None  # nobody to count
    for order in ("o1", "o2"):
        budgets.reserve("capped", order, Money.of("5.00"), user="u1", per_user=2, day=T0.date())
    assert view().remaining("capped") == D("2.50")
    assert view().uses_left("capped", "u1") == 0
    assert view().uses_left("capped", "u2") == 1
    budgets.release("capped", "o1")
    assert (view().remaining("capped"), view().uses_left("capped", "u1")) == (D("7.50"), 1)
    budgets.reserve("counted", "o1", Money.of("5.00"), user="u2", day=T0.date())
    assert view().remaining("counted") == D("0")  # its only use is taken
    # Reading moved nothing.
    assert budgets.state("capped").used == Money.of("5.00")


@pytest.mark.parametrize("store", STORES)
def test_the_product_page_price_assumes_a_claimable_coupon_and_consumes_nothing(
        store: str, request: pytest.FixtureRequest, clock: FixedClock) -> None:
    db, budgets = ready(store, request, clock)
    page = cart(PHONE)  # 到手价: the quote of a one-line cart
    quoted = run(db, pricing.quote, SHOP, page, budgets, T0)
    assert (quoted.result.list_total, quoted.result.payable, quoted.result.savings) == (
        D("1000.00"), D("720.00"), D("280.00"))
    assert applied(quoted.result) == [("phone_cut", D("200.00")), ("newbie", D("30.00")),
                                      ("platform_cut", D("50.00"))]
    assert quoted.coupons == (CouponPick("newbie", "newbie_30", None),)  # claimed at checkout
    again = run(db, pricing.quote, SHOP, page, budgets, T0)
    assert again == quoted
    assert left(budgets, "phone_cut", "platform_cut", "newbie") == ["500.00", "100.00", "60.00"]
    assert run(db, service.held_coupons, "u1", T0) == []
    assert run(db, service.stock_issued, "newbie_30") == 0
    # Once claimed, the held coupon is the one used.
    claimed = run(db, service.claim, "newbie_30", "u1", T0)
    held = run(db, pricing.quote, SHOP, page, budgets, T0)
    assert held.coupons == (CouponPick("newbie", "newbie_30", claimed.coupon_id),)
    assert held.result.payable == D("720.00")
    # Someone without an account sees what anyone could claim.
    assert run(db, pricing.quote, SHOP, cart(PHONE, user=None), budgets, T0).result.payable == D("720.00")


@pytest.mark.parametrize("store", STORES)
def test_limits_and_budgets_are_reasons_in_the_quote(store: str, request: pytest.FixtureRequest,
                                                     clock: FixedClock) -> None:
    db, budgets = ready(store, request, clock)
    placed = run(db, pricing.place, SHOP, cart(PHONE), "o1", budgets, T0)
    assert placed.ok
    mine = run(db, pricing.quote, SHOP, cart(PHONE), budgets, T0).result
    assert refused(mine)["phone_cut"] == "per-user limit"
    assert refused(mine)["newbie"] == "coupon not held"  # one per user, and it is on the order
    assert mine.payable == D("950.00")  # 1000 - 50 (platform_cut has 50.00 left)
    theirs = run(db, pricing.quote, SHOP, cart(PHONE, user="u2"), budgets, T0).result
    assert applied(theirs) == [("phone_cut", D("200.00")), ("newbie", D("30.00")), ("platform_cut", D("50.00"))]
    budgets.reserve("platform_cut", "rival", Money.of("50.00"), user="u9", day=T0.date())
    drained = run(db, pricing.quote, SHOP, cart(PHONE, user="u2"), budgets, T0).result
    assert refused(drained)["platform_cut"] == "budget exhausted"
    second = run(db, pricing.place, SHOP, cart(PHONE), "o2", budgets, T0).result
    assert second is not None and refused(second)["phone_cut"] == "per-user limit"
    assert second.payable == D("1000.00")
    run(db, pricing.cancel, "o1", budgets, T0)
    assert "phone_cut" not in refused(run(db, pricing.quote, SHOP, cart(PHONE), budgets, T0).result)


@pytest.mark.parametrize("store", ["sqlite"])
def test_outside_its_window_or_paused_a_promotion_is_not_active(store: str, request: pytest.FixtureRequest,
                                                                 clock: FixedClock) -> None:
    db, budgets = ready(store, request, clock)
    later = T0 + timedelta(days=2)
    result = run(db, pricing.quote, SHOP, cart(PHONE), budgets, later).result
    assert refused(result)["phone_cut"] == "not active"  # its lifecycle has it ended by now
    run(db, lifecycle.pause, SHOP.program, "platform_cut", by="op-1", now=T0)
    assert refused(run(db, pricing.quote, SHOP, cart(PHONE), budgets, T0).result)["platform_cut"] == "not active"


def test_an_unknown_promotion_in_the_view_has_no_budget(clock: FixedClock, request: pytest.FixtureRequest) -> None:
    _, budgets = stores("sqlite", request, clock)
    view = StoreBudgetView(budgets, SHOP.program, "u1", None, T0.date())
    assert (view.remaining("nope"), view.uses_left("nope", "u1")) == (None, None)
