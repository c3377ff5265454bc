"""The price trial (试算): one function for the product page (到手价), the cart and checkout.

It finds which promotions may apply to this cart (window — for a presale its deposit or
balance phase, `presale.py` —, conditions, coupons held or claimable, per-user limits and
budgets — read only, a trial consumes nothing), searches for
the exact best combination (`search.py`), then explains the result: every line's payable and
the share of each discount it carries (split further over its units and its funders), the
savings, gifts, the presale split, why every other promotion was not applied, and hints such
as "add 23.00 more for 满300减40".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from arbiter.clock import Clock
from arbiter.dsl.compiler import CompiledPromotion, Ruleset
from arbiter.dsl.model import Promotion
from arbiter.dsl.runtime import EvaluationError
from arbiter.engine.pricing import presale
from arbiter.engine.pricing.allocation import allocate, split_units
from arbiter.engine.pricing.calc import Missed, State, Taken, compute, reached_tier
from arbiter.engine.pricing.model import (
    Allocation,
    Applied,
    BudgetView,
    Cart,
    Gift,
    Hint,
    NoBudgets,
    NotApplied,
    PresaleSplit,
    PricedLine,
    PromotionStatus,
    TrialResult,
)
from arbiter.engine.pricing.search import Candidate, application_order, may_combine, search
from arbiter.errors import InvalidInput
from arbiter.money import CENT, to_decimal

MAX_QUANTITY = 10_000  # units of one line; beyond it a cart is not a purchase


def trial(
    ruleset: Ruleset,
    cart: Cart,
    *,
    clock: Clock,
    budgets: BudgetView | None = None,
    promotions: Iterable[str] | None = None,
    status: PromotionStatus | None = None,
    explain: bool = False,
) -> TrialResult:
    """Price `cart` with the best combination of the ruleset's promotions (or of the named
    ones). `status` says which promotions are live (all, without it) and which goods were
    registered into those that require it. With `explain`, a promotion excluded by a chosen
    one also says what the best combination containing it would pay (one more search each)."""
    if not cart.lines:
        raise InvalidInput("the cart has no lines")
    budgets = budgets or NoBudgets()
    currency = _currency(cart)
    now = cart.now or clock.now()
    state, candidates, not_applied = candidates_for(ruleset, cart, now, currency, budgets, promotions, status)
    best = search(candidates, state)
    chosen = {i: taken for i, taken in best.chosen}
    priced = _lines(cart, candidates, best.chosen, best.state)
    applied = [
        Applied(candidates[i].promotion.name, candidates[i].promotion.display, candidates[i].promotion.stage,
                taken.discount, candidates[i].promotion.threshold_base, candidates[i].promotion.amount_base, taken.note)
        for i, taken in best.chosen
    ]
    hints: list[Hint] = []
    evaluated = best.evaluated
    replay = _replay(candidates, best.chosen, state)
    for k, c in enumerate(candidates):
        p = c.promotion
        at = replay[k]
        if k in chosen:
            hints.extend(_next_tier_hint(p, at, c.lines, currency))
            continue
        blockers = [candidates[i].promotion for i in chosen if not may_combine(p, candidates[i].promotion)]
        if blockers:
            blocker = blockers[0]
            why = f"in group \"{p.group}\" with `{blocker.name}`" if p.group and p.group == blocker.group else f"does not stack with `{blocker.name}`"
            detail = f"{why}; the best combination pays {_q(best.state.total)}"
            if explain:
                alone = search(candidates, state, must_include=k)
                evaluated += alone.evaluated
                if alone.chosen:
                    detail += f", the best with `{p.name}` pays {_q(alone.state.total)}"
            not_applied.append(NotApplied(p.name, p.display, f"excluded by {blocker.name}", detail))
            continue
        outcome = compute(p, at, c.lines, c.budget)
        if isinstance(outcome, Missed):
            not_applied.append(NotApplied(p.name, p.display, outcome.reason, outcome.detail))
            if outcome.reason == "threshold not met" and outcome.gap is not None and p.type != "bundle":
                hints.append(_hint(p, outcome.gap, currency))
        else:
            # Compatible and applicable, yet left out: the best combination is better without it.
            not_applied.append(NotApplied(p.name, p.display, "not in the best combination",
                                          f"with it the cart would pay more than {_q(best.state.total)}"))
    list_total = sum(state.list_totals, Decimal(0))
    return TrialResult(
        currency=currency,
        list_total=_q(list_total),
        payable=_q(best.state.total),
        savings=_q(list_total - best.state.total),
        lines=tuple(priced),
        applied=tuple(applied),
        not_applied=tuple(sorted(not_applied, key=lambda x: x.promotion)),
        hints=tuple(hints),
        gifts=tuple(_gifts(candidates, best.chosen)),
        presale=tuple(_presale(candidates, best.chosen, priced, cart, now)),
        combinations=evaluated,
    )


def candidates_for(
    ruleset: Ruleset,
    cart: Cart,
    now: datetime,
    currency: str,
    budgets: BudgetView,
    promotions: Iterable[str] | None = None,
    status: PromotionStatus | None = None,
) -> tuple[State, list[Candidate], list[NotApplied]]:
    """The cart's starting state, the promotions that may apply (in application order) and
    why the others may not."""
    state = State(
        tuple(line.sku for line in cart.lines),
        tuple(line.unit_price.amount * line.quantity for line in cart.lines),
        tuple(line.quantity for line in cart.lines),
        tuple(line.unit_price.amount * line.quantity for line in cart.lines),
        None,
    )
    names = sorted(ruleset.promotions) if promotions is None else list(promotions)
    unknown = [name for name in names if name not in ruleset.promotions]
    if unknown:
        raise InvalidInput(f"unknown promotion(s): {', '.join(unknown)}")
    base_ctx = ruleset.prepare(cart.context, now=now)
    line_ctxs = [_line_context(ruleset, cart, i, now) for i in range(len(cart.lines))]
    candidates: list[Candidate] = []
    not_applied: list[NotApplied] = []
    for name in names:
        compiled = ruleset.promotions[name]
        p = compiled.promotion
        if status is not None and not status.active(p.name):
            not_applied.append(NotApplied(p.name, p.display, "not active", "not approved, paused or ended"))
            continue
        problem, lines = _eligibility(compiled, cart, base_ctx, line_ctxs, now, currency, budgets)
        if problem is None and p.registration:
            approved = status.registered(p.name) if status is not None else frozenset()
            lines = tuple(i for i in lines if cart.lines[i].sku in approved)
            if not lines:
                problem = ("not eligible goods", "no line's SKU is registered into it")
        if problem is not None:
            not_applied.append(NotApplied(p.name, p.display, problem[0], problem[1]))
            continue
        budget = _budget_left(p, budgets)
        candidates.append(Candidate(p, lines, budget, _bound(p, state, lines, budget)))
    candidates.sort(key=lambda c: application_order(c.promotion))
    return state, candidates, not_applied


def _q(amount: Decimal) -> Decimal:
    return amount.quantize(CENT)


def _currency(cart: Cart) -> str:
    currencies = {line.unit_price.currency for line in cart.lines}
    if len(currencies) != 1:
        raise InvalidInput(f"a cart is priced in one currency, not {', '.join(sorted(currencies))}")
    for line in cart.lines:
        if line.quantity < 1 or line.quantity > MAX_QUANTITY:
            raise InvalidInput(f"line {line.id}: quantity must be between 1 and {MAX_QUANTITY}")
        to_decimal(line.unit_price.amount, what=f"line {line.id}: the unit price")
        if line.unit_price.amount < 0 or line.unit_price.amount != line.unit_price.amount.quantize(CENT):
            raise InvalidInput(f"line {line.id}: the unit price must be a non-negative amount in cents")
    return currencies.pop()


def _line_context(ruleset: Ruleset, cart: Cart, index: int, now: datetime) -> dict[str, Any]:
    line = cart.lines[index]
    fields = {"id": line.id, "sku": line.sku, "shop": line.shop, "quantity": line.quantity,
              "price": line.unit_price.amount, **line.tags}
    raw = {**cart.context, "line": fields, "goods": {**cart.context.get("goods", {}), **fields}}
    return ruleset.prepare(raw, now=now)


def _eligibility(
    compiled: CompiledPromotion,
    cart: Cart,
    base_ctx: Mapping[str, Any],
    line_ctxs: list[dict[str, Any]],
    now: datetime,
    currency: str,
    budgets: BudgetView,
) -> tuple[tuple[str, str] | None, tuple[int, ...]]:
    p = compiled.promotion
    start, end = p.window
    if p.type == "presale":
        phase, why = presale.phase(p, cart, now)
        if phase is None:
            return ("outside window", why), ()
    elif (start is not None and now < start) or (end is not None and now >= end):
        return ("outside window", f"runs {start or '…'} to {end or '…'}"), ()
    if p.currency != currency:
        return ("not eligible", f"priced in {p.currency}, the cart in {currency}"), ()
    if p.type == "coupon" and p.template not in cart.coupons:
        return ("coupon not held", f"the user neither holds nor may claim `{p.template}`"), ()
    try:
        if compiled.when is not None and not compiled.when.fn(base_ctx):
            return ("not eligible", "its conditions (`when`) do not hold for this user and order"), ()
        lines = tuple(
            i for i, line in enumerate(cart.lines)
            if (p.shop is None or line.shop == p.shop)
            and (p.type != "bundle" or line.sku in p.items)
            and (compiled.goods is None or compiled.goods.fn(line_ctxs[i]))
        )
    except EvaluationError as exc:
        return ("not eligible", f"cannot evaluate its conditions: {exc.message}"), ()
    if not lines:
        return ("not eligible goods", "no line of the cart is covered"), ()
    if p.type == "presale":
        lines = presale.covered(p, cart, now, lines)
        if not lines:
            return ("not eligible goods", "no covered line has its deposit paid"), ()
    uses = budgets.uses_left(p.name, cart.user)
    if uses is not None and uses <= 0:
        return ("per-user limit", f"the user has had it {p.per_user or 'the allowed number of'} time(s)"), ()
    left = budgets.remaining(p.name)
    if left is not None and left <= 0:
        return ("budget exhausted", "nothing is left of its budget" if p.type != "gift" else "the gift is out of stock"), ()
    return None, lines


def _budget_left(p: Promotion, budgets: BudgetView) -> Decimal | None:
    if p.type == "gift":
        return None  # a gift's stock is counted in units, checked above
    left = budgets.remaining(p.name)
    if p.budget is not None:
        left = p.budget if left is None else min(left, p.budget)
    return left


def _bound(p: Promotion, state: State, lines: tuple[int, ...], budget: Decimal | None) -> Decimal:
    """The most `p` could take off this cart in any combination: discounts only shrink as
    payables fall, so a bound on the full-price cart holds everywhere."""
    covered = sum((state.payables[i] for i in lines), Decimal(0))
    if p.type in ("threshold_cut", "threshold_discount"):
        best = Decimal(0)
        for tier in p.tiers:
            paid = tier.percent if tier.percent is not None else Decimal(1)
            best = max(best, tier.amount if tier.amount is not None else covered * (1 - paid))
        value = best
    elif p.type == "every_cut":
        base = sum((state.list_totals[i] for i in lines), Decimal(0))
        every = p.every or Decimal(1)
        value = (base // every) * (p.amount or Decimal(0))
        if p.cap is not None:
            value = min(value, p.cap)
    elif p.type in ("coupon", "payment_cut"):
        value = p.amount if p.amount is not None else covered * (1 - (p.percent if p.percent is not None else Decimal(1)))
    elif p.type == "gift":
        value = Decimal(0)
    else:
        outcome = compute(p, state, lines, None)
        value = outcome.discount if isinstance(outcome, Taken) else Decimal(0)
    value = min(value, covered)
    if budget is not None:
        value = min(value, budget)
    return value + CENT  # room for rounding half up


def _replay(candidates: list[Candidate], chosen: tuple[tuple[int, Taken], ...], start: State) -> list[State]:
    """The state each candidate would meet at its turn in the chosen combination."""
    taken = dict(chosen)
    states: list[State] = []
    state = start
    for k, c in enumerate(candidates):
        state = state.entering(c.promotion.stage)
        states.append(state)
        if k in taken:
            state = state.minus(taken[k].shares)
    return states


def _lines(cart: Cart, candidates: list[Candidate], chosen: tuple[tuple[int, Taken], ...], final: State) -> list[PricedLine]:
    out: list[PricedLine] = []
    for i, line in enumerate(cart.lines):
        allocations: list[Allocation] = []
        # Units are split like lines: in proportion to each unit's payable just before the
        # promotion, so no unit ever goes below zero.
        units = [line.unit_price.amount] * line.quantity
        for k, taken in chosen:
            share = taken.shares.get(i)
            if not share:
                continue
            p = candidates[k].promotion
            funders = [f for f, _ in p.funding]
            funding = tuple(zip(funders, allocate(share, [s for _, s in p.funding]), strict=True))
            unit_shares = allocate(share, units) if sum(units, Decimal(0)) > 0 else split_units(share, line.quantity)
            units = [u - a for u, a in zip(units, unit_shares, strict=True)]
            allocations.append(Allocation(p.name, share, tuple(unit_shares), funding))
        list_total = line.unit_price.amount * line.quantity
        out.append(PricedLine(line.id, line.sku, line.shop, line.quantity, _q(list_total), _q(final.payables[i]),
                              tuple(allocations)))
    return out


def _hint(p: Promotion, gap: Decimal | int, currency: str) -> Hint:
    if isinstance(gap, Decimal):
        amount = gap.quantize(CENT, rounding=ROUND_HALF_UP)
        return Hint(p.name, amount, f"add {amount} {currency} more for {p.display}")
    return Hint(p.name, gap, f"add {gap} more item{'s' if gap != 1 else ''} for {p.display}")


def _next_tier_hint(p: Promotion, state: State, lines: tuple[int, ...], currency: str) -> list[Hint]:
    if p.type not in ("threshold_cut", "threshold_discount"):
        return []
    _, following, amount, count = reached_tier(p, state, lines)
    if following is None:
        return []
    gap: Decimal | int = following.threshold - amount if following.threshold is not None else (following.count or 0) - count
    return [_hint(p, gap, currency)]


def _gifts(candidates: list[Candidate], chosen: tuple[tuple[int, Taken], ...]) -> list[Gift]:
    gifts: list[Gift] = []
    for k, _ in chosen:
        p = candidates[k].promotion
        if p.type == "gift" and p.gift is not None:
            value = _q(p.gift_value or Decimal(0))
            funding = tuple(zip([f for f, _ in p.funding], allocate(value, [s for _, s in p.funding]), strict=True))
            gifts.append(Gift(p.name, p.gift, value, funding))
    return gifts


def _presale(candidates: list[Candidate], chosen: tuple[tuple[int, Taken], ...], lines: list[PricedLine],
             cart: Cart, now: datetime) -> list[PresaleSplit]:
    splits: list[PresaleSplit] = []
    for k, taken in chosen:
        p = candidates[k].promotion
        if p.type == "presale":
            splits.extend(presale.splits(p, cart, now, list(taken.shares), lines))
    return splits
