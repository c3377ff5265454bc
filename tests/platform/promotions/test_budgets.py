"""Budget reservations on every store (SqlBudgets on SQLite and PostgreSQL, RedisBudgets):
each path of reserved -> confirmed | released with exact figures, idempotency by order id,
the limits per user, per user per day, per device and in uses, and previews that read only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arbiter.errors import CurrencyMismatch, InvalidInput
from arbiter.money import Money
from arbiter.platform.promotions import budgets as b
from arbiter.platform.promotions.budgets import BudgetStore, Reservation
from arbiter.platform.promotions.redis_budgets import budget_keys

DAY = date(2026, 11, 11)


def cny(amount: str) -> Money:
    return Money.of(amount)


def reserve(store: BudgetStore, order: str, amount: str, user: str = "u1", **kwargs: object) -> Reservation:
    kwargs.setdefault("day", DAY)
    return store.reserve("p", order, cny(amount), user=user, **kwargs)  # type: ignore[arg-type]


def test_define_sets_the_total_and_keeps_what_is_used(budgets: BudgetStore) -> None:
    state = budgets.define("p", cny("30.00"))
    assert (state.total, state.used, state.remaining) == (cny("30.00"), cny("0.00"), cny("30.00"))
    assert str(budgets.remaining("p")) == "30.00 CNY"
    assert reserve(budgets, "o1", "20.00").granted == cny("20.00")
    state = budgets.define("p", cny("50.00"), uses=10)
    assert (state.total, state.used, state.remaining) == (cny("50.00"), cny("20.00"), cny("30.00"))
    assert (state.uses_total, state.uses_used) == (10, 1)
    state = budgets.define("p", cny("5.00"))  # cut below what is held: nothing left, nothing lost
    assert (state.used, state.remaining, state.uses_total) == (cny("20.00"), cny("0.00"), None)
    with pytest.raises(CurrencyMismatch):
        budgets.define("p", Money.of("10", "USD"))


def test_strict_reserves_in_full_or_refuses(budgets: BudgetStore) -> None:
    budgets.define("p", cny("30.00"))
    first = reserve(budgets, "o1", "20.00")
    assert first == Reservation("p", "o1", cny("20.00"), cny("20.00"), b.RESERVED)
    assert first.ok and not first.partial and not first.replayed
    second = reserve(budgets, "o2", "20.00", user="u2")
    assert second == Reservation("p", "o2", cny("20.00"), cny("0.00"), b.REFUSED, b.BUDGET_EXHAUSTED)
    assert not second.ok
    assert budgets.remaining("p") == cny("10.00")
    assert budgets.reservation("p", "o2") is None  # a refusal is not recorded
    assert reserve(budgets, "o3", "10.00", user="u3").granted == cny("10.00")
    assert budgets.remaining("p") == cny("0.00")


def test_partial_grants_what_is_left_then_refuses(budgets: BudgetStore) -> None:
    budgets.define("p", cny("30.00"))
    reserve(budgets, "o1", "20.00")
    part = reserve(budgets, "o2", "20.00", user="u2", policy="partial")
    assert (part.granted, part.requested, part.status, part.reason) == (cny("10.00"), cny("20.00"), b.RESERVED, None)
    assert part.partial
    assert budgets.remaining("p") == cny("0.00")
    none_left = reserve(budgets, "o3", "20.00", user="u3", policy="partial")
    assert (none_left.granted, none_left.reason) == (cny("0.00"), b.BUDGET_EXHAUSTED)
    state = budgets.state("p")
    assert (state.used, state.uses_used) == (cny("30.00"), 2)


def test_a_repeated_reserve_returns_the_first_result(budgets: BudgetStore) -> None:
    budgets.define("p", cny("30.00"))
    first = reserve(budgets, "o1", "20.00", policy="partial")
    again = reserve(budgets, "o1", "25.00", policy="partial")  # same order: first result
    assert again == Reservation("p", "o1", cny("20.00"), cny("20.00"), b.RESERVED, replayed=True)
    assert first.granted == again.granted
    assert budgets.remaining("p") == cny("10.00")
    assert budgets.state("p").uses_used == 1


def test_confirm_then_release_only_when_asked_after_payment(budgets: BudgetStore) -> None:
    budgets.define("p", cny("30.00"))
    reserve(budgets, "o1", "20.00")
    confirmed = budgets.confirm("p", "o1")
    assert (confirmed.status, confirmed.granted, confirmed.ok, confirmed.replayed) == (
        b.CONFIRMED, cny("20.00"), True, False)
    assert budgets.confirm("p", "o1").replayed
    assert budgets.remaining("p") == cny("10.00")  # confirmed money stays spent
    late_timeout = budgets.release("p", "o1")
    assert (late_timeout.status, late_timeout.reason) == (b.CONFIRMED, b.ALREADY_CONFIRMED)
    assert budgets.remaining("p") == cny("10.00")
    cancelled = budgets.release("p", "o1", after_confirm=True)
    assert (cancelled.status, cancelled.granted, cancelled.ok) == (b.RELEASED, cny("20.00"), True)
    assert budgets.remaining("p") == cny("30.00")
    assert budgets.release("p", "o1", after_confirm=True).replayed
    assert budgets.remaining("p") == cny("30.00")


def test_release_gives_back_exactly_once_and_confirm_after_release_is_refused(budgets: BudgetStore) -> None:
    budgets.define("p", cny("30.00"))
    reserve(budgets, "o1", "20.00", per_user=1)
    for attempt in range(5):
        released = budgets.release("p", "o1")
        assert (released.status, released.granted, released.ok, released.replayed) == (
            b.RELEASED, cny("20.00"), True, attempt > 0)
    assert budgets.remaining("p") == cny("30.00")
    assert budgets.state("p").uses_used == 0
    refused = budgets.confirm("p", "o1")
    assert (refused.status, refused.reason, refused.ok) == (b.RELEASED, b.ALREADY_RELEASED, False)
    assert reserve(budgets, "o1", "5.00").replayed  # the order id stays spent
    assert reserve(budgets, "o2", "5.00", per_user=1).ok  # the user's count came back too


def test_confirm_or_release_of_an_unknown_order_is_refused(budgets: BudgetStore) -> None:
    budgets.define("p", cny("30.00"))
    for outcome in (budgets.confirm("p", "nope"), budgets.release("p", "nope")):
        assert (outcome.status, outcome.reason, outcome.granted) == (b.REFUSED, b.NO_RESERVATION, cny("0"))
    assert budgets.remaining("p") == cny("30.00")


def test_per_user_limit_counts_active_reservations(budgets: BudgetStore) -> None:
    budgets.define("p", cny("100.00"))
    assert reserve(budgets, "o1", "10.00", per_user=1).ok
    assert reserve(budgets, "o2", "10.00", per_user=1).reason == b.PER_USER
    assert reserve(budgets, "o3", "10.00", user="u2", per_user=1).ok
    budgets.release("p", "o1")
    assert reserve(budgets, "o2", "10.00", per_user=1).ok  # refused before, decided afresh
    assert reserve(budgets, "o4", "10.00", per_user=0, user="u9").reason == b.PER_USER
    assert budgets.remaining("p") == cny("80.00")


def test_per_user_per_day_limit(budgets: BudgetStore) -> None:
    budgets.define("p", cny("100.00"))
    assert reserve(budgets, "o1", "1.00", per_user_per_day=2).ok
    assert reserve(budgets, "o2", "1.00", per_user_per_day=2).ok
    assert reserve(budgets, "o3", "1.00", per_user_per_day=2).reason == b.PER_USER_PER_DAY
    assert reserve(budgets, "o3", "1.00", per_user_per_day=2, day=date(2026, 11, 12)).ok
    assert reserve(budgets, "o4", "1.00", per_user=3, per_user_per_day=9).reason == b.PER_USER
    assert budgets.remaining("p") == cny("97.00")


def test_per_device_limit(budgets: BudgetStore) -> None:
    budgets.define("p", cny("100.00"))
    assert reserve(budgets, "o1", "20.00", user="a", device="d1", per_device=1).ok
    assert reserve(budgets, "o2", "20.00", user="b", device="d1", per_device=1).reason == b.PER_DEVICE
    assert reserve(budgets, "o3", "20.00", user="b", device="d2", per_device=1).ok
    assert reserve(budgets, "o4", "20.00", user="c", per_device=1).ok  # no device: not counted
    budgets.release("p", "o1")
    assert reserve(budgets, "o2", "20.00", user="b", device="d1", per_device=1).ok
    assert budgets.remaining("p") == cny("40.00")


def test_uses_are_a_budget_of_their_own(budgets: BudgetStore) -> None:
    budgets.define("p", cny("100.00"), uses=2)
    assert reserve(budgets, "o1", "1.00").ok
    assert reserve(budgets, "o2", "1.00", user="u2").ok
    refused = reserve(budgets, "o3", "1.00", user="u3")
    assert (refused.reason, refused.granted) == (b.USES_EXHAUSTED, cny("0.00"))
    budgets.release("p", "o2")
    assert reserve(budgets, "o3", "1.00", user="u3").ok
    state = budgets.state("p")
    assert (state.uses_used, state.used) == (2, cny("2.00"))


def test_amounts_are_exact_to_the_ten_thousandth(budgets: BudgetStore) -> None:
    budgets.define("p", cny("0.3"))
    assert reserve(budgets, "o1", "0.1").granted == cny("0.10")
    assert reserve(budgets, "o2", "0.2", user="u2").granted == cny("0.20")
    assert budgets.remaining("p") == cny("0")
    assert reserve(budgets, "o3", "0.0001", user="u3").reason == b.BUDGET_EXHAUSTED
    budgets.define("p", cny("0.3001"))
    last = reserve(budgets, "o4", "0.0002", user="u4", policy="partial")
    assert last.granted.amount == Decimal("0.0001")
    assert str(budgets.state("p").used) == "0.3001 CNY"


def test_bad_requests_are_errors_not_refusals(budgets: BudgetStore) -> None:
    budgets.define("p", cny("30.00"))
    with pytest.raises(b.UnknownBudget):
        budgets.reserve("nope", "o1", cny("1"), user="u", day=DAY)
    with pytest.raises(b.UnknownBudget):
        budgets.remaining("nope")
    with pytest.raises(CurrencyMismatch):
        budgets.reserve("p", "o1", Money.of("1", "USD"), user="u", day=DAY)
    for amount in ("0", "-1", "0.00001"):
        with pytest.raises(InvalidInput):
            reserve(budgets, "o1", amount)
    with pytest.raises(InvalidInput):
        reserve(budgets, "o1", "1", policy="greedy")
    with pytest.raises(InvalidInput):
        reserve(budgets, "o1", "1", per_user=-1)
    assert budgets.remaining("p") == cny("30.00")
    assert budgets.reservation("p", "o1") is None


def test_a_preview_reads_only(budgets: BudgetStore) -> None:
    budgets.define("p", cny("30.00"), uses=5)
    reserve(budgets, "o1", "20.00", per_user=1, device="d1")
    before = budgets.state("p")
    full = budgets.preview("p", cny("5.00"))
    assert (full.status, full.granted, full.reason) == (b.PREVIEW, cny("5.00"), None)
    part = budgets.preview("p", cny("20.00"), policy="partial")
    assert (part.granted, part.partial) == (cny("10.00"), True)
    assert budgets.preview("p", cny("20.00")).reason == b.BUDGET_EXHAUSTED
    assert budgets.preview("p", cny("1.00"), user="u1", per_user=1).reason == b.PER_USER
    assert budgets.preview("p", cny("1.00"), user="u1", day=DAY, per_user_per_day=1).reason == b.PER_USER_PER_DAY
    assert budgets.preview("p", cny("1.00"), user="u2", device="d1", per_device=1).reason == b.PER_DEVICE
    assert budgets.preview("p", cny("1.00"), user="u2", device="d2", per_device=1).ok
    assert budgets.state("p") == before
    assert budgets.remaining("p") == cny("10.00")


def test_the_redis_keys_keep_a_promotion_in_one_cluster_slot() -> None:
    assert budget_keys("new_user") == (
        "arbiter:{promo:new_user}:budget", "arbiter:{promo:new_user}:orders", "arbiter:{promo:new_user}:usage")
