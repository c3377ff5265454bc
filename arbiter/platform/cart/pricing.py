"""Pricing what a user looks at: a product page (到手价), a cart, a checkout. Each builds the
trial's cart from catalog SKUs and the user's facts, and asks the live price trial
(`promotions.pricing.quote`): the same function everywhere, so the price shown is the price
charged. Nothing here moves a budget or a coupon."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arbiter.engine.pricing import Cart, CartLine
from arbiter.errors import InvalidInput, NotFound
from arbiter.platform.catalog import service as catalog
from arbiter.platform.catalog.service import SkuView
from arbiter.platform.db import UnitOfWork
from arbiter.platform.promotions import pricing
from arbiter.platform.promotions.pricing import Quote
from arbiter.platform.runtime import Platform
from arbiter.platform.users import service as users

MAX_QUANTITY = 999


@dataclass(frozen=True, slots=True)
class Wanted:
    """A SKU and how many of it."""

    sku: str
    quantity: int


def published_sku(uow: UnitOfWork, sku: str) -> SkuView:
    view = catalog.get_sku(uow, sku)
    if view is None:
        raise NotFound(f"sku {sku!r} does not exist")
    if view.status != "published":
        raise InvalidInput(f"sku {sku!r} is not on sale ({view.status})")
    return view


def check_quantity(quantity: int, where: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(f"{where}: {quantity!r} is not a whole number from 1 to {MAX_QUANTITY}")
    return quantity


def line_tags(view: SkuView) -> dict[str, Any]:
    """The `line.*` tags the promotions' `goods` conditions read."""
    return {"sku": view.sku, "spu": view.spu, "category": view.category, "brand": view.brand,
            "shop": view.shop, "price": view.sale_price}


def shopping_context(uow: UnitOfWork, user_id: str | None, now: datetime, *,
                     order: Mapping[str, Any] | None = None,
                     passthrough: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the promotions' `when` conditions read: the user's facts, the order's (payment
    method, channel) and what the caller passed through."""
    context: dict[str, Any] = {"order": dict(order or {}), "passthrough": dict(passthrough or {})}
    if user_id is not None:
        context["user"] = users.user_facts(uow, user_id, now)
    return context


def trial_cart(views: Sequence[tuple[SkuView, int]], context: Mapping[str, Any], *, user: str | None,
               device: str | None) -> Cart:
    lines = tuple(
        CartLine(f"l{index}", view.sku, view.shop, quantity, view.sale_price, line_tags(view))
        for index, (view, quantity) in enumerate(views, start=1))
    return Cart(lines, context=dict(context), user=user, device=device)


def quote_skus(uow: UnitOfWork, platform: Platform, wanted: Sequence[Wanted], user_id: str | None,
               now: datetime, *, order: Mapping[str, Any] | None = None,
               passthrough: Mapping[str, Any] | None = None, explain: bool = False) -> Quote:
    """The best price of these SKUs for this user now."""
    if not wanted:
        raise InvalidInput("nothing to price: the list of SKUs is empty")
    views = [(published_sku(uow, w.sku), check_quantity(w.quantity)) for w in wanted]
    context = shopping_context(uow, user_id, now, order=order, passthrough=passthrough)
    device = (passthrough or {}).get("device_id")
    cart = trial_cart(views, context, user=user_id, device=device)
    return pricing.quote(uow, platform.ruleset, cart, platform.budgets, now, explain=explain)


def final_price(uow: UnitOfWork, platform: Platform, sku: str, user_id: str | None, now: datetime, *,
                passthrough: Mapping[str, Any] | None = None) -> Quote:
    """到手价: what one unit of `sku` would cost this user, with the best promotions and the
    coupons they hold or could still claim."""
    return quote_skus(uow, platform, [Wanted(sku, 1)], user_id, now, passthrough=passthrough)
