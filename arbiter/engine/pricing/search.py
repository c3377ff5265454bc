"""The exact best combination: branch and bound over the candidate promotions.

A combination is any set of candidates in which every pair may combine: not in the same
exclusion group, and one of them declares the other (or its group, or `all`) in `stacks`.
Item-stage promotions outside any group that stack with everything (direct cuts, 单品直降)
are not a choice: they are part of the shelf price and always apply when eligible.
Its members apply in a fixed order — stage (item, shop, platform, payment), then priority
descending, then name — each on the payable the earlier ones left; a member whose threshold
is no longer met simply does not apply. The best combination has the lowest payable; ties go
to more gift value, then fewer promotions, then the higher sum of priorities, then names
(deterministic).

The search walks the candidates in application order, deciding include/exclude, carrying the
cart's state down the tree so that each promotion is computed once per branch. A branch is
cut when even the most its remaining candidates could take off (bounds computed once on the
full-price cart, valid because discounts only shrink as payables fall; one per exclusion
group) cannot beat the best found. Including first finds a good combination early.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from arbiter.dsl.model import Promotion
from arbiter.engine.pricing.calc import Missed, State, Taken, compute

STAGE_ORDER = {"item": 0, "shop": 1, "platform": 2, "payment": 3}


@dataclass(frozen=True, slots=True)
class Candidate:
    promotion: Promotion
    lines: tuple[int, ...]  # the cart lines it covers
    budget: Decimal | None  # what is left of its budget
    bound: Decimal  # the most it could ever take off this cart


def application_order(p: Promotion) -> tuple[int, int, str]:
    return (STAGE_ORDER[p.stage], -p.priority, p.name)


def always_on(p: Promotion) -> bool:
    """Direct cuts that are part of the shelf price: applied whenever eligible, not chosen."""
    return p.stage == "item" and p.group is None and "all" in p.stacks


def may_combine(a: Promotion, b: Promotion) -> bool:
    if a.group is not None and a.group == b.group:
        return False
    return _stacks(a, b) or _stacks(b, a)


def _stacks(a: Promotion, b: Promotion) -> bool:
    return "all" in a.stacks or b.name in a.stacks or (b.group is not None and b.group in a.stacks)


@dataclass(frozen=True, slots=True)
class Best:
    chosen: tuple[tuple[int, Taken], ...]  # (candidate index, what it took), in application order
    state: State
    evaluated: int


def search(
    candidates: Sequence[Candidate],
    start: State,
    *,
    must_include: int | None = None,
    compute_fn: Callable[[Promotion, State, tuple[int, ...], Decimal | None], Taken | Missed] = compute,
) -> Best:
    """The best combination of `candidates` (already in application order) on `start`;
    `must_include` restricts the search to combinations containing that candidate."""
    n = len(candidates)
    compatible = [[may_combine(a.promotion, b.promotion) for b in candidates] for a in candidates]
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(candidates):
        if c.promotion.group is not None:
            groups.setdefault(c.promotion.group, []).append(i)
    # suffix bounds: ungrouped sum, and per group the largest bound from index k on
    free_suffix = [Decimal(0)] * (n + 1)
    for k in range(n - 1, -1, -1):
        c = candidates[k]
        free_suffix[k] = free_suffix[k + 1] + (c.bound if c.promotion.group is None else Decimal(0))
    group_suffix: dict[str, list[Decimal]] = {}
    for name in groups:
        best = [Decimal(0)] * (n + 1)
        for k in range(n - 1, -1, -1):
            c = candidates[k]
            best[k] = max(best[k + 1], c.bound if c.promotion.group == name else Decimal(0))
        group_suffix[name] = best

    best_key: tuple[Decimal, Decimal, int, int, tuple[str, ...]] | None = None
    best_result: Best | None = None
    evaluated = 0
    chosen: list[tuple[int, Taken]] = []
    used_groups: set[str] = set()

    def bound(k: int) -> Decimal:
        total = free_suffix[k]
        for name, suffix in group_suffix.items():
            if name not in used_groups:
                total += suffix[k]
        return total

    def record(state: State) -> None:
        nonlocal best_key, best_result
        if must_include is not None and all(i != must_include for i, _ in chosen):
            return
        promos = [candidates[i].promotion for i, _ in chosen]
        gifts = sum((p.gift_value or Decimal(0) for p in promos if p.type == "gift"), Decimal(0))
        key = (state.total, -gifts, len(chosen), -sum(p.priority for p in promos), tuple(sorted(p.name for p in promos)))
        if best_key is None or key < best_key:
            best_key = key
            best_result = Best(tuple(chosen), state, 0)

    def walk(k: int, state: State) -> None:
        nonlocal evaluated
        if best_key is not None and max(state.total - bound(k), Decimal(0)) > best_key[0]:
            return
        if k == n:
            evaluated += 1
            record(state)
            return
        c = candidates[k]
        fits = all(compatible[k][i] for i, _ in chosen)
        forced = fits and always_on(c.promotion)
        if fits:
            evaluated += 1
            outcome = compute_fn(c.promotion, state, c.lines, c.budget)
            if isinstance(outcome, Taken):
                entered = state.entering(c.promotion.stage)
                chosen.append((k, outcome))
                group = c.promotion.group
                if group is not None:
                    used_groups.add(group)
                walk(k + 1, entered.minus(outcome.shares))
                chosen.pop()
                if group is not None:
                    used_groups.discard(group)
                if forced:
                    return  # an always-on cut that applies is not left out
        if k != must_include:
            walk(k + 1, state)

    walk(0, start)
    if best_result is None:  # only when must_include could never apply
        return Best((), start, evaluated)
    return Best(best_result.chosen, best_result.state, evaluated)
