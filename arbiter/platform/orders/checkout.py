"""Checkout (下单): from a cart or buy-now to a parent order and one order per shop.

In order: the goods must be on sale and within their sales limits; physical goods need an
address of the user's own that a warehouse or the supplier can deliver to, virtual goods a
recharge account; the `checkout` scene may refuse the order; the trial prices the whole cart
again and holds what its price spends (`promotions.pricing.place`, idempotent by the parent
id); the profit guard refuses a line sold below cost without approval. Then the orders are
written with the trial's result as their price snapshot, and `order.created` is emitted.

A refusal is a value (`Checkout.reason`) and leaves nothing behind: holds already taken are
given back. The parent id is derived from the user and the idempotency key, so a retry of
the same checkout finds the same order.

Paying on credit (`payment_method="credit"`) takes a term (`installments`): the checkout
rules then see the user's credit tags, and the installment trial must offer that term for
the order's payable amount (`orders.credit_payment.check_terms`), or the checkout is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from arbiter.engine.pricing import TrialResult
from arbiter.errors import InvalidInput
from arbiter.money import Money
from arbiter.platform.cart import service as cart_service
from arbiter.platform.cart.pricing import (
    Wanted,
    check_quantity,
    published_sku,
    shopping_context,
    trial_cart,
)
from arbiter.platform.catalog import service as catalog
from arbiter.platform.catalog.service import SkuView
from arbiter.platform.columns import utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.inventory import service as inventory
from arbiter.platform.orders import credit_payment, records, states
from arbiter.platform.orders.records import LINES, ORDERS, PARENTS, ParentView
from arbiter.platform.promotions import pricing
from arbiter.platform.runtime import Platform
from arbiter.platform.users import service as users

CHANNELS = ("app", "mini_program", "web", "live_stream")
METHODS = ("alipay", "wechat", "card", "credit", "balance")
MAX_LINES = 100


@dataclass(frozen=True)
class Checkout:
    """The parent order created (or found again for a repeated key), or why not."""

    parent_id: str | None
    order: ParentView | None
    result: TrialResult | None
    replayed: bool = False
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def parent_id_for(user_id: str, key: str) -> str:
    return "P" + hashlib.sha256(f"{user_id}\x00{key}".encode()).hexdigest()[:19].upper()


def _bought_before(uow: UnitOfWork, user_id: str, sku: str) -> int:
    """Units of `sku` the user holds in orders that were not cancelled or closed."""
    total = uow.session.execute(
        select(func.coalesce(func.sum(LINES.c.quantity - LINES.c.refunded_units), 0))
        .select_from(LINES.join(ORDERS, LINES.c.order_id == ORDERS.c.id))
        .where(ORDERS.c.user_id == user_id, LINES.c.sku == sku,
               ORDERS.c.status.not_in((states.CANCELLED, states.CLOSED)))).scalar_one()
    return int(total)


def _order_facts(views: Sequence[tuple[SkuView, int]], *, channel: str, method: str, region: str,
                 address_digest: str, recharge_account: str) -> dict[str, Any]:
    subtotal = sum((v.sale_price * q for v, q in views), Money.zero(views[0][0].sale_price.currency))
    return {
        "amount": subtotal, "subtotal": subtotal, "item_count": sum(q for _, q in views),
        "channel": channel, "payment_method": method, "address_region": region,
        "address": address_digest, "recharge_account": recharge_account,
        "shop": views[0][0].shop if len({v.shop for v, _ in views}) == 1 else "",
        "lines": [{"sku": v.sku, "spu": v.spu, "category": v.category, "brand": v.brand, "shop": v.shop,
                   "quantity": q, "price": v.sale_price, "is_virtual": v.is_virtual} for v, q in views],
    }


def _refusal(decision: Any) -> str | None:
    for effect in decision.effects:
        if effect.name == "reject":
            return str(effect.get("reason") or "refused by the checkout rules")
    return None


def _deliverable(uow: UnitOfWork, views: Sequence[tuple[SkuView, int]], region: str) -> str | None:
    """Goods from our warehouses need one that serves the region (dropship goods are sent by
    their supplier, who delivers anywhere)."""
    if any(not v.is_dropship for v, _ in views) and not inventory.serving(uow, region):
        return f"no warehouse delivers to {region}"
    return None


def checkout(uow: UnitOfWork, platform: Platform, *, user_id: str, items: Sequence[Wanted] | None = None,
             from_cart: bool = False, address_id: str | None = None, recharge_account: str | None = None,
             payment_method: str = "alipay", channel: str = "app", installments: int | None = None,
             passthrough: Mapping[str, Any] | None = None, key: str, now: datetime) -> Checkout:
    """Create the orders for `items` (buy-now) or the ticked cart items (`from_cart`);
    `installments` is the term of an order paid on credit."""
    if not key or len(key) > 200:
        raise InvalidInput("key: an idempotency key of 1 to 200 characters is required")
    parent_id = parent_id_for(user_id, key)
    found = records.parent(uow, parent_id)
    if found is not None:
        placed = pricing.placed(uow, parent_id)
        return Checkout(parent_id, found, None if placed is None else placed.result, replayed=True)
    if payment_method not in METHODS:
        raise InvalidInput(f"payment_method: {payment_method!r} is not one of {', '.join(METHODS)}")
    if channel not in CHANNELS:
        raise InvalidInput(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    term = credit_payment.check_term_value(payment_method, installments)
    if from_cart:
        items = [Wanted(i.sku, i.quantity) for i in cart_service.items(uow, user_id) if i.selected]
    if not items:
        raise InvalidInput("items: nothing to order")
    if len(items) > MAX_LINES:
        raise InvalidInput(f"items: at most {MAX_LINES} lines in one order")
    if len({w.sku for w in items}) != len(items):
        raise InvalidInput("items: each SKU appears once (give its quantity)")
    views = [(published_sku(uow, w.sku), check_quantity(w.quantity, f"quantity of {w.sku}")) for w in items]
    virtual = {v.is_virtual for v, _ in views}
    if len(virtual) > 1:
        raise InvalidInput("items: virtual goods are ordered on their own, not with physical goods")
    kind = states.VIRTUAL if virtual == {True} else states.PHYSICAL

    address: dict[str, Any] | None = None
    region, digest, account = "", "", ""
    if kind == states.PHYSICAL:
        if address_id is None:
            raise InvalidInput("address_id: physical goods need a delivery address")
        found_address = users.address_of(uow, user_id, address_id)
        address = {"name": found_address.name, "phone": found_address.phone, "region": found_address.region,
                   "city": found_address.city, "detail": found_address.detail}
        region = found_address.region
        digest = hashlib.sha256(json.dumps(address, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    else:
        if recharge_account is None:
            raise InvalidInput("recharge_account: a top-up needs the account to recharge")
        account = recharge_account.strip()

    for view, quantity in views:
        refused = catalog.check_purchase(view, quantity=quantity, region=region or None,
                                         bought_before=_bought_before(uow, user_id, view.sku))
        if refused is not None:
            return Checkout(parent_id, None, None, reason=refused)
    if kind == states.PHYSICAL and (refused := _deliverable(uow, views, region)) is not None:
        return Checkout(parent_id, None, None, reason=refused)

    context = shopping_context(uow, user_id, now, passthrough=passthrough)
    context["order"] = _order_facts(views, channel=channel, method=payment_method, region=region,
                                    address_digest=digest, recharge_account=account)
    if term is not None:
        credit_payment.add_facts(uow, context, user_id, now, term)
    decision = platform.decisions.decide("checkout", context, client="order_service", access="embedded")
    if (refused := _refusal(decision)) is not None:
        return Checkout(parent_id, None, None, reason=refused)

    device = (passthrough or {}).get("device_id")
    cart = trial_cart(views, context, user=user_id, device=device)
    placed = pricing.place(uow, platform.ruleset, cart, parent_id, platform.budgets, now)
    if not placed.ok or placed.result is None:
        return Checkout(parent_id, None, placed.result, reason=placed.reason or "the order could not be priced")
    result = placed.result
    by_line = {line.id: line for line in result.lines}
    for index, (view, _quantity) in enumerate(views, start=1):
        cheapest = min(by_line[f"l{index}"].unit_payables)
        if (refused := catalog.check_profit(view, Money(cheapest, result.currency))) is not None:
            pricing.cancel(uow, parent_id, platform.budgets, now)
            uow.commit()
            return Checkout(parent_id, None, result, reason=refused)
    if term is not None and (refused := credit_payment.check_terms(
            uow, platform, user_id=user_id, amount=Money(result.payable, result.currency), order=context["order"],
            shops=len({v.shop for v, _ in views}), installments=term, now=now)) is not None:
        pricing.cancel(uow, parent_id, platform.budgets, now)
        uow.commit()
        return Checkout(parent_id, None, result, reason=refused)

    _write(uow, platform, parent_id, user_id, kind, key, payment_method, views, result, address, region,
           account, now, term)
    written = records.require_parent(uow, parent_id)
    for order in written.orders:
        events.emit(uow, "order.created", order.id, records.event_payload(order), now)
    uow.commit()
    if from_cart:
        cart_service.remove(uow, user_id, [v.sku for v, _ in views])
    return Checkout(parent_id, written, result)


def _write(uow: UnitOfWork, platform: Platform, parent_id: str, user_id: str, kind: str, key: str,
           method: str, views: Sequence[tuple[SkuView, int]], result: TrialResult,
           address: dict[str, Any] | None, region: str, account: str, now: datetime,
           installments: int | None = None) -> None:
    at = utc(now)
    uow.session.execute(insert(PARENTS).values(
        id=parent_id, user_id=user_id, kind=kind, currency=result.currency, payable=result.payable,
        payment_method=method, installments=installments, key=f"{user_id}:{key}", created_at=at,
        expires_at=at + timedelta(minutes=platform.order_timeout_minutes)))
    by_line = {line.id: line for line in result.lines}
    shops = sorted({view.shop for view, _ in views})
    for number, shop in enumerate(shops, start=1):
        order_id = f"{parent_id}-{number}"
        mine = [(f"l{i}", view) for i, (view, _) in enumerate(views, start=1) if view.shop == shop]
        priced = [by_line[line_id] for line_id, _ in mine]
        list_total = sum((p.list_total for p in priced), Decimal(0))
        payable = sum((p.payable for p in priced), Decimal(0))
        uow.session.execute(insert(ORDERS).values(
            id=order_id, parent_id=parent_id, user_id=user_id, shop=shop, kind=kind, status=states.CREATED,
            version=0, currency=result.currency, list_total=list_total, discount=list_total - payable,
            payable=payable, refunded=Decimal(0),
            address=None if address is None else json.dumps(address, ensure_ascii=False),
            region=region or None, recharge_account=account or None, created_at=at, updated_at=at))
        for line_id, view in mine:
            p = by_line[line_id]
            uow.session.execute(insert(LINES).values(
                order_id=order_id, line_id=line_id, sku=view.sku, title=view.title, category=view.category,
                quantity=p.quantity, unit_price=view.sale_price.amount, list_total=p.list_total,
                payable=p.payable, unit_payables=json.dumps([str(u) for u in p.unit_payables]),
                allocations=json.dumps([
                    {"promotion": a.promotion, "amount": str(a.amount), "units": [str(u) for u in a.units],
                     "funding": {f: str(x) for f, x in a.funding}} for a in p.allocations]),
                refunded_units=0))
        uow.session.execute(insert(records.TRANSITIONS).values(
            order_id=order_id, from_status="", to_status=states.CREATED, reason="checkout", by=user_id, at=at))
