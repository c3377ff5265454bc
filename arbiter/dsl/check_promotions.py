"""Checking promotion declarations into typed `Promotion` values.

Each attribute is read as the kind its schema names (money, a share, tiers, funding shares,
SKU lists, conditions over the right tags), every amount in one currency, and each type is
checked for the attributes it cannot do without (an item cut by `cut` needs an `amount`, a
bundle its `items` and `price`, ...). The pricing core then never meets a malformed promotion.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbiter.dsl import nodes as n
from arbiter.dsl import types as t
from arbiter.dsl.check_attrs import AttributeReader
from arbiter.dsl.model import Promotion, Tier
from arbiter.dsl.schema import BLOCKS, DEFAULT_STAGE, FUNDERS
from arbiter.dsl.suggest import did_you_mean

# What each type cannot do without; `one of` groups are alternatives.
_REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "item_cut": [("calc",)],
    "presale": [("deposit",), ("deposit_value",)],
    "threshold_cut": [("tiers", "amount")],
    "every_cut": [("every",), ("amount",)],
    "threshold_discount": [("tiers", "percent")],
    "buy_x_get_y": [("buy",), ("get",)],
    "payment_cut": [("amount", "percent")],
    "coupon": [("amount", "percent")],
    "bundle": [("items",), ("price",)],
    "gift": [("gift",), ("gift_value",)],
}
_CALC_NEEDS = {"cut": "amount", "discount": "percent", "fixed_price": "price"}
_TIER_KEYS = ("threshold", "count", "amount", "percent")


class PromotionChecker(AttributeReader):
    def _promotions(self, blocks: list[n.Block]) -> dict[str, Promotion]:
        promotions: dict[str, Promotion] = {}
        for block in blocks:
            promotion = self._promotion(block)
            if promotion is not None:
                promotions[block.name] = promotion
        return promotions

    def _promotion(self, block: n.Block) -> Promotion | None:
        spec = BLOCKS["promotion"]
        found = self.block_attrs(block, spec)
        get = {k: v[0] for k, v in found.items()}
        what = f"promotion `{block.name}`"
        self._currency: str | None = None
        kind = (self.symbol(get["type"], spec.attrs["type"].choices) if "type" in get else None) or ""
        for key, attr in get.items():
            if spec.attrs[key].kind == "condition":
                self.ex.check(attr.value, t.BOOL, f"the `{key}` of {what}")
        money = {k: self._money(get[k]) for k in get if spec.attrs[k].kind == "money"}
        shares = {k: self._share(get[k]) for k in ("percent",) if k in get}
        ints = {k: self.integer(get[k]) for k in get if spec.attrs[k].kind == "int"}
        for key, number in ints.items():
            if key != "priority" and number is not None and number < 1:
                self.error("dsl.attr.invalid", f"`{key}` must be at least 1", get[key].value.span)
        tiers = self._tiers(get["tiers"]) if "tiers" in get else []
        if not tiers and ("threshold" in get or "count" in get) and kind in ("threshold_cut", "threshold_discount"):
            tiers = [Tier(money.get("threshold"), ints.get("count"), money.get("amount"), shares.get("percent"))]
        elif kind in ("threshold_cut", "threshold_discount") and not tiers and ("amount" in get or "percent" in get):
            self.error("dsl.attr.missing", f"{what} needs `threshold` or `count` (or `tiers`)", block.name_span)
        for group in _REQUIRED.get(kind, []):
            if not any(key in get for key in group):
                needed = " or ".join(f"`{key}`" for key in group)
                self.error("dsl.attr.missing", f"a {kind} promotion needs {needed}", block.name_span)
        calc = self.symbol(get["calc"], ("cut", "discount", "fixed_price")) if "calc" in get else None
        if kind == "item_cut" and calc is not None and _CALC_NEEDS[calc] not in get:
            self.error("dsl.attr.missing", f"an item cut by `{calc}` needs `{_CALC_NEEDS[calc]}`", get["calc"].value.span)
        tier_span = get["tiers"].value.span if "tiers" in get else block.name_span
        if kind == "threshold_discount" and any(tier.percent is None for tier in tiers):
            self.error("dsl.attr.invalid", "each tier of a threshold discount needs `percent`", tier_span)
        if kind == "threshold_cut" and any(tier.amount is None for tier in tiers):
            self.error("dsl.attr.invalid", "each tier of a threshold cut needs `amount`", tier_span)
        items = self.strings(get["items"]) if "items" in get else []
        if kind == "bundle" and "items" in get and len(items) < 2:
            self.error("dsl.attr.invalid", "a bundle needs at least two SKUs", get["items"].value.span)
        deposit, deposit_value = money.get("deposit"), money.get("deposit_value")
        if deposit is not None and deposit_value is not None and deposit_value < deposit:
            self.error("dsl.attr.invalid", "`deposit_value` cannot be below the `deposit`", get["deposit_value"].value.span)
        symbol = {k: self.symbol(get[k], spec.attrs[k].choices) for k in get if spec.attrs[k].kind == "symbol"}
        text = {k: self.string(get[k]) for k in get if spec.attrs[k].kind == "string"}
        stacks = frozenset(name for name, _ in self.names(get["stacks"])) if "stacks" in get else frozenset()
        window = (self.moment(get["starts"]) if "starts" in get else None, self.moment(get["ends"]) if "ends" in get else None)
        balance = (
            self.moment(get["balance_starts"]) if "balance_starts" in get else None,
            self.moment(get["balance_ends"]) if "balance_ends" in get else None,
        )
        for low, high, key in ((window[0], window[1], "ends"), (balance[0], balance[1], "balance_ends")):
            if low is not None and high is not None and high <= low:
                self.error("dsl.attr.invalid", f"`{key}` must come after its start", get[key].value.span)
        funding = self._funding(get["funding"]) if "funding" in get else (("platform", Decimal(1)),)
        if not kind:
            return None
        return Promotion(
            name=block.name,
            display=text.get("display") or block.name,
            type=kind,
            stage=symbol.get("stage") or DEFAULT_STAGE[kind],
            priority=ints.get("priority") or 0,
            group=text.get("group"),
            stacks=stacks,
            shop=text.get("shop"),
            when=get["when"].value if "when" in get else None,
            goods=get["goods"].value if "goods" in get else None,
            calc=calc,
            amount=money.get("amount"),
            percent=shares.get("percent"),
            price=money.get("price"),
            threshold=money.get("threshold"),
            tiers=tuple(tiers),
            every=money.get("every"),
            cap=money.get("cap"),
            buy=ints.get("buy"),
            get=ints.get("get"),
            deposit=deposit,
            deposit_value=deposit_value,
            balance_window=balance,
            items=tuple(items),
            gift=text.get("gift"),
            gift_value=money.get("gift_value"),
            template=text.get("template") or block.name,
            registration=symbol.get("registration") == "required",
            threshold_base=symbol.get("threshold_base") or "payable",
            amount_base=symbol.get("amount_base") or "payable",
            funding=funding,
            budget=money.get("budget"),
            budget_policy=symbol.get("budget_policy") or "strict",
            per_user=ints.get("per_user"),
            uses=ints.get("uses"),
            window=window,
            currency=self._currency or "CNY",
            span=block.span,
        )

    # ------------------------------------------------------------------ values
    def _money(self, attr: n.Attr | n.Expr, key: str | None = None) -> Decimal | None:
        """A money literal, or a bare number in the promotion's currency; never negative."""
        value = attr.value if isinstance(attr, n.Attr) else attr
        label = key or (attr.key if isinstance(attr, n.Attr) else "the amount")
        amount: Decimal | None = None
        if isinstance(value, n.MoneyLit):
            if self._currency is not None and value.currency != self._currency:
                self.error("dsl.money.currency", f"all amounts of a promotion are in one currency: {self._currency}, not {value.currency}", value.span)
                return None
            self._currency = value.currency
            amount = value.amount
        elif isinstance(value, n.IntLit | n.DecimalLit) and not (isinstance(value, n.DecimalLit) and value.percent):
            amount = Decimal(value.value)
        if amount is None or amount < 0:
            self.error("dsl.attr.invalid", f"`{label}` takes an amount such as 300 CNY", value.span)
            return None
        return amount

    def _share(self, attr: n.Attr | n.Expr, key: str = "percent") -> Decimal | None:
        value = attr.value if isinstance(attr, n.Attr) else attr
        if isinstance(value, n.DecimalLit | n.IntLit) and 0 <= Decimal(value.value) <= 1:
            return Decimal(value.value)
        self.error("dsl.attr.invalid", f"`{key}` takes a percentage between 0% and 100%, e.g. 90%", value.span)
        return None

    def _tiers(self, attr: n.Attr) -> list[Tier]:
        if not isinstance(attr.value, n.ListLit) or not attr.value.items:
            self.error("dsl.attr.invalid", "`tiers` takes a list such as [{threshold: 300, amount: 30}]", attr.value.span)
            return []
        tiers: list[Tier] = []
        for item in attr.value.items:
            if not isinstance(item, n.RecordLit):
                self.error("dsl.attr.invalid", "each tier is a record such as {threshold: 300, amount: 30}", item.span)
                continue
            fields: dict[str, Any] = {}
            for key, value in item.fields:
                if key not in _TIER_KEYS:
                    self.error("dsl.attr.unknown", f"a tier has no `{key}`", value.span,
                               did_you_mean(key, _TIER_KEYS) or "tier fields: " + ", ".join(_TIER_KEYS))
                elif key in ("threshold", "amount"):
                    fields[key] = self._money(value, key)
                elif key == "percent":
                    fields[key] = self._share(value)
                elif isinstance(value, n.IntLit) and value.value >= 1:
                    fields[key] = value.value
                else:
                    self.error("dsl.attr.invalid", "`count` takes a whole number of items", value.span)
            if ("threshold" in fields) == ("count" in fields):
                self.error("dsl.attr.invalid", "a tier reaches either a `threshold` or a `count`", item.span)
            tiers.append(Tier(fields.get("threshold"), fields.get("count"), fields.get("amount"), fields.get("percent")))
        reached = [tier.threshold if tier.threshold is not None else Decimal(tier.count or 0) for tier in tiers]
        if all(tier.threshold is not None or tier.count is not None for tier in tiers) and (
            reached != sorted(reached) or len(set(reached)) != len(reached)
        ):
            self.error("dsl.attr.invalid", "tiers go from the lowest threshold to the highest", attr.value.span)
        return tiers

    def _funding(self, attr: n.Attr) -> tuple[tuple[str, Decimal], ...]:
        value = attr.value
        if isinstance(value, n.Name) and len(value.parts) == 1 and value.parts[0] in FUNDERS:
            return ((value.parts[0], Decimal(1)),)
        if isinstance(value, n.RecordLit) and value.fields:
            shares: list[tuple[str, Decimal]] = []
            for key, share in value.fields:
                if key not in FUNDERS:
                    self.error("dsl.attr.invalid", f"unknown funder `{key}`", share.span,
                               did_you_mean(key, FUNDERS) or "funders: " + ", ".join(FUNDERS))
                    continue
                amount = self._share(share, key)
                if amount is not None:
                    shares.append((key, amount))
            if shares and sum(s for _, s in shares) != 1:
                self.error("dsl.attr.invalid", "funding shares must add up to 100%", value.span)
            return tuple(shares) or (("platform", Decimal(1)),)
        self.error("dsl.attr.invalid", "`funding` takes platform, merchant, channel or shares such as { platform: 60%, merchant: 40% }", value.span)
        return (("platform", Decimal(1)),)
