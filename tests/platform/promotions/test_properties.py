"""Property: whatever sequence of reserve, confirm and release arrives, for whichever orders,
users, amounts and policies, a budget is never overspent, `used` always equals the sum of the
reserved and confirmed reservations, and every outcome is the one a plain model predicts."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from arbiter.money import Money
from arbiter.platform.columns import from_units
from arbiter.platform.promotions import budgets as b
from arbiter.platform.promotions.budgets import (
    BudgetState,
    BudgetStore,
    BudgetTerms,
    Reservation,
    Usage,
)
from arbiter.platform.promotions.models import RESERVATIONS
from arbiter.platform.promotions.redis_budgets import RedisBudgets, budget_keys

DAY = date(2026, 11, 11)
ORDERS = [f"o{i}" for i in range(6)]
USERS = ["a", "b", "c"]
NAMES = itertools.count()


def cents(n: int) -> Money:
    return Money(Decimal(n) / 100)


@dataclass
class Model:
    """What the stores must do, written as plainly as possible."""

    total: Money
    used: Money = field(default_factory=lambda: cents(0))
    uses: int = 0
    orders: dict[str, tuple[str, Money, Money, str]] = field(default_factory=dict)  # status, asked, granted, user

    def reserve(self, order: str, amount: Money, user: str, policy: str, per_user: int | None) -> tuple[Any, ...]:
        if order in self.orders:
            status, asked, granted, _ = self.orders[order]
            return status, asked, granted, None, True
        active = sum(1 for s, _, _, u in self.orders.values() if u == user and s != b.RELEASED)
        state = BudgetState("p", self.total, self.used, None, self.uses)
        granted, reason = b.decide(state, amount, BudgetTerms(policy, per_user), Usage(user=active), has_device=False)
        if reason is not None:
            return b.REFUSED, amount, granted, reason, False
        self.used += granted
        self.uses += 1
        self.orders[order] = (b.RESERVED, amount, granted, user)
        return b.RESERVED, amount, granted, None, False

    def move(self, order: str, to: str, after_confirm: bool) -> tuple[Any, ...]:
        if order not in self.orders:
            return b.REFUSED, cents(0), cents(0), b.NO_RESERVATION, False
        status, asked, granted, user = self.orders[order]
        if status == to:
            return status, asked, granted, None, True
        allowed = status == b.RESERVED or (to == b.RELEASED and after_confirm and status == b.CONFIRMED)
        if not allowed:
            reason = b.ALREADY_RELEASED if status == b.RELEASED else b.ALREADY_CONFIRMED
            return status, asked, granted, reason, False
        if to == b.RELEASED:
            self.used -= granted
            self.uses -= 1
        self.orders[order] = (to, asked, granted, user)
        return to, asked, granted, None, False


def active_sum(store: BudgetStore, promotion: str) -> Decimal:
    """The sum of reserved and confirmed grants, read from the store's own records."""
    if isinstance(store, RedisBudgets):
        records = store.client.hgetall(budget_keys(promotion, store.prefix)[1]).values()
        return sum((from_units(r["granted"]) for r in map(json.loads, records)
                    if r["status"] != b.RELEASED), Decimal(0))
    with store.engine.connect() as connection:  # type: ignore[attr-defined]
        rows = connection.execute(select(RESERVATIONS.c.granted).where(
            RESERVATIONS.c.promotion == promotion, RESERVATIONS.c.status != b.RELEASED)).all()
    return sum((row.granted for row in rows), Decimal(0))


operations = st.one_of(
    st.tuples(st.just("reserve"), st.sampled_from(ORDERS), st.sampled_from(USERS),
              st.integers(1, 3000), st.sampled_from([b.STRICT, b.PARTIAL]), st.sampled_from([None, 1, 2])),
    st.tuples(st.just("confirm"), st.sampled_from(ORDERS)),
    st.tuples(st.just("release"), st.sampled_from(ORDERS), st.booleans()),
)


@pytest.mark.parametrize("budgets", ["sqlite", "postgresql", "redis"], indirect=True)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(total=st.integers(0, 6000), steps=st.lists(operations, min_size=1, max_size=25))
def test_budgets_are_never_overspent(budgets: BudgetStore, total: int, steps: list[tuple[Any, ...]]) -> None:
    promotion = f"prop{next(NAMES)}"  # a fresh budget per example
    budgets.define(promotion, cents(total))
    model = Model(cents(total))
    for step in steps:
        result: Reservation
        if step[0] == "reserve":
            _, order, user, amount, policy, per_user = step
            result = budgets.reserve(promotion, order, cents(amount), user=user, policy=policy,
                                     per_user=per_user, day=DAY)
            expected = model.reserve(order, cents(amount), user, policy, per_user)
        elif step[0] == "confirm":
            result = budgets.confirm(promotion, step[1])
            expected = model.move(step[1], b.CONFIRMED, False)
        else:
            result = budgets.release(promotion, step[1], after_confirm=step[2])
            expected = model.move(step[1], b.RELEASED, step[2])
        assert (result.status, result.requested, result.granted, result.reason, result.replayed) == expected, step
        state = budgets.state(promotion)
        assert state.used <= state.total
        assert state.used == model.used
        assert state.uses_used == model.uses
        assert state.used.amount == active_sum(budgets, promotion)
