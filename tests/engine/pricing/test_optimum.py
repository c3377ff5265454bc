"""The trial is exact: on random carts and promotion sets small enough to enumerate, it finds
the brute-force optimum; every allocation sums exactly and no line goes below zero."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from itertools import combinations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import compile_program
from arbiter.engine.pricing import Cart, CartLine, NoBudgets, trial
from arbiter.engine.pricing.calc import Taken, compute
from arbiter.engine.pricing.search import always_on, may_combine
from arbiter.engine.pricing.trial import candidates_for
from arbiter.money import Money

CATALOG = "tag user.id: string { default \"\" }\ntag line.sku: string\n"
NOW = datetime(2026, 11, 11, tzinfo=UTC)
GROUPS = [None, None, "G1", "G2"]
SKUS = ["A", "B", "C"]

amounts = st.integers(1, 200).map(str)
shares = st.sampled_from(["95%", "90%", "85%", "80%", "50%"])


@st.composite
def promotion(draw: st.DrawFn, name: str, names: list[str]) -> str:
    kind = draw(st.sampled_from([
        "item_cut", "threshold_cut", "every_cut", "threshold_discount", "coupon", "buy_x_get_y", "bundle", "payment_cut",
    ]))
    body = [f"type {kind}", f"priority {draw(st.integers(0, 3))}"]
    group = draw(st.sampled_from(GROUPS))
    if group:
        body.append(f'group "{group}"')
    stack_choice = draw(st.sampled_from(["none", "all", "all", "all", "G1", "other"]))
    if stack_choice == "all":
        body.append("stacks all")
    elif stack_choice == "G1":
        body.append('stacks ["G1"]')
    elif stack_choice == "other" and names:
        body.append(f'stacks ["{draw(st.sampled_from(names))}"]')
    if draw(st.booleans()):
        body.append(f'goods line.sku != "{draw(st.sampled_from(SKUS))}"')
    if kind == "item_cut":
        calc = draw(st.sampled_from(["cut", "discount", "fixed_price"]))
        body.append(f"calc {calc}")
        body.append({"cut": f"amount {draw(st.integers(1, 40))}", "discount": f"percent {draw(shares)}",
                     "fixed_price": f"price {draw(amounts)}"}[calc])
    elif kind == "threshold_cut":
        low = draw(st.integers(20, 250))
        body.append(f"tiers [{{threshold: {low}, amount: {draw(st.integers(1, 30))}}}, "
                    f"{{threshold: {low + draw(st.integers(10, 200))}, amount: {draw(st.integers(31, 80))}}}]")
        body.append(f"threshold_base {draw(st.sampled_from(['payable', 'after_item', 'list_price']))}")
    elif kind == "every_cut":
        body.append(f"every {draw(st.integers(30, 150))} amount {draw(st.integers(1, 25))}")
        if draw(st.booleans()):
            body.append(f"cap {draw(st.integers(10, 60))}")
    elif kind == "threshold_discount":
        if draw(st.booleans()):
            body.append(f"count {draw(st.integers(1, 4))} percent {draw(shares)}")
        else:
            body.append(f"threshold {draw(st.integers(20, 300))} percent {draw(shares)}")
        body.append(f"amount_base {draw(st.sampled_from(['payable', 'after_item']))}")
    elif kind in ("coupon", "payment_cut"):
        body.append(f"threshold {draw(st.integers(0, 300))}")
        body.append(f"amount {draw(st.integers(1, 60))}" if draw(st.booleans()) else f"percent {draw(shares)}")
    elif kind == "buy_x_get_y":
        body.append(f"buy {draw(st.integers(1, 3))} get 1")
    elif kind == "bundle":
        pair = draw(st.lists(st.sampled_from(SKUS), min_size=2, max_size=2, unique=True))
        body.append(f'items ["{pair[0]}", "{pair[1]}"] price {draw(amounts)}')
    if draw(st.integers(0, 4)) == 0:
        body.append(f"budget {draw(st.integers(1, 50))} budget_policy {draw(st.sampled_from(['strict', 'partial']))}")
    return f"promotion {name} {{ {' '.join(body)} }}"


@st.composite
def scenario(draw: st.DrawFn) -> tuple[str, tuple[CartLine, ...]]:
    count = draw(st.integers(1, 5))
    names = [f"p{i}" for i in range(count)]
    rules = "\n".join(draw(promotion(name, names[:i])) for i, name in enumerate(names))
    lines = tuple(
        CartLine(f"L{i}", draw(st.sampled_from(SKUS)), draw(st.sampled_from(["s1", "s2"])), draw(st.integers(1, 3)),
                 Money(Decimal(draw(st.integers(100, 15000))) / 100))
        for i in range(draw(st.integers(1, 3)))
    )
    return rules, lines


def brute_force(candidates, state):  # type: ignore[no-untyped-def]
    """Every compatible subset, applied in order; subsets with a member that does not apply
    are the same as a smaller subset, which is enumerated too, and subsets that leave out an
    always-on direct cut that would apply are not combinations at all."""
    best = None
    for size in range(len(candidates) + 1):
        for subset in combinations(range(len(candidates)), size):
            if any(not may_combine(candidates[a].promotion, candidates[b].promotion) for a, b in combinations(subset, 2)):
                continue
            current = state
            ok = True
            for k, c in enumerate(candidates):
                if k not in subset and not always_on(c.promotion):
                    continue
                outcome = compute(c.promotion, current, c.lines, c.budget)
                if k not in subset:
                    if isinstance(outcome, Taken):
                        ok = False  # an always-on cut left out though it applies
                        break
                    continue
                if not isinstance(outcome, Taken):
                    ok = False
                    break
                current = current.entering(c.promotion.stage).minus(outcome.shares)
            if not ok:
                continue
            promos = [candidates[k].promotion for k in subset]
            key = (current.total, len(subset), -sum(p.priority for p in promos), tuple(sorted(p.name for p in promos)))
            if best is None or key < best:
                best = key
    return best


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=scenario())
def test_the_trial_finds_the_brute_force_optimum(case: tuple[str, tuple[CartLine, ...]]) -> None:
    rules, lines = case
    result = check_sources({"catalog.rules": CATALOG, "p.rules": rules})
    assert result.ok, (rules, [d.message for d in result.diagnostics])
    ruleset = compile_program(result)
    cart = Cart(lines, coupons=frozenset(ruleset.promotions))  # every coupon held
    priced = trial(ruleset, cart, clock=FixedClock(NOW))
    state, candidates, _ = candidates_for(ruleset, cart, NOW, "CNY", NoBudgets())
    expected = brute_force(candidates, state)
    assert expected is not None
    event(f"{len(candidates)} candidates, {len(priced.applied)} applied")
    assert priced.payable == expected[0].quantize(Decimal("0.01")), rules
    assert sorted(a.promotion for a in priced.applied) == sorted(expected[3]), rules

    # Invariants of the result.
    for applied in priced.applied:
        allocated = [a for line in priced.lines for a in line.allocations if a.promotion == applied.promotion]
        assert sum((a.amount for a in allocated), Decimal(0)) == applied.discount
        for a in allocated:
            assert sum(a.units, Decimal(0)) == a.amount
            assert sum((amount for _, amount in a.funding), Decimal(0)) == a.amount
    for line in priced.lines:
        assert line.payable >= 0
        assert all(u >= 0 for u in line.unit_payables)
        assert sum(line.unit_payables, Decimal(0)) == line.payable
        assert line.payable == line.list_total - sum((a.amount for a in line.allocations), Decimal(0))
