"""The billing core (计费核心): what one promotion takes off a cart in a given state.

The state is every line's list total, its payable so far, and its payable after the item
stage. A promotion's discount is computed exactly, capped so that no line goes below zero,
rounded once to the cent (ROUND_HALF_UP), limited by its budget (strict: refused when the
budget cannot cover it; partial: what is left), and then allocated over the lines it covers
(`allocation.allocate`): in proportion to each line's payable just before it, or — for item
cuts, bundles and buy-X-get-Y — to what each line itself earned.

Measures: a threshold is judged on the promotion's `threshold_base` (list price, payable after
the item stage, or the running payable) or on the number of items; a percentage applies to
its `amount_base` (running payable, or payable after the item stage).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from arbiter.dsl.model import Promotion, Tier
from arbiter.engine.pricing.allocation import allocate
from arbiter.money import CENT


@dataclass(frozen=True, slots=True)
class State:
    """Per line: SKU, list total, quantity, running payable and payable after the item stage."""

    skus: tuple[str, ...]
    list_totals: tuple[Decimal, ...]
    quantities: tuple[int, ...]
    payables: tuple[Decimal, ...]
    after_item: tuple[Decimal, ...] | None  # set when the first later-stage promotion is reached

    @property
    def total(self) -> Decimal:
        return sum(self.payables, Decimal(0))

    def entering(self, stage: str) -> State:
        if stage != "item" and self.after_item is None:
            return State(self.skus, self.list_totals, self.quantities, self.payables, self.payables)
        return self

    def minus(self, shares: dict[int, Decimal]) -> State:
        payables = tuple(p - shares.get(i, Decimal(0)) for i, p in enumerate(self.payables))
        return State(self.skus, self.list_totals, self.quantities, payables, self.after_item)


@dataclass(frozen=True, slots=True)
class Taken:
    """A promotion that applies: its rounded discount and each covered line's share."""

    discount: Decimal
    shares: dict[int, Decimal]  # line index -> amount
    note: str
    capped: bool = False


@dataclass(frozen=True, slots=True)
class Missed:
    """A promotion that does not apply in this state, and by how much it missed."""

    reason: str
    detail: str
    gap: Decimal | int | None = None  # amount or items still needed


def measure(p: Promotion, state: State, lines: tuple[int, ...]) -> Decimal:
    if p.threshold_base == "list_price":
        values = state.list_totals
    elif p.threshold_base == "after_item" and state.after_item is not None:
        values = state.after_item
    else:
        values = state.payables
    return sum((values[i] for i in lines), Decimal(0))


def amount_base(p: Promotion, state: State, lines: tuple[int, ...]) -> Decimal:
    values = state.after_item if p.amount_base == "after_item" and state.after_item is not None else state.payables
    return sum((values[i] for i in lines), Decimal(0))


def items(state: State, lines: tuple[int, ...]) -> int:
    return sum(state.quantities[i] for i in lines)


def reached_tier(p: Promotion, state: State, lines: tuple[int, ...]) -> tuple[Tier | None, Tier | None, Decimal, int]:
    """The highest tier reached and the next one, with the amount and item measures."""
    amount, count = measure(p, state, lines), items(state, lines)
    reached: Tier | None = None
    following: Tier | None = None
    for tier in p.tiers:
        ok = (tier.threshold is not None and amount >= tier.threshold) or (tier.count is not None and count >= tier.count)
        if ok:
            reached = tier
        elif following is None:
            following = tier
    return reached, following, amount, count


def _gap(tier: Tier, amount: Decimal, count: int) -> Decimal | int:
    if tier.threshold is not None:
        return tier.threshold - amount
    return (tier.count or 0) - count


def _describe(tier: Tier) -> str:
    reach = f"{tier.threshold}" if tier.threshold is not None else f"{tier.count} items"
    give = f"-{tier.amount}" if tier.amount is not None else f"pay {tier.percent * 100 if tier.percent is not None else 100:.4g}%"
    return f"{reach}: {give}"


