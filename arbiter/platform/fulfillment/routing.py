"""The `fulfillment_route` scene, asked once per order line with its goods and order facts:
route(to: warehouse | dropship | supplier_realtime), or review (a person sorts it out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arbiter.platform.catalog import service as catalog
from arbiter.platform.catalog.service import SkuView
from arbiter.platform.db import UnitOfWork
from arbiter.platform.inventory import service as inventory
from arbiter.platform.runtime import Platform

WAREHOUSE, DROPSHIP, REALTIME = "warehouse", "dropship", "supplier_realtime"
ROUTES = (WAREHOUSE, DROPSHIP, REALTIME)


@dataclass(frozen=True, slots=True)
class Route:
    to: str | None
    reason: str | None = None


def route(uow: UnitOfWork, platform: Platform, view: SkuView, order: Any, quantity: int) -> Route:
    """Where one line of `order` (an OrderView) ships from."""
    region = order.region or None
    stock = inventory.available(uow, view.sku, region) if not view.is_virtual else 0
    facts = catalog.goods_facts(view, stock=stock, self_operated_shops=platform.self_operated)
    context = {"goods": facts, "order": {
        "amount": order.payable, "item_count": quantity, "address_region": order.region or "",
        "recharge_account": order.recharge_account or "", "shop": order.shop}}
    decision = platform.decisions.decide("fulfillment_route", context, client="fulfillment_service", access="embedded")
    for effect in decision.effects:
        if effect.name == "route" and effect.get("to") in ROUTES:
            to = str(effect.get("to"))
            if to in (DROPSHIP, REALTIME) and view.supplier is None:
                return Route(None, f"{view.sku} is out of stock and has no supplier to ship it")
            return Route(to)
        if effect.name in ("review", "reject"):
            return Route(None, str(effect.get("reason") or "the order needs a review before it ships"))
    return Route(None, f"no route for {view.sku}" + (f" ({decision.reason})" if decision.reason else ""))
