"""The checked program: what the checker proves about a set of rule files.

Declarations are resolved (names to objects, attributes to typed fields), rules are ordered
(priority descending, then name) and every expression's type is recorded, so the compiler and
the engine never look at raw attributes or guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from arbiter.dsl import nodes as n
from arbiter.dsl import types as t


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class Tag:
    namespace: str
    name: str
    type: t.Type
    display: str
    category: str
    source: str  # api | passthrough | data | system
    scope: frozenset[str] | None  # scenes that may read it; None: every scene
    status: str  # active | deprecated | offline
    default: Any  # the runtime value used when missing, or MISSING: a missing value is an error
    description: str
    span: n.Span

    @property
    def path(self) -> str:
        return f"{self.namespace}.{self.name}"


@dataclass(frozen=True, slots=True)
class Effect:
    name: str
    params: tuple[tuple[str, t.Type], ...]
    span: n.Span

    def param(self, name: str) -> t.Type | None:
        for key, type_ in self.params:
            if key == name:
                return type_
        return None


@dataclass(frozen=True, slots=True)
class Condition:
    name: str
    expr: n.Expr
    span: n.Span


@dataclass(frozen=True, slots=True)
class Feature:
    """A velocity feature: its canonical text is its id, shared by every rule that uses it."""

    id: str
    kind: str  # count | distinct | sum
    event: str | None  # count: the kind of event counted; otherwise every event with both values
    measure: n.Expr | None
    key: n.Expr
    window: timedelta
    type: t.Type


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    strategy: str
    priority: int
    group: str | None
    when: n.Expr | None  # None: always matches
    effects: tuple[n.Call, ...]
    score: int | None
    display: str
    span: n.Span

    @property
    def id(self) -> str:
        return f"{self.strategy}.{self.name}"


@dataclass(frozen=True, slots=True)
class Band:
    name: str
    floor: int  # the band applies when the total score is at least this
    effects: tuple[n.Call, ...]
    span: n.Span


@dataclass(frozen=True, slots=True)
class Strategy:
    name: str
    scene: str
    hit: str  # first | all | score
    rules: tuple[Rule, ...]  # ordered by priority descending, then name
    bands: tuple[Band, ...]  # ordered by floor ascending
    display: str
    span: n.Span


@dataclass(frozen=True, slots=True)
class Scene:
    name: str
    display: str
    access: str  # api | embedded | both
    clients: frozenset[str] | None
    readable: frozenset[str] | None  # namespaces or tag paths the scene may read; None: all
    effect_types: frozenset[str] | None  # effects its strategies may return; None: all
    on_failure: str  # open | closed
    fallback: tuple[n.Call, ...]  # fail-open: the default effects; fail-closed: the refusal
    strategy: str | None  # the default strategy
    span: n.Span

    def may_read(self, tag: Tag) -> bool:
        return self.readable is None or tag.namespace in self.readable or tag.path in self.readable


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    strategy: str
    weight: int
    span: n.Span


@dataclass(frozen=True, slots=True)
class Experiment:
    name: str
    scene: str
    unit: str  # a tag path
    seed: str
    traffic: Any  # Decimal share of units, 0..1
    namespace: str | None
    namespace_range: tuple[Any, Any]  # the [start, end) share of the namespace it takes
    status: str  # draft | running | stopped
    variants: tuple[Variant, ...]
    span: n.Span


@dataclass(frozen=True, slots=True)
class Holdout:
    """A share of units kept out of every experiment, served the scenes' default strategies."""

    name: str
    unit: str  # a tag path
    seed: str
    traffic: Any  # Decimal share, 0..1
    span: n.Span


@dataclass(frozen=True, slots=True)
class Tier:
    """One step of a tiered promotion: reach `threshold` (an amount) or `count` (items), then
    take `amount` off or pay `percent`."""

    threshold: Decimal | None
    count: int | None
    amount: Decimal | None
    percent: Decimal | None


@dataclass(frozen=True, slots=True)
class Promotion:
    """A promotion as declared and checked; the pricing core gives it its meaning.
    Amounts are Decimals in `currency`; percentages are the share paid (0.9 is 10% off)."""

    name: str
    display: str
    type: str
    stage: str
    priority: int
    group: str | None
    stacks: frozenset[str]  # names of promotions or groups; "all" for every one
    shop: str | None
    when: n.Expr | None
    goods: n.Expr | None
    calc: str | None
    amount: Decimal | None
    percent: Decimal | None
    price: Decimal | None
    threshold: Decimal | None  # for coupons, payment cuts and gifts: the amount to reach
    tiers: tuple[Tier, ...]  # threshold cuts and discounts; a single threshold becomes one tier
    every: Decimal | None
    cap: Decimal | None
    buy: int | None
    get: int | None
    deposit: Decimal | None
    deposit_value: Decimal | None
    balance_window: tuple[datetime | None, datetime | None]
    items: tuple[str, ...]
    gift: str | None
    gift_value: Decimal | None
    template: str
    registration: bool  # covers only goods registered into it (商品提报) and approved
    threshold_base: str  # list_price | after_item | payable
    amount_base: str  # payable | after_item
    funding: tuple[tuple[str, Decimal], ...]  # (funder, share), shares sum to 1
    budget: Decimal | None
    budget_policy: str  # strict | partial
    per_user: int | None
    uses: int | None
    window: tuple[datetime | None, datetime | None]
    currency: str
    span: n.Span


@dataclass(frozen=True, slots=True)
class PriceCheck:
    """What a price test sends and expects: cart lines as records, then the payable and the
    promotions applied."""

    lines: tuple[Mapping[str, Any], ...]
    coupons: frozenset[str]
    promotions: tuple[str, ...] | None  # None: every promotion
    payable: Any  # Money, or a Decimal in the cart's currency
    applied: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class TestCase:
    """A decision test (`scene`, expects effects) or a price test (`price`)."""

    name: str
    scene: str | None
    strategy: str | None  # None: whatever serves the scene (default or experiment variant)
    now: datetime | None
    given: Mapping[str, Any]
    expect: tuple[n.Call, ...] | None  # None: expect no effects
    price: PriceCheck | None
    span: n.Span


@dataclass(frozen=True)
class Program:
    """Everything declared in a set of files, checked. Immutable by convention."""

    tags: Mapping[str, Tag]
    effects: Mapping[str, Effect]
    conditions: Mapping[str, Condition]
    scenes: Mapping[str, Scene]
    strategies: Mapping[str, Strategy]
    experiments: Mapping[str, Experiment]
    holdouts: Mapping[str, Holdout]
    promotions: Mapping[str, Promotion]
    features: Mapping[str, Feature]
    tests: tuple[TestCase, ...]
    types: Mapping[int, t.Type] = field(repr=False)  # id(expression node) -> type
    sources: Mapping[str, str] = field(repr=False)
    modules: tuple[n.Module, ...] = field(repr=False)

    def type_of(self, expr: n.Expr) -> t.Type:
        return self.types.get(id(expr), t.UNKNOWN)

    @property
    def namespaces(self) -> frozenset[str]:
        return frozenset(tag.namespace for tag in self.tags.values())
