"""The price trial on realistic carts: 20 lines over 3 shops with 30 candidate promotions (all
stages, 4 exclusion groups, 5 held coupons), and 100 lines over 5 shops with 100 candidates.

Prints p50/p99 of the trial in-process and the number of combinations the search examined;
the optimum of the first cart is checked against an exhaustive search with no bound
(`optimal_checked`). Goals: p99 under 5 ms for the first cart and under 50 ms for the second.
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

try:
    import arbiter  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import compile_program
from arbiter.engine.pricing import Cart, CartLine, NoBudgets, trial
from arbiter.engine.pricing.calc import Taken, compute
from arbiter.engine.pricing.search import always_on, may_combine
from arbiter.engine.pricing.trial import candidates_for
from arbiter.money import Money

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
CATEGORIES = ["phone", "case", "charger", "dress", "coat", "shoes", "snack", "tea"]
CATALOG = """
tag user.id: string { default "" }
tag line.sku: string
tag line.shop: string
tag line.category: string { default "" }
"""


def scenario(rng: random.Random, lines: int, shops: int, item_cuts: int, coupons: int) -> tuple[str, Cart]:
    shop_ids = [f"shop{i}" for i in range(shops)]
    cart_lines = []
    for i in range(lines):
        cart_lines.append(CartLine(
            f"L{i}", f"SKU{i}", shop_ids[i % shops], rng.randint(1, 3),
            Money(Decimal(rng.randint(990, 49900)) / 100), {"category": rng.choice(CATEGORIES)},
        ))
    rules = [CATALOG]
    for j in range(item_cuts):  # 单品直降 on single SKUs, stacking with everything
        sku = f"SKU{rng.randrange(lines)}"
        rules.append(f'promotion cut{j} {{ type item_cut stacks all calc cut amount {rng.randint(2, 30)} goods line.sku == "{sku}" }}')
    rules.append(f'promotion bundle0 {{ type bundle stacks all items ["SKU0", "SKU1"] price {rng.randint(100, 400)} }}')
    for shop in shop_ids:  # each shop: four exclusive promotions
        group = f'group "{shop}"'
        rules += [
            f'promotion {shop}_m1 {{ type threshold_cut stage shop shop "{shop}" {group} tiers [{{threshold: 300, amount: 30}}, {{threshold: 600, amount: 70}}] }}',
            f'promotion {shop}_m2 {{ type threshold_cut stage shop shop "{shop}" {group} threshold 200 amount 25 funding merchant }}',
            f'promotion {shop}_e {{ type every_cut stage shop shop "{shop}" {group} every 100 amount 10 cap 60 }}',
            f'promotion {shop}_d {{ type threshold_discount stage shop shop "{shop}" {group} count 3 percent 95% }}',
        ]
    rules.append('promotion platform_every { type every_cut stage platform stacks all every 300 amount 20 cap 100 threshold_base after_item }')
    rules.append('promotion pay_card { type payment_cut stacks all threshold 500 amount 15 funding channel }')
    coupon_groups = ", ".join(f'"{shop}"' for shop in shop_ids)
    held = []
    for c in range(coupons):
        held.append(f"coupon{c}")
        rules.append(
            f'promotion coupon{c} {{ type coupon group "coupons" stacks [{coupon_groups}] threshold {rng.randint(100, 900)} amount {rng.randint(10, 80)} }}'
        )
    return "\n".join(rules), Cart(tuple(cart_lines), coupons=frozenset(held))


def exhaustive(candidates, state):  # type: ignore[no-untyped-def]
    """The best payable by trying every compatible combination (no bound), for checking."""
    best = [None]

    def walk(k, state, chosen):  # type: ignore[no-untyped-def]
        if k == len(candidates):
            if best[0] is None or state.total < best[0]:
                best[0] = state.total
            return
        c = candidates[k]
        if all(may_combine(c.promotion, candidates[i].promotion) for i in chosen):
            outcome = compute(c.promotion, state, c.lines, c.budget)
            if isinstance(outcome, Taken):
                walk(k + 1, state.entering(c.promotion.stage).minus(outcome.shares), chosen + [k])
                if always_on(c.promotion):
                    return  # direct cuts are part of the shelf price, never left out
        walk(k + 1, state, chosen)

    walk(0, state, [])
    return best[0]


def measure(name: str, rules: str, cart: Cart, runs: int) -> dict[str, float]:
    result = check_sources({f"{name}.rules": rules})
    if not result.ok:
        print([d.message for d in result.errors][:3])
        sys.exit(1)
    ruleset = compile_program(result)
    clock = FixedClock(NOW)
    times = []
    priced = None
    for _ in range(runs):
        t0 = time.perf_counter()
        priced = trial(ruleset, cart, clock=clock)
        times.append(time.perf_counter() - t0)
    assert priced is not None
    times.sort()
    state, candidates, _ = candidates_for(ruleset, cart, NOW, "CNY", NoBudgets())
    return {
        "p50_ms": times[len(times) // 2] * 1000,
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
        "combinations": priced.combinations,
        "candidates": len(candidates),
        "payable": float(priced.payable),
        "ruleset": ruleset,  # type: ignore[dict-item]
        "state": state,  # type: ignore[dict-item]
        "cands": candidates,  # type: ignore[dict-item]
        "best": priced.payable,  # type: ignore[dict-item]
    }


def main() -> None:
    rng = random.Random(20261125)
    small_rules, small_cart = scenario(rng, lines=20, shops=3, item_cuts=10, coupons=5)
    big_rules, big_cart = scenario(rng, lines=100, shops=5, item_cuts=67, coupons=10)
    small = measure("small", small_rules, small_cart, runs=200)
    big = measure("big", big_rules, big_cart, runs=30)
    checked = exhaustive(small["cands"], small["state"])
    optimal = checked is not None and checked.quantize(Decimal("0.01")) == small["best"]
    print("pricing: exact best combination, in-process")
    print(f"{'cart':10} {'candidates':>10} {'p50 ms':>8} {'p99 ms':>8} {'combinations':>13}")
    for label, figures in (("20x30", small), ("100x100", big)):
        print(f"{label:10} {figures['candidates']:>10} {figures['p50_ms']:8.2f} {figures['p99_ms']:8.2f} {figures['combinations']:>13,}")
    print(f"20x30 optimum checked against an exhaustive search: {'yes' if optimal else 'NO'}")
    print("goals: p99 < 5 ms (20x30), < 50 ms (100x100)")
    print(json.dumps({
        "bench": "pricing",
        "p99_ms_20x30": round(small["p99_ms"], 2),
        "p99_ms_100x100": round(big["p99_ms"], 2),
        "combinations_20x30": small["combinations"],
        "optimal_checked": optimal,
        "p50_ms_20x30": round(small["p50_ms"], 2),
        "p50_ms_100x100": round(big["p50_ms"], 2),
        "combinations_100x100": big["combinations"],
    }))
    if not optimal:
        sys.exit(1)


if __name__ == "__main__":
    main()