def compute(p: Promotion, state: State, lines: tuple[int, ...], budget: Decimal | None) -> Taken | Missed:
    """What `p` takes off `lines` in `state`; `budget` is what is left of its budget."""
    if not lines:
        return Missed("not eligible goods", "no line of the cart is covered")
    state = state.entering(p.stage)
    payable = {i: state.payables[i] for i in lines}
    weights: dict[int, Decimal] | None = None  # None: in proportion to payables
    note = ""
    kind = p.type
    if kind in ("item_cut", "presale"):
        weights = {}
        for i in lines:
            qty = state.quantities[i]
            if kind == "presale":
                earned = ((p.deposit_value or Decimal(0)) - (p.deposit or Decimal(0))) * qty
            elif p.calc == "cut":
                earned = (p.amount or Decimal(0)) * qty
            elif p.calc == "discount":
                earned = payable[i] * (1 - (p.percent if p.percent is not None else Decimal(1)))
            else:
                earned = payable[i] - (p.price or Decimal(0)) * qty
            weights[i] = max(min(earned, payable[i]), Decimal(0))
        exact = sum(weights.values(), Decimal(0))
        note = "per unit"
    elif kind == "bundle":
        result = _bundle(p, state, lines)
        if isinstance(result, Missed):
            return result
        exact, weights, note = result
    elif kind == "buy_x_get_y":
        result = _buy_x_get_y(p, state, lines)
        if isinstance(result, Missed):
            return result
        exact, weights, note = result
    elif kind in ("threshold_cut", "threshold_discount"):
        tier, following, amount, count = reached_tier(p, state, lines)
        if tier is None:
            first = p.tiers[0]
            return Missed("threshold not met", f"{_measure_text(p, amount, count)} is below {_describe(first)}",
                          _gap(first, amount, count))
        if tier.amount is not None:
            exact = tier.amount
        else:
            exact = amount_base(p, state, lines) * (1 - (tier.percent if tier.percent is not None else Decimal(1)))
        note = f"{_measure_text(p, amount, count)} reaches {_describe(tier)}"
    elif kind == "every_cut":
        amount = measure(p, state, lines)
        every = p.every or Decimal(1)
        times = int((amount / every).to_integral_value(rounding=ROUND_FLOOR))
        if times == 0:
            return Missed("threshold not met", f"{amount} is below every {every}", every - amount)
        exact = times * (p.amount or Decimal(0))
        note = f"{amount} is {times} x {every}"
        if p.cap is not None and exact > p.cap:
            exact = p.cap
            note += f", capped at {p.cap}"
    elif kind in ("coupon", "payment_cut", "gift"):
        amount, count = measure(p, state, lines), items(state, lines)
        threshold = p.threshold
        if threshold is not None and amount < threshold:
            return Missed("threshold not met", f"{_measure_text(p, amount, count)} is below {threshold}", threshold - amount)
        if kind == "gift":
            return Taken(Decimal("0.00"), {}, f"gift {p.gift} worth {p.gift_value}")
        if p.amount is not None:
            exact = p.amount
        else:
            exact = amount_base(p, state, lines) * (1 - (p.percent if p.percent is not None else Decimal(1)))
        note = f"{amount} reaches {threshold}" if threshold is not None else "no threshold"
    else:  # pragma: no cover - the checker allows only the types above
        return Missed("not eligible goods", f"unknown type {kind}")
    ceiling = sum(payable.values(), Decimal(0))
    capped = exact > ceiling
    discount = min(exact, ceiling).quantize(CENT, rounding=ROUND_HALF_UP)
    if discount > ceiling:  # rounding up past the lines' payable
        discount = ceiling
    if budget is not None and discount > budget:
        if p.budget_policy == "strict":
            return Missed("budget exhausted", f"needs {discount}, {budget} left", None)
        discount = budget.quantize(CENT, rounding=ROUND_FLOOR)
        note += f"; budget left {budget}"
    if discount <= 0:
        return Missed("nothing to take off", note or "the covered lines are already free")
    order = sorted(lines)
    basis = [weights.get(i, Decimal(0)) if weights is not None else payable[i] for i in order]
    if sum(basis, Decimal(0)) <= 0:
        basis = [payable[i] for i in order]
    shares = dict(zip(order, allocate(discount, basis), strict=True))
    if capped:
        note += f"; capped at what the lines cost ({ceiling})"
    return Taken(discount, shares, note, capped)


def _measure_text(p: Promotion, amount: Decimal, count: int) -> str:
    if p.tiers and p.tiers[0].count is not None:
        return f"{count} items"
    base = {"list_price": "list price", "after_item": "after item cuts", "payable": "payable"}[p.threshold_base]
    return f"{amount} ({base})"


def _units(state: State, lines: tuple[int, ...]) -> list[tuple[Decimal, int]]:
    """Each unit's payable with its line, cheapest first, ties by line order."""
    units: list[tuple[Decimal, int]] = []
    for i in sorted(lines):
        qty = state.quantities[i]
        if qty:
            units.extend((state.payables[i] / qty, i) for _ in range(qty))
    return sorted(units, key=lambda u: (u[0], u[1]))


def _buy_x_get_y(p: Promotion, state: State, lines: tuple[int, ...]) -> tuple[Decimal, dict[int, Decimal], str] | Missed:
    buy, get = p.buy or 1, p.get or 1
    units = _units(state, lines)
    groups = len(units) // (buy + get)
    if groups == 0:
        return Missed("threshold not met", f"{len(units)} items; buy {buy} get {get} needs {buy + get}", buy + get - len(units))
    weights: dict[int, Decimal] = {}
    for value, i in units[: groups * get]:
        weights[i] = weights.get(i, Decimal(0)) + value
    return sum(weights.values(), Decimal(0)), weights, f"{groups * get} of {len(units)} items free"


def _bundle(p: Promotion, state: State, lines: tuple[int, ...]) -> tuple[Decimal, dict[int, Decimal], str] | Missed:
    by_sku: dict[str, list[int]] = {}
    for i in sorted(lines):
        by_sku.setdefault(state.skus[i], []).append(i)
    available = {sku: sum(state.quantities[i] for i in by_sku.get(sku, [])) for sku in p.items}
    sets = min(available.values()) if available else 0
    if sets == 0:
        missing = [sku for sku, qty in available.items() if qty == 0]
        return Missed("threshold not met", "bundle incomplete: missing " + ", ".join(missing), len(missing))
    weights: dict[int, Decimal] = {}
    for sku in p.items:
        need = sets
        for i in by_sku[sku]:
            take = min(need, state.quantities[i])
            if take:
                weights[i] = weights.get(i, Decimal(0)) + state.payables[i] / state.quantities[i] * take
                need -= take
            if need == 0:
                break
    together = sum(weights.values(), Decimal(0))
    exact = together - (p.price or Decimal(0)) * sets
    if exact <= 0:
        return Missed("nothing to take off", f"{sets} set(s) already cost {together}, not more than {p.price}")
    return exact, weights, f"{sets} set(s) for {p.price} each"
