"""Shared pieces of the promotions tests: templates and a shortcut for a unit of work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import pytest
from sqlalchemy.engine import Engine

from arbiter.clock import Clock
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.promotions.budgets import BudgetStore, SqlBudgets
from arbiter.platform.promotions.coupons import NEW_USER, PLATFORM, SHOP, TemplateSpec
from arbiter.platform.promotions.redis_budgets import RedisBudgets

T0 = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)
R = TypeVar("R")


def cny(amount: str) -> Money:
    return Money.of(amount)


def run(db: Engine, use_case: Callable[..., R], *args: object, **kwargs: object) -> R:
    """One use case in a unit of work of its own."""
    with UnitOfWork(db) as uow:
        return use_case(uow, *args, **kwargs)


def new_user_coupon(promotion: str | None = "new_user_99_20", **changes: object) -> TemplateSpec:
    """满99减20: the new-user coupon of worked example 2, one per user, valid 7 days."""
    fields: dict[str, object] = dict(
        code="new_user_99_20", display="新人券 满99减20", kind=NEW_USER, threshold=cny("99.00"),
        value=cny("20.00"), scope="all", days_after_claim=7, claim_limit=1, promotion=promotion,
    )
    fields.update(changes)
    return TemplateSpec(**fields)  # type: ignore[arg-type]


def shop_coupon(**changes: object) -> TemplateSpec:
    """满300减30 in shop S1 during the sale (absolute validity), 2 per user, 3 in stock."""
    fields: dict[str, object] = dict(
        code="s1_300_30", display="店铺券 满300减30", kind=SHOP, threshold=cny("300.00"),
        value=cny("30.00"), scope="shop:S1", starts_at=T0 - timedelta(days=1),
        ends_at=T0 + timedelta(days=10), claim_limit=2, stock=3,
    )
    fields.update(changes)
    return TemplateSpec(**fields)  # type: ignore[arg-type]


def phone_percent_coupon(**changes: object) -> TemplateSpec:
    """12.5% off phones above 1000.00, at most 150.00, unlimited claims."""
    fields: dict[str, object] = dict(
        code="phone_12_5", display="平台券 手机87.5折", kind=PLATFORM, threshold=cny("1000.00"),
        percent=Decimal("12.5"), cap=cny("150.00"), scope="category:phone",
        ends_at=T0 + timedelta(days=30), claim_limit=None,
    )
    fields.update(changes)
    return TemplateSpec(**fields)  # type: ignore[arg-type]


def stores(store: str, request: pytest.FixtureRequest, clock: Clock) -> tuple[Engine, BudgetStore]:
    """Coupons in SQLite or PostgreSQL with the budget beside them, or in SQLite with Redis."""
    if store == "redis":
        db: Engine = request.getfixturevalue("sqlite_engine")
        budgets: BudgetStore = RedisBudgets(request.getfixturevalue("redis_client"), clock,
                                            prefix=request.getfixturevalue("redis_prefix"))
    else:
        db = request.getfixturevalue(f"{store}_engine")
        budgets = SqlBudgets(db, clock)
    return db, budgets
