"""Benchmark: compiled rule expressions against hand-written Python, and compiling 1,000 rules.

Each predicate is written twice: once in the rule language, compiled by arbiter, and once as a
plain Python lambda over the very same prepared context dicts. Both run over 10,000 generated
contexts; the figure that matters is the ratio of their times (arbiter / lambda), measured in
the same run, because absolute times on shared machines drift. Optional peers (rule-engine,
zen-engine) are timed on the predicates they can express, in the context form they accept
(rule-engine, being slow, on the first 2,000 contexts only).

Run from the repository root: `python benchmarks/dsl_eval.py`. The last line is one JSON object.
"""

from __future__ import annotations

import gc
import json
import math
import random
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

try:
    import arbiter  # noqa: F401
except ModuleNotFoundError:  # not installed: run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import compile_program
from arbiter.dsl.diagnostics import render_all

SEED = 20240601
CONTEXTS = 10_000
REPEATS = 11  # best of: the minimum is the run least disturbed by the rest of the machine
PEER_REPEATS = 3  # peers are much slower; fewer repeats keep the script short
PEER_CONTEXTS = {"rule-engine": 2_000}  # a slow peer runs on the first contexts only
COMPILE_RULES = 1_000
COMPILE_REPEATS = 3
GOAL_RATIO = 1.5
GOAL_COMPILE_S = 1.0

CATALOG = """
tag user.age: int { display "年龄" default 0 }
tag user.region: enum("east", "west", "north")
tag user.tags: set { default [] }
tag user.registered_days: int
tag user.vip_level: int { default 0 }
tag user.coupon_count: int { default 0 }
tag order.amount: money
tag order.item_count: int
tag order.lines: list(sku: string, category: string, quantity: int, price: money)
tag goods.category: string
"""

CATEGORIES = ("phone", "laptop", "tablet", "case", "charger")
USER_TAGS = ("new_user", "vip", "blacklist", "student", "plus")


@dataclass(frozen=True)
class Predicate:
    name: str
    rule: str  # the rule language
    baseline: Callable[[Mapping[str, Any]], Any]  # the same test written by hand in Python
    rule_engine: str | None = None  # rule-engine syntax, None when it cannot express it
    zen: str | None = None  # zen-engine expression syntax


MIX_RULE = (
    'user.age >= 18 and user.age < 60 and (user.region == "east" or user.region == "north")'
    ' and order.amount * 2 - 100 >= 200 and goods.category in ["phone", "laptop", "tablet"]'
    ' and "blacklist" not in user.tags and user.registered_days + 30 > 60'
    " or order.amount >= 5000 and user.vip_level >= 3"
    " or user.coupon_count >= 2 and order.item_count between 2 and 10"
)

