"""Presale (预售) phases with figures computed by hand: the deposit window, the balance window
for the lines whose deposit was paid, and outside both."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.engine.pricing import Cart, CartLine, TrialResult, trial
from arbiter.money import Money

CATALOG = """
tag line.sku: string
tag line.shop: string
tag line.deposit_paid: bool { default false }
"""
# Deposits from 10-20 to 11-10, a gap of a day, then balances from 11-11 to 11-13 (UTC).
PRESALE = """
promotion pre {
    type presale
    stacks all
    goods line.sku == "PHONE"
    deposit 100
    deposit_value 300
    starts 2026-10-20T00:00:00Z
    ends 2026-11-10T00:00:00Z
    balance_starts 2026-11-11T00:00:00Z
    balance_ends 2026-11-13T00:00:00Z
}
"""
SHOP_CUT = 'promotion cut { type threshold_cut stacks all threshold 5000 amount 300 }'
DEPOSIT_TIME = datetime(2026, 11, 1, 12, tzinfo=UTC)
BALANCE_TIME = datetime(2026, 11, 12, 12, tzinfo=UTC)


def ruleset(*promotions: str) -> Ruleset:
    result = check_sources({"catalog.rules": CATALOG, "promotions.rules": "\n".join(promotions)})
    assert result.ok, [d.message for d in result.diagnostics]
    return compile_program(result)


def price(rules: Ruleset, now: datetime, *lines: tuple[str, int, str, bool]) -> TrialResult:
    cart = Cart(tuple(
        CartLine(f"L{i}", sku, "s", quantity, Money.of(unit), {"deposit_paid": True} if paid else {})
        for i, (sku, quantity, unit, paid) in enumerate(lines, start=1)
    ))
    return trial(rules, cart, clock=FixedClock(now))


def reasons(result: TrialResult) -> dict[str, tuple[str, str]]:
    return {x.promotion: (x.reason, x.detail) for x in result.not_applied}


def test_deposit_window_the_deposit_now_and_the_balance_later() -> None:
    # 2 x 3000 = 6000; the deposit of 100 counts for 300: 200 off a unit, 400 in all -> 5600.
    result = price(ruleset(PRESALE), DEPOSIT_TIME, ("PHONE", 2, "3000.00", False))
    assert result.payable == Decimal("5600.00")
    [split] = result.presale
    assert (split.phase, split.deposit, split.balance, split.due_now) == (
        "deposit", Decimal("200.00"), Decimal("5400.00"), Decimal("200.00"))
    assert result.due_now == Decimal("200.00")
    assert result.to_json()["presale"] == [{
        "promotion": "pre", "line": "L1", "phase": "deposit",
        "deposit": {"amount": "200.00", "currency": "CNY"}, "balance": {"amount": "5400.00", "currency": "CNY"},
        "due_now": {"amount": "200.00", "currency": "CNY"},
    }]


def test_balance_window_the_balance_of_a_paid_deposit_now() -> None:
    # The same order in its balance window: it still costs 5600; the 200 of deposits were
    # paid, so 5400 is due now.
    result = price(ruleset(PRESALE), BALANCE_TIME, ("PHONE", 2, "3000.00", True))
    assert result.payable == Decimal("5600.00")
    [split] = result.presale
    assert (split.phase, split.deposit, split.balance, split.due_now) == (
        "balance", Decimal("200.00"), Decimal("5400.00"), Decimal("5400.00"))
    assert result.due_now == Decimal("5400.00")


def test_the_balance_takes_the_deals_live_when_it_is_paid() -> None:
    # 6000 - 400 = 5600 >= 5000: 300 off at the shop stage -> 5300; less the 200 paid: 5100.
    result = price(ruleset(PRESALE, SHOP_CUT), BALANCE_TIME, ("PHONE", 2, "3000.00", True))
    assert [a.promotion for a in result.applied] == ["pre", "cut"]
    assert result.payable == Decimal("5300.00")
    [split] = result.presale
    assert (split.deposit, split.balance, result.due_now) == (Decimal("200.00"), Decimal("5100.00"), Decimal("5100.00"))


def test_balance_window_a_line_without_a_paid_deposit_pays_the_shelf_price() -> None:
    # PHONE paid its deposit (3000 - 200 = 2800, 2700 due now); the second PHONE line did
    # not (3000, all due now); the case is no presale goods (50): 5850 in all, 5750 due now.
    result = price(ruleset(PRESALE), BALANCE_TIME,
                   ("PHONE", 1, "3000.00", True), ("PHONE", 1, "3000.00", False), ("CASE", 1, "50.00", False))
    assert [str(line.payable) for line in result.lines] == ["2800.00", "3000.00", "50.00"]
    assert [(s.line, s.phase, s.deposit, s.balance) for s in result.presale] == [
        ("L1", "balance", Decimal("100.00"), Decimal("2700.00"))]
    assert (result.payable, result.due_now) == (Decimal("5850.00"), Decimal("5750.00"))


def test_balance_window_without_any_paid_deposit_is_outside_the_window() -> None:
    result = price(ruleset(PRESALE), BALANCE_TIME, ("PHONE", 1, "3000.00", False))
    assert (result.payable, result.presale, result.due_now) == (Decimal("3000.00"), (), Decimal("3000.00"))
    assert reasons(result) == {"pre": (
        "outside window",
        "the deposit window ended 2026-11-10 00:00:00+00:00; from 2026-11-11 00:00:00+00:00 to "
        "2026-11-13 00:00:00+00:00 it takes only the balance of a paid deposit",
    )}


def test_a_paid_deposit_on_other_goods_does_not_open_the_presale() -> None:
    result = price(ruleset(PRESALE), BALANCE_TIME, ("CASE", 1, "50.00", True), ("PHONE", 1, "3000.00", False))
    assert result.payable == Decimal("3050.00")
    assert reasons(result) == {"pre": ("not eligible goods", "no covered line has its deposit paid")}


def test_outside_both_windows_the_presale_does_not_apply() -> None:
    detail = ("runs 2026-10-20 00:00:00+00:00 to 2026-11-10 00:00:00+00:00; "
              "balances 2026-11-11 00:00:00+00:00 to 2026-11-13 00:00:00+00:00")
    for now in (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 10, 12, tzinfo=UTC),
                datetime(2026, 11, 13, tzinfo=UTC)):
        for paid in (False, True):
            result = price(ruleset(PRESALE), now, ("PHONE", 1, "3000.00", paid))
            assert (result.payable, result.presale) == (Decimal("3000.00"), ())
            assert reasons(result) == {"pre": ("outside window", detail)}


def test_the_window_bounds_start_included_end_excluded() -> None:
    rules = ruleset(PRESALE)
    opening = price(rules, datetime(2026, 11, 11, tzinfo=UTC), ("PHONE", 1, "3000.00", True))
    assert [s.phase for s in opening.presale] == ["balance"]
    closing = price(rules, datetime(2026, 11, 10, tzinfo=UTC), ("PHONE", 1, "3000.00", False))
    assert closing.presale == ()


def test_a_presale_without_a_balance_window_keeps_its_deposit_window() -> None:
    rules = ruleset('promotion pre { type presale deposit 100 deposit_value 200 ends 2026-11-10T00:00:00Z }')
    during = price(rules, DEPOSIT_TIME, ("PHONE", 1, "3000.00", False))
    assert [(s.phase, s.deposit, s.balance) for s in during.presale] == [("deposit", Decimal("100.00"), Decimal("2800.00"))]
    after = price(rules, BALANCE_TIME, ("PHONE", 1, "3000.00", True))
    assert reasons(after) == {"pre": ("outside window", "runs … to 2026-11-10 00:00:00+00:00")}
