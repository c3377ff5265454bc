"""What the rules and the order flow ask of a SKU, without touching the database: its goods
facts (the `goods.*` tags of rules/tags.rules), the sales limits an order line must pass
(商品维度的销售限制), and the profit guard (利润管控) on what a unit is finally paid."""

from __future__ import annotations

from typing import Any

from arbiter.errors import InvalidInput
from arbiter.money import Money
from arbiter.platform.catalog.views import SkuView

SELF_OPERATED_SHOPS = frozenset({"arbiter-self"})  # the platform's own shop (自营)


def goods_facts(view: SkuView, *, stock: int | None = None,
                self_operated_shops: frozenset[str] = SELF_OPERATED_SHOPS) -> dict[str, Any]:
    """The `goods` namespace of a decision's context for this SKU: `{tag name: value}`, to be
    passed as `{"goods": goods_facts(view)}`. `price` is the sale price (Money); `stock` is
    left out when not given, so that the tag's default applies."""
    facts: dict[str, Any] = {
        "sku": view.sku,
        "spu": view.spu,
        "category": view.category,
        "brand": view.brand,
        "price": view.sale_price,
        "shop": view.shop,
        "is_self_operated": view.shop in self_operated_shops,
        "is_virtual": view.is_virtual,
        "is_dropship": view.is_dropship,
        "tags": sorted(view.tags),
    }
    if stock is not None:
        facts["stock"] = stock
    return facts


def check_purchase(view: SkuView, *, quantity: int, region: str | None, bought_before: int) -> str | None:
    """Why an order line of `quantity` units shipped to `region` is refused, or None: the SKU
    is not published, is not sold in that region, or the user would pass its per-user limit
    counting the `bought_before` units they already bought."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput(f"quantity: {quantity!r} is not a whole number of 1 or more")
    if isinstance(bought_before, bool) or not isinstance(bought_before, int) or bought_before < 0:
        raise InvalidInput(f"bought_before: {bought_before!r} is not a count (0 or more)")
    if not view.published:
        return f"{view.sku} is not on sale ({view.status})"
    if view.allowed_regions and region not in view.allowed_regions:
        where = region if region else "an unknown region"
        return f"{view.sku} is not sold in {where}"
    if view.max_per_user is not None and bought_before + quantity > view.max_per_user:
        return (f"{view.sku} is limited to {view.max_per_user} per user: {bought_before} bought "
                f"before, {quantity} more asked")
    return None


def check_profit(view: SkuView, payable_per_unit: Money) -> str | None:
    """Why a unit paying `payable_per_unit` after promotions is refused: below the SKU's cost,
    unless selling below cost was approved. Paying exactly the cost passes."""
    if not isinstance(payable_per_unit, Money):
        raise InvalidInput(f"payable_per_unit: expected Money, got {type(payable_per_unit).__name__}")
    if payable_per_unit < view.cost and not view.below_cost_approved:
        return f"{view.sku} would be paid {payable_per_unit} per unit, below its cost {view.cost}"
    return None