PREDICATES = (
    Predicate(
        "age_region",
        'user.age >= 18 and user.region == "east"',
        lambda c: c["user"]["age"] >= 18 and c["user"]["region"] == "east",
        rule_engine='user.age >= 18 and user.region == "east"',
        zen='user.age >= 18 and user.region == "east"',
    ),
    Predicate(
        "amount_category",
        'order.amount >= 300 and goods.category in ["phone", "laptop"]',
        lambda c: c["order"]["amount"] >= 300 and c["goods"]["category"] in {"phone", "laptop"},
        rule_engine='order.amount >= 300 and goods.category in ["phone", "laptop"]',
        zen='order.amount >= 300 and goods.category in ["phone", "laptop"]',
    ),
    Predicate(
        "new_user",
        '"new_user" in user.tags or user.registered_days <= 7',
        lambda c: "new_user" in c["user"]["tags"] or c["user"]["registered_days"] <= 7,
        rule_engine='"new_user" in user.tags or user.registered_days <= 7',
        zen='"new_user" in user.tags or user.registered_days <= 7',
    ),
    Predicate(
        "mix_12_clauses",
        MIX_RULE,
        lambda c: (
            c["user"]["age"] >= 18
            and c["user"]["age"] < 60
            and (c["user"]["region"] == "east" or c["user"]["region"] == "north")
            and c["order"]["amount"] * 2 - 100 >= 200
            and c["goods"]["category"] in {"phone", "laptop", "tablet"}
            and "blacklist" not in c["user"]["tags"]
            and c["user"]["registered_days"] + 30 > 60
            or c["order"]["amount"] >= 5000
            and c["user"]["vip_level"] >= 3
            or c["user"]["coupon_count"] >= 2
            and 2 <= c["order"]["item_count"] <= 10
        ),
        rule_engine=(
            'user.age >= 18 and user.age < 60 and (user.region == "east" or user.region == "north")'
            ' and order.amount * 2 - 100 >= 200 and goods.category in ["phone", "laptop", "tablet"]'
            ' and "blacklist" not in user.tags and user.registered_days + 30 > 60'
            " or order.amount >= 5000 and user.vip_level >= 3"
            " or user.coupon_count >= 2 and 2 <= order.item_count and order.item_count <= 10"
        ),
        zen=(
            'user.age >= 18 and user.age < 60 and (user.region == "east" or user.region == "north")'
            ' and order.amount * 2 - 100 >= 200 and goods.category in ["phone", "laptop", "tablet"]'
            ' and not ("blacklist" in user.tags) and user.registered_days + 30 > 60'
            " or order.amount >= 5000 and user.vip_level >= 3"
            " or user.coupon_count >= 2 and order.item_count in [2..10]"
        ),
    ),
    Predicate(
        "any_line",
        'any(line in order.lines where line.category == "phone" and line.quantity >= 2)',
        lambda c: any(
            line["category"] == "phone" and line["quantity"] >= 2 for line in c["order"]["lines"]
        ),
        rule_engine=(
            'not [line for line in order.lines if line.category == "phone"'
            " and line.quantity >= 2].is_empty"
        ),
        zen='some(order.lines, #.category == "phone" and #.quantity >= 2)',
    ),
)


# ------------------------------------------------------------------------ contexts


def raw_context(rng: random.Random) -> dict[str, Any]:
    """One caller-supplied context, with amounts as strings the way JSON carries them."""
    lines = [
        {
            "sku": f"SKU{rng.randrange(1000):04d}",
            "category": rng.choice(CATEGORIES),
            "quantity": rng.randint(1, 4),
            "price": f"{rng.randint(100, 300_000) / 100:.2f}",
        }
        for _ in range(rng.randint(0, 5))
    ]
    # Skewed so that every clause of the mix is sometimes the one that decides.
    cents = rng.randint(1_000, 80_000) if rng.random() < 0.8 else rng.randint(400_000, 900_000)
    days = rng.randint(0, 14) if rng.random() < 0.3 else rng.randint(15, 2_000)
    return {
        "user": {
            "age": rng.randint(12, 75),
            "region": rng.choice(("east", "west", "north")),
            "tags": [t for t in USER_TAGS if rng.random() < 0.2],
            "registered_days": days,
            "vip_level": rng.randint(0, 5),
            "coupon_count": rng.randint(0, 4),
        },
        "order": {
            "amount": f"{cents / 100:.2f}",
            "item_count": sum(line["quantity"] for line in lines),
            "lines": lines,
        },
        "goods": {"category": rng.choice(CATEGORIES)},
    }


