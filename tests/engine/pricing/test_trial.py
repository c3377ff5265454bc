"""The price trial, type by type, with figures computed by hand; and the worked example."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import compile_program
from arbiter.engine.pricing import Cart, CartLine, TrialResult, trial
from arbiter.errors import InvalidInput
from arbiter.money import Money

CATALOG = """
tag user.id: string { default "" }
tag order.payment_method: enum("card", "alipay", "wechat") { default "alipay" }
tag line.sku: string
tag line.shop: string
tag line.category: string { default "" }
tag line.price: money
"""
CLOCK = FixedClock(datetime(2026, 11, 11, 12, 0, tzinfo=UTC))


def price(
    promotions: str,
    lines: list[tuple[str, str, int, str] | tuple[str, str, int, str, str]],
    explain: bool = False,
    **cart: object,
) -> TrialResult:
    result = check_sources({"catalog.rules": CATALOG, "promotions.rules": promotions})
    assert result.ok, [d.message for d in result.diagnostics]
    ruleset = compile_program(result)
    cart_lines = tuple(
        CartLine(line[0], line[0], line[1], line[2], Money.of(line[3]), {"category": line[4]} if len(line) > 4 else {})
        for line in lines
    )
    return trial(ruleset, Cart(cart_lines, **cart), clock=CLOCK, explain=explain)  # type: ignore[arg-type]


def payables(result: TrialResult) -> list[str]:
    return [str(line.payable) for line in result.lines]


def shares(result: TrialResult, promotion: str) -> list[str]:
    return [str(a.amount) for line in result.lines for a in line.allocations if a.promotion == promotion]


def test_worked_example_1_exact_optimum_beats_greedy() -> None:
    result = price(
        """
        promotion p1 { display "满3件9折 / 满4件85折" type threshold_discount group "G"
                       tiers [{count: 3, percent: 90%}, {count: 4, percent: 85%}] }
        promotion p2 { display "每满100减15" type every_cut group "G" every 100 amount 15 cap 45 }
        promotion c { display "满280减40" type coupon stacks ["G"] threshold 280 amount 40 threshold_base payable }
        """,
        [("A", "s1", 3, "89.00"), ("B", "s1", 1, "59.90")],
        coupons=frozenset({"c"}),
        explain=True,
    )
    assert (result.list_total, result.payable, result.savings) == (Decimal("326.90"), Decimal("241.90"), Decimal("85.00"))
    assert [a.promotion for a in result.applied] == ["p2", "c"]
    assert shares(result, "p2") == ["36.75", "8.25"]
    assert shares(result, "c") == ["32.67", "7.33"]
    assert payables(result) == ["197.58", "44.32"]
    assert result.lines[0].unit_payables == (Decimal("65.86"),) * 3
    [p1] = result.not_applied
    assert (p1.promotion, p1.reason) == ("p1", "excluded by p2")
    assert p1.detail == 'in group "G" with `p2`; the best combination pays 241.90, the best with `p1` pays 277.86'


def test_item_cut_by_amount_percent_and_fixed_price() -> None:
    cut = price('promotion x { type item_cut calc cut amount 15 }', [("A", "s", 2, "100.00")])
    assert (cut.payable, shares(cut, "x")) == (Decimal("170.00"), ["30.00"])
    pct = price('promotion x { type item_cut calc discount percent 80% }', [("A", "s", 3, "59.90")])
    assert (pct.payable, shares(pct, "x")) == (Decimal("143.76"), ["35.94"])  # 179.70 x 20% = 35.94
    fixed = price('promotion x { type item_cut calc fixed_price price 49.00 }', [("A", "s", 3, "59.90")])
    assert (fixed.payable, shares(fixed, "x")) == (Decimal("147.00"), ["32.70"])


def test_a_cut_larger_than_the_price_is_capped_at_zero() -> None:
    result = price('promotion x { type item_cut calc cut amount 80 }', [("A", "s", 1, "50.00"), ("B", "s", 1, "120.00")])
    assert payables(result) == ["0.00", "40.00"]
    assert result.applied[0].discount == Decimal("130.00")
    big = price('promotion c { type coupon stacks all amount 100 }', [("A", "s", 1, "80.00")], coupons=frozenset({"c"}))
    assert (big.payable, big.applied[0].note.endswith("capped at what the lines cost (80.00)")) == (Decimal("0.00"), True)


def test_presale_deposit_inflation_and_split() -> None:
    result = price(
        'promotion pre { type presale deposit 100 deposit_value 200 }', [("PHONE", "s", 1, "3000.00")]
    )
    assert result.payable == Decimal("2900.00")
    [split] = result.presale
    assert (split.deposit, split.balance) == (Decimal("100.00"), Decimal("2800.00"))


def test_threshold_cut_tiers_and_the_next_tier_hint() -> None:
    rules = 'promotion m { display "满300减30 满500减60" type threshold_cut tiers [{threshold: 300, amount: 30}, {threshold: 500, amount: 60}] }'
    low = price(rules, [("A", "s", 1, "450.00")])
    assert low.payable == Decimal("420.00")
    assert [h.text for h in low.hints] == ["add 50.00 CNY more for 满300减30 满500减60"]
    high = price(rules, [("A", "s", 1, "520.00")])
    assert (high.payable, high.hints) == (Decimal("460.00"), ())
    none = price(rules, [("A", "s", 1, "277.00")])
    assert none.payable == Decimal("277.00")
    assert [(x.reason, x.detail) for x in none.not_applied] == [("threshold not met", "277.00 (payable) is below 300: -30")]
    assert [h.text for h in none.hints] == ["add 23.00 CNY more for 满300减30 满500减60"]


def test_every_cut_with_a_cap() -> None:
    rules = 'promotion e { type every_cut every 200 amount 20 cap 50 }'
    assert price(rules, [("A", "s", 1, "650.00")]).payable == Decimal("600.00")  # 3 x 20 = 60, capped at 50
    assert price(rules, [("A", "s", 1, "450.00")]).payable == Decimal("410.00")


def test_threshold_discount_by_amount_and_by_count() -> None:
    amount = price('promotion d { type threshold_discount threshold 300 percent 90% }', [("A", "s", 1, "400.00")])
    assert amount.payable == Decimal("360.00")
    count = price('promotion d { type threshold_discount count 2 percent 90% }', [("A", "s", 1, "19.99"), ("B", "s", 1, "10.01")])
    assert (count.payable, shares(count, "d")) == (Decimal("27.00"), ["2.00", "1.00"])


def test_buy_two_get_one_frees_the_cheapest() -> None:
    result = price('promotion b { type buy_x_get_y buy 2 get 1 }',
                   [("A", "s", 1, "30.00"), ("B", "s", 1, "20.00"), ("C", "s", 4, "10.00")])
    # six units, two groups of three: the two cheapest units (both C) are free
    assert (result.payable, shares(result, "b")) == (Decimal("70.00"), ["20.00"])  # 90.00 - 2 x 10.00


def test_payment_cut_only_for_its_payment_method() -> None:
    rules = 'promotion card { type payment_cut stacks all when order.payment_method == "card" threshold 100 amount 10 funding channel }'
    paid = price(rules, [("A", "s", 1, "150.00")], context={"order": {"payment_method": "card"}})
    assert paid.payable == Decimal("140.00")
    assert paid.lines[0].allocations[0].funding == (("channel", Decimal("10.00")),)
    other = price(rules, [("A", "s", 1, "150.00")], context={"order": {"payment_method": "alipay"}})
    assert (other.payable, other.not_applied[0].reason) == (Decimal("150.00"), "not eligible")


def test_shop_coupon_covers_only_its_shop_and_needs_to_be_held() -> None:
    rules = 'promotion shop_c { type coupon stage shop shop "s1" threshold 99 amount 20 funding merchant }'
    lines = [("A", "s1", 1, "120.00"), ("B", "s2", 1, "500.00")]
    held = price(rules, lines, coupons=frozenset({"shop_c"}))
    assert payables(held) == ["100.00", "500.00"]
    not_held = price(rules, lines)
    assert [(x.promotion, x.reason) for x in not_held.not_applied] == [("shop_c", "coupon not held")]


def test_bundle_price_allocated_by_what_each_item_costs() -> None:
    result = price('promotion set { type bundle items ["A", "B", "C"] price 3999 funding { platform: 50%, merchant: 50% } }',
                   [("A", "s", 1, "2999.00"), ("B", "s", 1, "99.00"), ("C", "s", 1, "1099.00")])
    assert result.payable == Decimal("3999.00")
    assert shares(result, "set") == ["141.48", "4.67", "51.85"]
    assert result.lines[1].allocations[0].funding == (("platform", Decimal("2.34")), ("merchant", Decimal("2.33")))
    incomplete = price('promotion set { type bundle items ["A", "B"] price 100 }', [("A", "s", 1, "90.00")])
    assert incomplete.not_applied[0].detail == "bundle incomplete: missing B"


def test_gift_recorded_with_its_value_and_no_change_to_the_price() -> None:
    result = price('promotion g { type gift threshold 3000 gift "EARBUDS" gift_value 199 funding merchant }',
                   [("PHONE", "s", 1, "3299.00")])
    assert result.payable == Decimal("3299.00")
    [gift] = result.gifts
    assert (gift.sku, gift.value, gift.funding) == ("EARBUDS", Decimal("199"), (("merchant", Decimal("199.00")),))


def test_promotions_combine_only_when_stacking_is_declared() -> None:
    apart = 'promotion cut { type item_cut calc cut amount 10 }\npromotion c { type coupon amount 30 }'
    alone = price(apart, [("A", "s", 1, "100.00")], coupons=frozenset({"c"}))
    assert ([a.promotion for a in alone.applied], alone.payable) == (["c"], Decimal("70.00"))
    assert (alone.not_applied[0].reason, alone.not_applied[0].detail) == ("excluded by c", "does not stack with `c`; the best combination pays 70.00")
    together = price(apart.replace("calc cut", "stacks all calc cut"), [("A", "s", 1, "100.00")], coupons=frozenset({"c"}))
    assert ([a.promotion for a in together.applied], together.payable) == (["cut", "c"], Decimal("60.00"))


@pytest.mark.parametrize(("base", "payable"), [("payable", "270.00"), ("after_item", "270.00"), ("list_price", "240.00")])
def test_the_threshold_base_decides_whether_a_threshold_is_met(base: str, payable: str) -> None:
    rules = f"""
    promotion cut {{ type item_cut stacks all calc cut amount 50 }}
    promotion m {{ type threshold_cut threshold 300 amount 30 threshold_base {base} }}
    """
    assert price(rules, [("A", "s", 1, "320.00")]).payable == Decimal(payable)


def test_the_best_price_may_leave_a_promotion_out_but_never_a_direct_cut() -> None:
    # A cut that is a choice would drop the cart below the threshold of a bigger cut: left out.
    chosen = """
    promotion cut { type item_cut stacks ["m"] calc cut amount 5 }
    promotion m { type threshold_cut threshold 300 amount 50 }
    """
    result = price(chosen, [("A", "s", 1, "302.00")])
    assert ([a.promotion for a in result.applied], result.payable) == (["m"], Decimal("252.00"))
    assert [(x.promotion, x.reason) for x in result.not_applied] == [("cut", "not in the best combination")]
    # A direct cut stacking with everything is part of the shelf price: always applied.
    always = chosen.replace('stacks ["m"]', "stacks all")
    result = price(always, [("A", "s", 1, "302.00")])
    assert ([a.promotion for a in result.applied], result.payable) == (["cut"], Decimal("297.00"))
    assert [(x.promotion, x.reason) for x in result.not_applied] == [("m", "threshold not met")]


def test_outside_its_window_a_promotion_does_not_apply() -> None:
    result = price('promotion x { type item_cut calc cut amount 1 starts 2026-12-01T00:00:00+08:00 }', [("A", "s", 1, "10.00")])
    assert [(x.reason, x.detail) for x in result.not_applied] == [("outside window", "runs 2026-12-01 00:00:00+08:00 to …")]


def test_goods_conditions_select_lines() -> None:
    result = price('promotion x { type item_cut calc discount percent 50% goods line.category == "phone" }',
                   [("A", "s", 1, "10.00", "phone"), ("B", "s", 1, "10.00", "case")])
    assert payables(result) == ["5.00", "10.00"]


def test_bad_carts_are_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match="the cart has no lines"):
        price("", [])
    with pytest.raises(InvalidInput, match="line A: quantity must be between 1 and 10000"):
        price("", [("A", "s", 0, "10.00")])
    with pytest.raises(InvalidInput, match="line A: the unit price must be a non-negative amount in cents"):
        price("", [("A", "s", 1, "10.001")])


class Status:
    def __init__(self, active: set[str], registered: dict[str, frozenset[str]]) -> None:
        self._active, self._registered = active, registered

    def active(self, promotion: str) -> bool:
        return promotion in self._active

    def registered(self, promotion: str) -> frozenset[str]:
        return self._registered.get(promotion, frozenset())


def test_only_live_promotions_and_registered_goods_count() -> None:
    result = check_sources({"catalog.rules": CATALOG, "p.rules": """
        promotion venue { type item_cut stacks all registration required calc cut amount 10 }
        promotion paused { type item_cut stacks all calc cut amount 5 }
    """})
    ruleset = compile_program(result)
    cart = Cart((CartLine("A", "A", "s", 1, Money.of("100.00")), CartLine("B", "B", "s", 1, Money.of("100.00"))))
    priced = trial(ruleset, cart, clock=CLOCK, status=Status({"venue"}, {"venue": frozenset({"B"})}))
    assert payables(priced) == ["100.00", "90.00"]
    assert [(x.promotion, x.reason) for x in priced.not_applied] == [("paused", "not active")]
    nothing = trial(ruleset, cart, clock=CLOCK, status=Status({"venue"}, {}))
    assert [(x.promotion, x.reason) for x in nothing.not_applied][0] == ("paused", "not active")
    assert ("venue", "not eligible goods") in [(x.promotion, x.reason) for x in nothing.not_applied]


def test_amounts_out_of_range_are_refused_not_crashed() -> None:
    with pytest.raises(InvalidInput, match="is out of range"):
        price("", [("A", "s", 1, "1000000000000000000000000000")])
