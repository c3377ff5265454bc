"""Cart use cases: add, change, remove, tick for checkout, and view (grouped by shop, priced
by the trial every time). Each commits once; bad input changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from arbiter.errors import InvalidInput, NotFound
from arbiter.platform.cart.models import CartItem
from arbiter.platform.cart.pricing import Wanted, check_quantity, published_sku, quote_skus
from arbiter.platform.columns import utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.promotions.pricing import Quote
from arbiter.platform.runtime import Platform
from arbiter.platform.sql import upsert, write_lock

ITEMS = CartItem.__table__  # type: ignore[attr-defined]
MAX_ITEMS = 120


@dataclass(frozen=True, slots=True)
class Item:
    sku: str
    quantity: int
    selected: bool


@dataclass(frozen=True)
class CartView:
    """The cart as the user sees it: items by shop, and the trial's price of the ticked ones
    (None when nothing is ticked)."""

    items: tuple[Item, ...]
    shops: dict[str, tuple[str, ...]]  # shop -> its SKUs, in the order added
    quote: Quote | None


def items(uow: UnitOfWork, user_id: str) -> list[Item]:
    rows = uow.session.execute(select(ITEMS).where(ITEMS.c.user_id == user_id).order_by(ITEMS.c.id))
    return [Item(r.sku, r.quantity, r.selected) for r in rows]


def add(uow: UnitOfWork, user_id: str, sku: str, quantity: int, now: datetime) -> list[Item]:
    """Add `quantity` of `sku` (adding to what is already there)."""
    check_quantity(quantity)
    published_sku(uow, sku)
    write_lock(uow.session.connection())
    if len(items(uow, user_id)) >= MAX_ITEMS and sku not in {i.sku for i in items(uow, user_id)}:
        raise InvalidInput(f"the cart holds at most {MAX_ITEMS} different SKUs")
    uow.session.execute(upsert(
        ITEMS, uow.engine.dialect.name,
        dict(user_id=user_id, sku=sku, quantity=quantity, selected=True, added_at=utc(now)),
        [ITEMS.c.user_id, ITEMS.c.sku], {"quantity": ITEMS.c.quantity + quantity}))
    after = items(uow, user_id)
    if any(i.quantity > 999 for i in after):
        raise InvalidInput(f"quantity of {sku!r} would exceed 999")
    uow.commit()
    return after


def _change(uow: UnitOfWork, user_id: str, sku: str, **values: Any) -> list[Item]:
    done = uow.session.execute(update(ITEMS).where(ITEMS.c.user_id == user_id, ITEMS.c.sku == sku)
                               .values(**values))
    if done.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"sku {sku!r} is not in the cart")
    uow.commit()
    return items(uow, user_id)


def set_quantity(uow: UnitOfWork, user_id: str, sku: str, quantity: int) -> list[Item]:
    return _change(uow, user_id, sku, quantity=check_quantity(quantity))


def select_item(uow: UnitOfWork, user_id: str, sku: str, selected: bool) -> list[Item]:
    return _change(uow, user_id, sku, selected=bool(selected))


def remove(uow: UnitOfWork, user_id: str, skus: list[str]) -> list[Item]:
    uow.session.execute(delete(ITEMS).where(ITEMS.c.user_id == user_id, ITEMS.c.sku.in_(skus)))
    uow.commit()
    return items(uow, user_id)


def view(uow: UnitOfWork, platform: Platform, user_id: str, now: datetime, *,
         order: Mapping[str, Any] | None = None, passthrough: Mapping[str, Any] | None = None) -> CartView:
    """The cart grouped by shop, with the trial's price of the ticked items."""
    held = items(uow, user_id)
    shops: dict[str, list[str]] = {}
    for item in held:
        shops.setdefault(published_sku(uow, item.sku).shop, []).append(item.sku)
    ticked = [Wanted(i.sku, i.quantity) for i in held if i.selected]
    quote = quote_skus(uow, platform, ticked, user_id, now, order=order, passthrough=passthrough) if ticked else None
    return CartView(tuple(held), {shop: tuple(skus) for shop, skus in shops.items()}, quote)