def for_rule_engine(ctx: Mapping[str, Any]) -> dict[str, Any]:
    """rule-engine maps set, not frozenset; everything else it takes as prepared."""
    return {
        ns: {k: set(v) if isinstance(v, frozenset) else v for k, v in values.items()}
        for ns, values in ctx.items()
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # zen takes no Decimal; amounts have two places, comparisons hold
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def for_zen(ctx: Mapping[str, Any]) -> dict[str, Any]:
    return {ns: _plain(values) for ns, values in ctx.items()}


# ------------------------------------------------------------------------ timing


def best_time(fn: Callable[[Any], Any], contexts: list[Any], repeats: int) -> float:
    return min(time_once(fn, contexts) for _ in range(repeats))


def time_once(fn: Callable[[Any], Any], contexts: list[Any]) -> float:
    # deque(map(...), maxlen=0) is the cheapest Python loop, so the ratio is of the calls, not
    # of loop bookkeeping; garbage collection is off while timing, as timeit does.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        deque(map(fn, contexts), maxlen=0)
        return time.perf_counter() - start
    finally:
        if gc_was_on:
            gc.enable()


def interleaved_best(
    a: Callable[[Any], Any], b: Callable[[Any], Any], contexts: list[Any], repeats: int
) -> tuple[float, float]:
    """Best-of times of two functions, alternating runs so machine drift hits both alike."""
    best_a = best_b = math.inf
    for _ in range(repeats):
        best_a = min(best_a, time_once(a, contexts))
        best_b = min(best_b, time_once(b, contexts))
    return best_a, best_b


def disagreements(fn: Callable[[Any], Any], contexts: Iterable[Any], expected: list[bool]) -> int:
    return sum(1 for ctx, want in zip(contexts, expected, strict=True) if bool(fn(ctx)) != want)


# ------------------------------------------------------------------------ peers


def load_peers() -> dict[str, Any]:
    peers: dict[str, Any] = {}
    try:
        import rule_engine

        peers["rule-engine"] = rule_engine
    except ImportError:
        pass
    try:
        import zen

        peers["zen-engine"] = zen
    except ImportError:
        pass
    return peers


def peer_function(peer: str, module: Any, pred: Predicate) -> Callable[[Any], Any] | None:
    if peer == "rule-engine" and pred.rule_engine is not None:
        return module.Rule(pred.rule_engine).evaluate  # type: ignore[no-any-return]
    if peer == "zen-engine" and pred.zen is not None:
        return module.compile_expression(pred.zen).evaluate  # type: ignore[no-any-return]
    return None


# ------------------------------------------------------------------------ compiling 1,000 rules


def rule_file(count: int, rng: random.Random) -> str:
    """A catalog, an effect, a scene and one strategy of `count` rules with varied conditions."""

    def cat() -> str:
        return f'"{rng.choice(CATEGORIES)}"'

    def tag() -> str:
        return f'"{rng.choice(USER_TAGS)}"'

    def num(lo: int, hi: int) -> int:
        return rng.randint(lo, hi)

    region = ("east", "west", "north")
    templates: tuple[Callable[[], str], ...] = (
        lambda: f'user.age >= {num(16, 40)} and user.region == "{rng.choice(region)}"',
        lambda: f"order.amount >= {num(50, 2000)} and goods.category in [{cat()}, {cat()}]",
        lambda: f"{tag()} in user.tags or user.registered_days <= {num(1, 30)}",
        lambda: f"any(l in order.lines where l.category == {cat()} and l.quantity >= {num(1, 3)})",
        lambda: (
            f"sum(l.price * l.quantity for l in order.lines where l.category == {cat()})"
            f" >= {num(100, 3000)}"
        ),
        lambda: (
            f"order.item_count between {num(1, 3)} and {num(4, 12)}"
            f" and user.vip_level >= {num(0, 4)}"
        ),
        lambda: f"count(l in order.lines where l.price >= {num(10, 900)}) >= {num(1, 3)}",
        lambda: (
            f"(order.amount - {num(0, 100)}) * 2 > {num(100, 4000)}"
            f" or user.coupon_count >= {num(1, 4)}"
        ),
        lambda: f"new_user and order.amount >= {num(10, 500)}",
        lambda: f"not big_order and {tag()} not in user.tags and user.age < {num(30, 70)}",
    )
    out = [
        CATALOG,
        'condition new_user = "new_user" in user.tags or user.registered_days <= 7',
        'condition big_order = order.amount >= 1000 and goods.category in ["phone", "laptop"]',
        "effect show(content: string, slot: string)",
        'scene home_popup { display "首页弹窗" strategy popups }',
        "strategy popups {\n  scene home_popup\n  hit all",
    ]
    for i in range(count):
        when = templates[i % len(templates)]()
        out.append(
            f"  rule r{i:04d} {{ priority {rng.randint(0, 100)} when {when}"
            f' then show(content: "offer {i}", slot: "slot{i % 5}") }}'
        )
    out.append("}")
    return "\n".join(out) + "\n"


def time_compile(text: str, repeats: int) -> tuple[float, float, float, int]:
    """Best end-to-end time, with the check (parse included) and compile split of that run."""
    best = (math.inf, 0.0, 0.0)
    rules = 0
    for _ in range(repeats):
        start = time.perf_counter()
        result = check_sources({"bench_1000.rules": text})
        checked = time.perf_counter()
        if not result.ok:
            fail(
                "the generated rules do not check:\n"
                + render_all(result.errors, {"bench_1000.rules": text})
            )
        ruleset = compile_program(result)
        done = time.perf_counter()
        if done - start < best[0]:
            best = (done - start, checked - start, done - checked)
        rules = len(ruleset.rules)
    return (*best, rules)


# ------------------------------------------------------------------------ main


def fail(message: str) -> None:
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    result = check_sources({"bench_catalog.rules": CATALOG})
    if not result.ok:
        fail(
            "the catalog does not check:\n"
            + render_all(result.diagnostics, {"bench_catalog.rules": CATALOG})
        )
    ruleset = compile_program(result)
    compiled = {p.name: ruleset.compile_expression(p.rule, file=f"<{p.name}>") for p in PREDICATES}

    rng = random.Random(SEED)
    contexts = [ruleset.prepare(raw_context(rng)) for _ in range(CONTEXTS)]

    # Agreement before any timing: a fast wrong answer is worth nothing.
    expected: dict[str, list[bool]] = {}
    for p in PREDICATES:
        want = [bool(p.baseline(c)) for c in contexts]
        got = [bool(compiled[p.name].fn(c)) for c in contexts]
        wrong = sum(1 for a, b in zip(want, got, strict=True) if a != b)
        if wrong:
            fail(f"{p.name}: arbiter and the lambda disagree on {wrong} of {CONTEXTS} contexts")
        expected[p.name] = want

    print(
        f"dsl_eval: {CONTEXTS} contexts (seed {SEED}), best of {REPEATS} runs, Python {sys.version.split()[0]}"
    )
    print()
    header = f"{'predicate':<16} {'true %':>6} {'arbiter eval/s':>15} {'lambda eval/s':>14} {'arbiter/lambda':>15}"
    print(header)
    print("-" * len(header))
    ratios: dict[str, float] = {}
    lambda_eps: dict[str, float] = {}
    for p in PREDICATES:
        t_arbiter, t_lambda = interleaved_best(compiled[p.name].fn, p.baseline, contexts, REPEATS)
        ratios[p.name] = t_arbiter / t_lambda
        lambda_eps[p.name] = CONTEXTS / t_lambda
        share = 100 * sum(expected[p.name]) / CONTEXTS
        mark = "" if ratios[p.name] <= GOAL_RATIO else "  > goal"
        print(
            f"{p.name:<16} {share:>6.1f} {CONTEXTS / t_arbiter:>15,.0f} {CONTEXTS / t_lambda:>14,.0f}"
            f" {ratios[p.name]:>14.2f}x{mark}"
        )
    ratio_max = max(ratios.values())
    ratio_geomean = math.exp(sum(math.log(r) for r in ratios.values()) / len(ratios))
    print("-" * len(header))
    print(f"{'max':<16} {'':>6} {'':>15} {'':>14} {ratio_max:>14.2f}x")
    print(f"{'geomean':<16} {'':>6} {'':>15} {'':>14} {ratio_geomean:>14.2f}x")
    print(
        f"goal: arbiter within {GOAL_RATIO}x of the lambda on every predicate:"
        f" {'met' if ratio_max <= GOAL_RATIO else 'MISSED'}"
    )
    for name, ratio in ratios.items():
        if ratio > GOAL_RATIO:
            print(f"\ngenerated Python for {name}:\n{compiled[name].source}")

    # Peers, each in the context form it accepts, converted outside the timed loop.
    peers = load_peers()
    peer_ratios: dict[str, dict[str, float]] = {}
    print()
    for missing in sorted({"rule-engine", "zen-engine"} - peers.keys()):
        print(f"peer {missing}: not installed, skipped (pip install {missing})")
    if peers:
        convert = {"rule-engine": for_rule_engine, "zen-engine": for_zen}
        header = (
            f"{'peer':<12} {'predicate':<16} {'contexts':>8} {'eval/s':>12} {'peer/lambda':>12}"
        )
        print(f"peers: best of {PEER_REPEATS} runs; ratios against the lambda's rate above")
        print(header)
        print("-" * len(header))
        for peer, module in peers.items():
            size = PEER_CONTEXTS.get(peer, CONTEXTS)
            peer_contexts = [convert[peer](c) for c in contexts[:size]]
            for p in PREDICATES:
                try:
                    fn = peer_function(peer, module, p)
                except Exception as exc:  # a peer's own parse error: report, keep going
                    print(
                        f"{peer:<12} {p.name:<16} {size:>8} {'error':>12}  {type(exc).__name__}: {exc}"
                    )
                    continue
                if fn is None:
                    print(f"{peer:<12} {p.name:<16} {size:>8} {'n/a':>12}")
                    continue
                wrong = disagreements(fn, peer_contexts, expected[p.name][:size])
                if wrong:
                    print(
                        f"{peer:<12} {p.name:<16} {size:>8} {'wrong':>12}  disagrees on {wrong}; not timed"
                    )
                    continue
                elapsed = best_time(fn, peer_contexts, PEER_REPEATS)
                rate = size / elapsed
                ratio = lambda_eps[p.name] / rate
                peer_ratios.setdefault(peer, {})[p.name] = round(ratio, 2)
                print(f"{peer:<12} {p.name:<16} {size:>8} {rate:>12,.0f} {ratio:>11.1f}x")

    # Compiling a 1,000-rule file end to end: parse, check, compile.
    text = rule_file(COMPILE_RULES, random.Random(SEED))
    compile_s, check_s, build_s, rules = time_compile(text, COMPILE_REPEATS)
    if rules != COMPILE_RULES:
        fail(f"compiled {rules} rules, expected {COMPILE_RULES}")
    print()
    print(
        f"compile {rules} rules ({len(text.splitlines())} lines, {len(text) / 1024:.0f} KiB):"
        f" {compile_s:.3f} s best of {COMPILE_REPEATS}"
        f" (goal < {GOAL_COMPILE_S:.0f} s: {'met' if compile_s < GOAL_COMPILE_S else 'MISSED'})"
    )
    print(f"  check_sources (parse included) {check_s:.3f} s, compile_program {build_s:.3f} s")

    figures: dict[str, Any] = {
        "bench": "dsl_eval",
        "ratio_vs_lambda_max": round(ratio_max, 3),
        "ratio_vs_lambda_geomean": round(ratio_geomean, 3),
        "compile_1000_rules_s": round(compile_s, 3),
        "check_1000_rules_s": round(check_s, 3),
        "build_1000_rules_s": round(build_s, 3),
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
        "lambda_eval_per_s": {k: round(v) for k, v in lambda_eps.items()},
        "peer_ratios_vs_lambda": peer_ratios,
    }
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
