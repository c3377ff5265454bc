"""The demo promotions of rules/promotions.rules, for what their price tests cannot say: the
gift recorded with its value and funders, the presale split by phase, funding shares."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_paths
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.engine.pricing import Cart, CartLine, TrialResult, trial
from arbiter.engine.pricing.model import Gift
from arbiter.money import Money

RULES = Path(__file__).resolve().parents[3] / "rules"
SINGLES_DAY = datetime(2026, 11, 11, 2, tzinfo=UTC)  # 10:00 in Beijing


@pytest.fixture(scope="module")
def demo() -> Ruleset:
    return compile_program(check_paths([RULES]))


def line(sku: str, unit: str, quantity: int = 1, **tags: object) -> CartLine:
    return CartLine(f"L-{sku}", sku, "self", quantity, Money.of(unit), tags)


def price(demo: Ruleset, promotions: list[str], *lines: CartLine, now: datetime = SINGLES_DAY,
          budgets: object = None) -> TrialResult:
    return trial(demo, Cart(lines), clock=FixedClock(now), promotions=promotions, budgets=budgets)  # type: ignore[arg-type]


class GiftStock:
    """A budget view in which the gift's stock is used up."""

    def remaining(self, promotion: str) -> Decimal | None:
        return Decimal(0) if promotion == "phone_gift" else None

    def uses_left(self, promotion: str, user: str | None) -> int | None:
        return None


def test_the_phone_gift_is_recorded_with_its_value_to_the_cent(demo: Ruleset) -> None:
    result = price(demo, ["phone_gift"], line("SKU-PHONE-X1-128", "3999.00", category="phone"))
    assert (result.payable, result.savings) == (Decimal("3999.00"), Decimal("0.00"))
    assert result.gifts == (Gift("phone_gift", "SKU-EARBUDS-1", Decimal("199.00"), (("merchant", Decimal("199.00")),)),)
    assert str(result.gifts[0].value) == "199.00"
    assert result.to_json()["gifts"] == [{
        "promotion": "phone_gift", "sku": "SKU-EARBUDS-1", "value": {"amount": "199.00", "currency": "CNY"},
        "funding": {"merchant": "199.00"},
    }]


def test_no_gift_below_the_threshold_or_once_the_stock_is_gone(demo: Ruleset) -> None:
    cheap = price(demo, ["phone_gift"], line("SKU-PHONE-LITE", "2999.00", category="phone"))
    assert cheap.gifts == ()
    assert [(x.reason, x.detail) for x in cheap.not_applied] == [("threshold not met", "2999.00 (payable) is below 3000")]
    gone = price(demo, ["phone_gift"], line("SKU-PHONE-X1-128", "3999.00", category="phone"), budgets=GiftStock())
    assert gone.gifts == ()
    assert [(x.reason, x.detail) for x in gone.not_applied] == [("budget exhausted", "the gift is out of stock")]


def test_the_presale_phone_deposit_phase_and_balance_phase(demo: Ruleset) -> None:
    phone = line("SKU-PHONE-X2", "5999.00", category="phone")
    deposit = price(demo, ["phone_presale"], phone, now=datetime(2026, 10, 25, 2, tzinfo=UTC))
    assert [(s.phase, s.deposit, s.balance) for s in deposit.presale] == [("deposit", Decimal("100.00"), Decimal("5799.00"))]
    assert (deposit.payable, deposit.due_now) == (Decimal("5899.00"), Decimal("100.00"))
    # On Singles' Day with its deposit paid: 5899, less 100 of the platform's every-200 cut
    # (capped) = 5799, of which the 100 deposit was paid: 5699 due now.
    paid = line("SKU-PHONE-X2", "5999.00", category="phone", deposit_paid=True)
    balance = price(demo, ["phone_presale", "platform_every_cut"], paid)
    assert [(s.phase, s.deposit, s.balance) for s in balance.presale] == [("balance", Decimal("100.00"), Decimal("5699.00"))]
    assert (balance.payable, balance.due_now) == (Decimal("5799.00"), Decimal("5699.00"))
    assert [(a.promotion, a.amount) for a in balance.lines[0].allocations] == [
        ("phone_presale", Decimal("100.00")), ("platform_every_cut", Decimal("100.00"))]


def test_the_item_cuts_by_percent_and_to_a_fixed_price_and_their_funding(demo: Ruleset) -> None:
    watches = price(demo, ["watch_item_discount"], line("SKU-WATCH-1", "1299.00", 2, category="watch"))
    # 2598.00 x 20% = 519.60 off, 259.80 a unit, all funded by the merchant.
    assert watches.payable == Decimal("2078.40")
    [cut] = watches.lines[0].allocations
    assert (cut.amount, cut.units, cut.funding) == (
        Decimal("519.60"), (Decimal("259.80"), Decimal("259.80")), (("merchant", Decimal("519.60")),))
    tea = price(demo, ["tea_fixed_price"], line("SKU-TEA-SPRING", "128.00", 3, category="tea"))
    # 3 x (128 - 99) = 87.00 off: 30% platform 26.10, 70% merchant 60.90.
    assert tea.payable == Decimal("297.00")
    [fixed] = tea.lines[0].allocations
    assert (fixed.amount, fixed.funding) == (Decimal("87.00"), (("platform", Decimal("26.10")), ("merchant", Decimal("60.90"))))
    assert tea.lines[0].unit_payables == (Decimal("99.00"),) * 3


def test_the_snack_multi_buy_wins_on_four_cheap_snacks(demo: Ruleset) -> None:
    snacks = CartLine("L1", "SKU-SNACK-C", "shop-snack-001", 4, Money.of("30.00"), {"category": "snack"})
    result = price(demo, ["snack_multi_buy", "snack_every_cut"], snacks)
    # 4 items reach 85%: 120.00 x 15% = 18.00 off, against 15.00 for one step of 100.
    assert [(a.promotion, a.discount, a.note) for a in result.applied] == [
        ("snack_multi_buy", Decimal("18.00"), "4 items reaches 4 items: pay 85.00%")]
    assert result.payable == Decimal("102.00")
    assert [(x.promotion, x.reason) for x in result.not_applied] == [("snack_every_cut", "excluded by snack_multi_buy")]
