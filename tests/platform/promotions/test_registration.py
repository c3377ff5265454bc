"""Goods registration (商品提报): merchants register their own shop's SKUs, the platform reviews,
a merchant never touches another shop's goods; and the trial, through `LivePromotions`,
discounts only approved goods of active promotions. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from arbiter.clock import FixedClock
from arbiter.engine.pricing import trial
from arbiter.platform.db import UnitOfWork
from arbiter.platform.promotions import lifecycle as lc
from arbiter.platform.promotions import registration as reg
from arbiter.platform.promotions.pricing import LivePromotions
from arbiter.platform.promotions.registration import Actor

from .live_support import cart, clean, compiled, refused
from .support import T0, run

RULES = compiled("""
promotion venue { display "会场9折" type item_cut stacks all registration required
    calc discount percent 90% funding { platform: 50%, merchant: 50% }
    starts 2026-11-11T00:00:00+00:00 ends 2026-11-12T00:00:00+00:00 }
promotion shelf { display "店铺直降5元" type item_cut stacks all shop "A" calc cut amount 5 CNY }
""")
PROGRAM = RULES.program
SHOP_A = Actor.merchant("merchant-a", "A")
SHOP_B = Actor.merchant("merchant-b", "B")
PLATFORM = Actor.platform("reviewer-1")


@pytest.fixture
def database(db: Engine) -> Engine:
    clean(db)
    run(db, lc.approve_all, PROGRAM, "bootstrap", "test", T0)
    return db


def register(database: Engine, shop: str, sku: str, actor: Actor, promotion: str = "venue",
             at: object = T0) -> reg.RegistrationResult:
    return run(database, reg.register, PROGRAM, promotion, shop, sku, actor=actor, now=at)


def withdraw(database: Engine, shop: str, sku: str, actor: Actor, at: object = T0) -> reg.RegistrationResult:
    return run(database, reg.withdraw, PROGRAM, "venue", shop, sku, actor=actor, now=at)


def test_a_merchant_registers_and_the_platform_approves(database: Engine) -> None:
    assert register(database, "A", "SKU-1", SHOP_A) == reg.RegistrationResult("venue", "A", "SKU-1", "pending")
    assert register(database, "A", "SKU-1", SHOP_A).replayed  # again: nothing moves
    assert run(database, reg.approved_skus, "venue") == frozenset()
    approved = run(database, reg.approve, "venue", "A", "SKU-1", actor=PLATFORM, now=T0 + timedelta(minutes=5))
    assert (approved.ok, approved.status) == (True, "approved")
    assert run(database, reg.approve, "venue", "A", "SKU-1", actor=PLATFORM, now=T0).replayed
    assert run(database, reg.approved_skus, "venue") == frozenset({"SKU-1"})
    [row] = run(database, reg.registrations, "venue")
    assert (row.shop, row.sku, row.status, row.registered_by, row.registered_at, row.reviewed_by, row.reviewed_at) == (
        "A", "SKU-1", "approved", "merchant-a", T0, "reviewer-1", T0 + timedelta(minutes=5))


def test_a_merchant_cannot_touch_another_shops_goods(database: Engine) -> None:
    assert register(database, "B", "SKU-9", SHOP_A).reason == reg.OTHER_SHOP
    assert run(database, reg.registrations, "venue") == []
    register(database, "B", "SKU-9", SHOP_B)
    assert withdraw(database, "B", "SKU-9", SHOP_A).reason == reg.OTHER_SHOP
    assert [r.status for r in run(database, reg.registrations, "venue", shop="B")] == ["pending"]
    # Reviews are the platform's; registering is the merchants'.
    assert run(database, reg.approve, "venue", "B", "SKU-9", actor=SHOP_B, now=T0).reason == reg.PLATFORM_ONLY
    assert run(database, reg.reject, "venue", "B", "SKU-9", actor=SHOP_A, now=T0, reason="x").reason == reg.PLATFORM_ONLY
    assert register(database, "A", "SKU-1", PLATFORM).reason == reg.MERCHANTS_ONLY
    assert withdraw(database, "B", "SKU-9", SHOP_B).status == "withdrawn"


def test_rejection_with_a_reason_then_registering_again(database: Engine) -> None:
    register(database, "A", "SKU-1", SHOP_A)
    assert run(database, reg.reject, "venue", "A", "SKU-1", actor=PLATFORM, now=T0, reason=" ").reason == reg.REASON_REQUIRED
    rejected = run(database, reg.reject, "venue", "A", "SKU-1", actor=PLATFORM, now=T0, reason="price above the floor")
    assert rejected.status == "rejected"
    [row] = run(database, reg.registrations, "venue", status="rejected")
    assert (row.reason, row.reviewed_by) == ("price above the floor", "reviewer-1")
    assert run(database, reg.approve, "venue", "A", "SKU-1", actor=PLATFORM, now=T0).reason == "cannot approve goods that are rejected"
    again = register(database, "A", "SKU-1", SHOP_A, at=T0 + timedelta(hours=1))
    assert (again.status, again.replayed) == ("pending", False)
    [row] = run(database, reg.registrations, "venue")
    assert (row.status, row.reason, row.reviewed_by, row.registered_at) == ("pending", None, None, T0 + timedelta(hours=1))


def test_withdrawing_approved_goods_is_refused_while_the_promotion_runs(database: Engine) -> None:
    before = T0 - timedelta(days=2)  # the promotion is scheduled then
    register(database, "A", "SKU-1", SHOP_A, at=before)
    register(database, "A", "SKU-2", SHOP_A, at=before)
    for sku in ("SKU-1", "SKU-2"):
        run(database, reg.approve, "venue", "A", sku, actor=PLATFORM, now=before)
    assert withdraw(database, "A", "SKU-1", SHOP_A, at=before).status == "withdrawn"
    running = withdraw(database, "A", "SKU-2", SHOP_A, at=T0)
    assert (running.ok, running.status, running.reason) == (False, "approved", reg.PROMOTION_RUNNING)
    assert withdraw(database, "A", "SKU-3", SHOP_A).reason == reg.NOT_REGISTERED
    pulled = run(database, reg.reject, "venue", "A", "SKU-2", actor=PLATFORM, now=T0, reason="complaints")
    assert pulled.status == "rejected"  # the platform may take approved goods out
    assert run(database, reg.approved_skus, "venue") == frozenset()


def test_only_promotions_that_take_registrations_and_have_not_ended(database: Engine) -> None:
    assert register(database, "A", "SKU-1", SHOP_A, promotion="shelf").reason == reg.NOT_REGISTRABLE
    assert register(database, "A", "SKU-1", SHOP_A, promotion="nope").reason == reg.UNKNOWN_PROMOTION
    assert register(database, "A", "SKU-1", SHOP_A, at=T0 + timedelta(days=1)).reason == reg.PROMOTION_OVER


def test_the_trial_discounts_only_approved_goods_of_a_live_promotion(database: Engine) -> None:
    register(database, "A", "SKU-1", SHOP_A)
    register(database, "B", "SKU-2", SHOP_B)
    run(database, reg.approve, "venue", "A", "SKU-1", actor=PLATFORM, now=T0)
    basket = cart(("SKU-1", "A", "tea", "100.00"), ("SKU-2", "B", "tea", "80.00"))
    clock = FixedClock(T0)

    def priced() -> tuple[list[Decimal], dict[str, str]]:
        with UnitOfWork(database) as uow:
            result = trial(RULES, basket, clock=clock, status=LivePromotions(uow, PROGRAM, clock.now()))
        return [line.payable for line in result.lines], refused(result)

    assert priced() == ([Decimal("85.50"), Decimal("80.00")], {})  # (100 - 5) x 90%; SKU-2 is pending
    run(database, reg.approve, "venue", "B", "SKU-2", actor=PLATFORM, now=T0)
    assert priced() == ([Decimal("85.50"), Decimal("72.00")], {})
    run(database, lc.pause, PROGRAM, "venue", by="op-1", now=T0, why="checking prices")
    assert priced() == ([Decimal("95.00"), Decimal("80.00")], {"venue": "not active"})
    run(database, lc.resume, PROGRAM, "venue", by="op-1", now=T0)
    run(database, reg.withdraw, PROGRAM, "venue", "A", "SKU-1", actor=SHOP_A, now=T0)  # refused: it runs
    run(database, reg.reject, "venue", "A", "SKU-1", actor=PLATFORM, now=T0, reason="pulled")
    assert priced() == ([Decimal("95.00"), Decimal("72.00")], {})
    run(database, reg.reject, "venue", "B", "SKU-2", actor=PLATFORM, now=T0, reason="pulled")
    assert priced()[1] == {"venue": "not eligible goods"}


def test_a_promotion_never_approved_is_a_draft_to_the_trial(db: Engine) -> None:
    clean(db)
    with UnitOfWork(db) as uow:
        live = LivePromotions(uow, PROGRAM, T0)
        result = trial(RULES, cart(("SKU-1", "A", "tea", "100.00")), clock=FixedClock(T0), status=live)
    assert live.statuses == {"shelf": "draft", "venue": "draft"}
    assert refused(result) == {"shelf": "not active", "venue": "not active"}
    assert result.payable == Decimal("100.00")
