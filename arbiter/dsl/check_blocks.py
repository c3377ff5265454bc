"""Checking experiments, holdouts and test blocks (promotions: check_promotions.py)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from arbiter.dsl import nodes as n
from arbiter.dsl.check_attrs import literal_value
from arbiter.dsl.check_promotions import PromotionChecker
from arbiter.dsl.check_strategies import StrategyChecker
from arbiter.dsl.context import prepare
from arbiter.dsl.model import (
    MISSING,
    Experiment,
    Holdout,
    PriceCheck,
    Promotion,
    Scene,
    Strategy,
    TestCase,
    Variant,
)
from arbiter.dsl.schema import BLOCKS
from arbiter.dsl.suggest import did_you_mean
from arbiter.errors import ArbiterError
from arbiter.money import CENT, Money


class BlockChecker(StrategyChecker, PromotionChecker):
    def _experiments(self, blocks: list[n.Block], scenes: Mapping[str, Scene], strategies: Mapping[str, Strategy]) -> dict[str, Experiment]:
        experiments: dict[str, Experiment] = {}
        for block in blocks:
            found = self.block_attrs(block, BLOCKS["experiment"])
            get = {k: v[0] for k, v in found.items()}
            scene = self.ref(get["scene"], "scene", scenes) if "scene" in get else None
            unit = self.unit_tag(get["unit"]) if "unit" in get else ""
            traffic = self.share(get["traffic"]) if "traffic" in get else Decimal(1)
            namespace = self.string(get["namespace"]) if "namespace" in get else None
            namespace_range = (Decimal(0), Decimal(1))
            if "range" in get:
                namespace_range = self.share_range(get["range"])
                if namespace is None:
                    self.error("dsl.attr.invalid", "`range` is a share of a `namespace`; name the namespace", get["range"].key_span)
            variants: list[Variant] = []
            for vb in self._unique("variant", list(block.blocks("variant"))):
                vfound = self.block_attrs(vb, BLOCKS["variant"])
                vget = {k: v[0] for k, v in vfound.items()}
                strategy = self.ref(vget["strategy"], "strategy", strategies) if "strategy" in vget else None
                weight = self.integer(vget["weight"]) if "weight" in vget else None
                if strategy and scene and strategies[strategy].scene != scene:
                    self.error("dsl.scene.strategy", f"strategy `{strategy}` serves scene `{strategies[strategy].scene}`, not `{scene}`",
                               vget["strategy"].value.span)
                if weight is not None and weight <= 0:
                    self.error("dsl.attr.invalid", "a variant's weight must be above 0", vget["weight"].value.span)
                if strategy and weight:
                    variants.append(Variant(vb.name, strategy, weight, vb.span))
            experiments[block.name] = Experiment(
                name=block.name,
                scene=scene or "",
                unit=unit,
                seed=(self.string(get["seed"]) if "seed" in get else None) or block.name,
                traffic=traffic if traffic is not None else Decimal(1),
                namespace=namespace,
                namespace_range=namespace_range,
                status=(self.symbol(get["status"], ("draft", "running", "stopped")) if "status" in get else None) or "draft",
                variants=tuple(variants),
                span=block.span,
            )
        return experiments

    def _holdouts(self, blocks: list[n.Block]) -> dict[str, Holdout]:
        holdouts: dict[str, Holdout] = {}
        for block in blocks:
            found = self.block_attrs(block, BLOCKS["holdout"])
            get = {k: v[0] for k, v in found.items()}
            holdouts[block.name] = Holdout(
                name=block.name,
                unit=self.unit_tag(get["unit"]) if "unit" in get else "",
                seed=(self.string(get["seed"]) if "seed" in get else None) or block.name,
                traffic=(self.share(get["traffic"]) if "traffic" in get else None) or Decimal(0),
                span=block.span,
            )
        return holdouts

    def _tests(
        self,
        blocks: list[n.Block],
        scenes: Mapping[str, Scene],
        strategies: Mapping[str, Strategy],
        promotions: Mapping[str, Promotion],
    ) -> list[TestCase]:
        tests: list[TestCase] = []
        for block in blocks:
            found = self.block_attrs(block, BLOCKS["test"])
            get = {k: v[0] for k, v in found.items()}
            scene = self.ref(get["scene"], "scene", scenes) if "scene" in get else None
            strategy = self.ref(get["strategy"], "strategy", strategies) if "strategy" in get else None
            if strategy and scene and strategies[strategy].scene != scene:
                self.error("dsl.scene.strategy", f"strategy `{strategy}` serves scene `{strategies[strategy].scene}`, not `{scene}`",
                           get["strategy"].value.span)
                strategy = None
            now = self.moment(get["now"]) if "now" in get else None
            given: dict[str, Any] = {}
            if "given" in get:
                given = self._given(get["given"])
            expect: list[n.Call] = []
            for attr in found.get("expect", []):
                if isinstance(attr.value, n.ListLit) and not attr.value.items:
                    continue
                for call, reads in self.effect_list([attr], "expect"):
                    if reads:
                        self.error("dsl.test.expect", "expected effects are written with literal values", reads[0].span)
                    expect.append(call)
            price = self._price_check(block, found, promotions) if "cart" in get else None
            if ("scene" in get) == ("cart" in get):
                self.error("dsl.attr.missing", f"test `{block.name}` needs either `scene` (a decision) or `cart` (a price)",
                           block.name_span)
                continue
            if (scene is None and price is None) or (price is not None and expect):
                if price is not None and expect:
                    self.error("dsl.attr.invalid", "a price test expects `payable` and `applied`, not effects", found["expect"][0].key_span)
                continue
            tests.append(TestCase(block.name, scene, strategy, now, given, tuple(expect), price, block.span))
        return tests

    def _price_check(
        self, block: n.Block, found: Mapping[str, list[n.Attr]], known: Mapping[str, Promotion]
    ) -> PriceCheck | None:
        cart = found["cart"][0]
        lines: list[dict[str, Any]] = []
        items = cart.value.items if isinstance(cart.value, n.ListLit) else ()
        if not items:
            self.error("dsl.attr.invalid", "`cart` takes a list of lines: [{sku: \"A\", quantity: 1, price: 10 CNY}]", cart.value.span)
            return None
        for item in items:
            value = literal_value(item) if isinstance(item, n.RecordLit) else MISSING
            if not isinstance(value, dict) or "sku" not in value or "price" not in value:
                self.error("dsl.attr.invalid", "each cart line is a record with at least `sku` and `price`", item.span)
                continue
            problem = _cart_line_problem(value)
            if problem is not None:
                self.error("dsl.attr.invalid", f"cart line: {problem}", item.span)
                continue
            lines.append(value)
        get = {k: v[0] for k, v in found.items()}
        coupons = frozenset(self.strings(get["coupons"])) if "coupons" in get else frozenset()
        chosen = self._promotion_names(get["promotions"], known) if "promotions" in get else None
        applied = self._promotion_names(get["applied"], known) if "applied" in get else None
        payable = None
        if "payable" in get:
            value = literal_value(get["payable"].value)
            payable = value if isinstance(value, Money) else (Decimal(value) if isinstance(value, int | Decimal) else None)
            if payable is None:
                self.error("dsl.attr.invalid", "`payable` takes an amount such as 241.90 CNY", get["payable"].value.span)
        if payable is None and applied is None:
            self.error("dsl.attr.missing", f"price test `{block.name}` needs `payable` or `applied`", block.name_span)
        return PriceCheck(tuple(lines), coupons, chosen, payable, applied)

    def _promotion_names(self, attr: n.Attr, known: Mapping[str, Promotion]) -> tuple[str, ...]:
        names: list[str] = []
        for name, span in self.names(attr):
            if name not in known:
                self.error("dsl.name.unknown", f"unknown promotion `{name}`", span, did_you_mean(name, sorted(known)))
            names.append(name)
        return tuple(names)

    def _given(self, attr: n.Attr) -> dict[str, Any]:
        if not isinstance(attr.value, n.RecordLit):
            self.error("dsl.attr.invalid", "`given` takes a record: { user: { ... }, order: { ... } }", attr.value.span)
            return {}
        value = literal_value(attr.value)
        if value is MISSING:
            self.error("dsl.attr.invalid", "`given` holds literal values only", attr.value.span)
            return {}
        for ns_name, ns_value in attr.value.fields:
            if ns_name not in self.ex.namespaces:
                self.error("dsl.tag.unknown", f"unknown tag namespace `{ns_name}`", ns_value.span,
                           did_you_mean(ns_name, sorted(self.ex.namespaces)))
                continue
            if isinstance(ns_value, n.RecordLit):
                for tag_name, tag_value in ns_value.fields:
                    path = f"{ns_name}.{tag_name}"
                    if path not in self.tags:
                        self.error("dsl.tag.unknown", f"unknown tag `{path}`", tag_value.span,
                                   did_you_mean(path, sorted(self.tags)))
        try:
            prepare(value, self.tags)
        except ArbiterError as exc:
            self.error("dsl.test.given", f"the context does not fit the tag catalog: {exc}", attr.value.span)
        return dict(value)


def _cart_line_problem(line: Mapping[str, Any]) -> str | None:
    """What is wrong with a price test's cart line, if anything."""
    for key in ("id", "sku", "shop"):
        if key in line and not isinstance(line[key], str):
            return f"`{key}` is a string"
    quantity = line.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        return "`quantity` is a whole number of at least 1"
    price = line["price"]
    amount = price.amount if isinstance(price, Money) else price
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal) or amount < 0 or Decimal(amount) != Decimal(amount).quantize(CENT):
        return "`price` is an amount in cents, e.g. 19.90 CNY"
    return None
