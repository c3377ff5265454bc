"""Shared pieces of the lifecycle, registration and checkout tests: a catalog of tags, rules
compiled from text, carts, and emptying the tables these tests add on PostgreSQL (whose schema
lives for the whole session)."""

from __future__ import annotations

import copy
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from arbiter.clock import Clock
from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.engine.pricing import Cart, CartLine, TrialResult
from arbiter.money import Money
from arbiter.platform.promotions import lifecycle as lc
from arbiter.platform.promotions import service
from arbiter.platform.promotions.budgets import BudgetState, BudgetStore
from arbiter.platform.promotions.coupons import NEW_USER, TemplateSpec
from arbiter.platform.promotions.pricing import define_budgets

from .support import T0, run, stores

CATALOG = """
tag user.id: string { default "" }
tag line.sku: string
tag line.shop: string
tag line.category: string { default "" }
tag line.price: money
"""

TABLES = ("promotion_lifecycle", "promotion_transition", "promotion_registration", "promotion_order")


def compiled(source: str) -> Ruleset:
    result = check_sources({"catalog.rules": CATALOG, "promotions.rules": source})
    assert result.ok, [d.message for d in result.diagnostics]
    return compile_program(result)


def clean(engine: Engine) -> Engine:
    """Empty this suite's tables on PostgreSQL (SQLite gets a new file per test)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY"))
    return engine


def cart(*lines: tuple[str, str, str, str], quantity: int = 1, user: str | None = "u1",
         device: str | None = None) -> Cart:
    """A cart of (sku, shop, category, unit price) lines."""
    return Cart(
        tuple(CartLine(f"l{i}", sku, shop, quantity, Money.of(price), {"category": category})
              for i, (sku, shop, category, price) in enumerate(lines, start=1)),
        user=user, device=device,
    )


def applied(result: TrialResult) -> list[tuple[str, Decimal]]:
    return [(a.promotion, a.discount) for a in result.applied]


def refused(result: TrialResult) -> dict[str, str]:
    return {x.promotion: x.reason for x in result.not_applied}


# -- a shop's promotions, stores and coupons ready for checkout ----------------------------------

SHOP = compiled("""
promotion phone_cut { display "手机直降200" type item_cut stacks all goods line.category == "phone"
    calc cut amount 200 CNY per_user 1 budget 500 CNY funding platform
    starts 2026-11-01T00:00:00+08:00 ends 2026-11-12T00:00:00+08:00 }
promotion platform_cut { display "平台每满100减10" type every_cut stage platform stacks all
    every 100 CNY amount 10 CNY cap 50 CNY budget 100 CNY budget_policy partial funding platform }
promotion newbie { display "新人券 满99减30" type coupon stacks all template "newbie_30"
    threshold 99 CNY amount 30 CNY budget 60 CNY funding platform }
""")
PHONE = ("SKU-PHONE", "S1", "phone", "1000.00")


def newbie_template(value: str = "30.00") -> TemplateSpec:
    """The coupon the `newbie` promotion uses: one per user, drawing on its budget."""
    return TemplateSpec(code="newbie_30", display="新人券", kind=NEW_USER, threshold=Money.of("99.00"),
                        value=Money.of(value), days_after_claim=7, claim_limit=1, promotion="newbie")


def ready(store: str, request: pytest.FixtureRequest, clock: Clock, rules: Ruleset = SHOP,
          template: TemplateSpec | None = None) -> tuple[Engine, BudgetStore]:
    """Stores with the rules' budgets defined, every promotion approved and the coupon template."""
    db, budgets = stores(store, request, clock)
    clean(db)
    define_budgets(budgets, rules.program)
    run(db, lc.approve_all, rules.program, "bootstrap", "test", T0)
    run(db, service.define_template, template or newbie_template(), T0)
    return db, budgets


def left(budgets: BudgetStore, *promotions: str) -> list[str]:
    return [str(budgets.remaining(name).amount) for name in promotions]


def stale(budgets: BudgetStore, target: str, taken: str) -> BudgetStore:
    """A rival order takes `taken` of `target`'s budget now, but reads of the returned store
    miss it until its first reservation of `target`: what happens when the rival's order comes
    between the trial and the reservation."""
    budgets.reserve(target, "rival-order", Money.of(taken), user="rival", day=T0.date())
    seen = {"reserved": False}
    base: Any = type(budgets)

    class Stale(base):  # type: ignore[misc, valid-type]
        def state(self, promotion: str) -> BudgetState:
            state: BudgetState = super().state(promotion)
            if promotion != target or seen["reserved"]:
                return state
            return replace(state, used=state.used - Money.of(taken), uses_used=state.uses_used - 1)

        def reserve(self, promotion: str, *args: Any, **kwargs: Any) -> Any:
            if promotion == target:
                seen["reserved"] = True
            return super().reserve(promotion, *args, **kwargs)

        def joined(self, connection: Any) -> Any:
            twin = super().joined(connection)
            twin.__class__ = Stale
            return twin

    store = copy.copy(budgets)
    store.__class__ = Stale
    return store
