"""Cart routes (购物车), for the storefront (role `service`) on a user's behalf: add goods,
change a quantity, tick or untick items for checkout, remove them, and view the cart grouped
by shop with the price of the ticked items — the same price trial the product page and the
order use, so the price shown is the price charged. Nothing here moves stock, budget or
coupons: a cart only holds intentions. Goods not on sale cannot be added (422).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from arbiter.api.auth import requires
from arbiter.api.errors import problem_responses
from arbiter.api.flows import MoneyOut, PlatformDep, not_found
from arbiter.api.routes.catalog import AppliedOut, CouponPickOut
from arbiter.platform.cart import service as cart
from arbiter.platform.cart.pricing import MAX_QUANTITY
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys.models import SERVICE
from arbiter.platform.users import service as users

CODE = r"^[\x21-\x7e]+$"
UserId = Annotated[str, Path(min_length=1, max_length=200, pattern=CODE)]
SkuCode = Annotated[str, Path(min_length=1, max_length=200, pattern=CODE)]

ADD_EXAMPLES: dict[str, Any] = {
    "phone": {"summary": "One X1 phone", "value": {"sku": "SKU-PHONE-X1-128", "quantity": 1}},
}
CHANGE_EXAMPLES: dict[str, Any] = {
    "quantity": {"summary": "Two of them", "value": {"quantity": 2}},
    "untick": {"summary": "Keep it, but not in this checkout", "value": {"selected": False}},
}
REMOVE_EXAMPLES: dict[str, Any] = {
    "bought": {"summary": "What was just bought", "value": {"skus": ["SKU-PHONE-X1-128"]}},
}


class AddIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=200, pattern=CODE)
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY, description="Added to what the cart holds already.")


class ChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: int | None = Field(default=None, ge=1, le=MAX_QUANTITY, description="The new quantity.")
    selected: bool | None = Field(default=None, description="Ticked for checkout (勾选) or not.")

    @model_validator(mode="after")
    def _something(self) -> ChangeIn:
        if self.quantity is None and self.selected is None:
            raise ValueError("give a quantity, selected, or both")
        return self


class RemoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    skus: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=1, max_length=cart.MAX_ITEMS)


class ItemOut(BaseModel):
    sku: str
    quantity: int
    selected: bool


class ItemsOut(BaseModel):
    user_id: str
    items: list[ItemOut] = Field(description="In the order they were added.")


class LineOut(BaseModel):
    sku: str
    shop: str
    quantity: int
    list_total: MoneyOut
    payable: MoneyOut


class CartPriceOut(BaseModel):
    list_total: MoneyOut
    payable: MoneyOut
    savings: MoneyOut
    lines: list[LineOut]
    applied: list[AppliedOut]
    coupons: list[CouponPickOut]
    hints: list[str] = Field(description="What would unlock more: 再买 20.00 减 20.00, ...")


class CartOut(BaseModel):
    user_id: str
    items: list[ItemOut]
    shops: dict[str, list[str]] = Field(description="Each shop's SKUs, in the order added.")
    price: CartPriceOut | None = Field(description="The ticked items' price; None when nothing is ticked.")


def items_out(user_id: str, held: list[cart.Item]) -> ItemsOut:
    return ItemsOut(user_id=user_id, items=[ItemOut(sku=i.sku, quantity=i.quantity, selected=i.selected)
                                            for i in held])


def cart_out(user_id: str, view: cart.CartView) -> CartOut:
    price = None
    if view.quote is not None:
        result = view.quote.result
        price = CartPriceOut(
            list_total=MoneyOut.of(result.money(result.list_total)), payable=MoneyOut.of(result.money(result.payable)),
            savings=MoneyOut.of(result.money(result.savings)),
            lines=[LineOut(sku=line.sku, shop=line.shop, quantity=line.quantity,
                           list_total=MoneyOut.of(result.money(line.list_total)),
                           payable=MoneyOut.of(result.money(line.payable))) for line in result.lines],
            applied=[AppliedOut(promotion=a.promotion, display=a.display,
                                discount=MoneyOut.of(result.money(a.discount))) for a in result.applied],
            coupons=[CouponPickOut(promotion=c.promotion, template=c.template, coupon=c.coupon)
                     for c in view.quote.coupons],
            hints=[h.text for h in result.hints])
    return CartOut(user_id=user_id, items=[ItemOut(sku=i.sku, quantity=i.quantity, selected=i.selected)
                                           for i in view.items],
                   shops={shop: list(skus) for shop, skus in view.shops.items()}, price=price)


def _known(uow: UnitOfWork, user_id: str) -> None:
    if users.get_user(uow, user_id) is None:
        raise not_found(f"user {user_id}")


def router() -> APIRouter:
    api = APIRouter(prefix="/users/{user_id}/cart", tags=["cart"])
    moves = problem_responses(401, 403, 404, 409, 413, 422, 429, 500, 503)
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)
    storefront = [requires(SERVICE)]

    @api.get("", summary="The cart, by shop, with the ticked items' price", dependencies=storefront,
             responses=reads)
    def view(user_id: UserId, platform: PlatformDep,
             device_id: Annotated[str | None, Query(min_length=1, max_length=200,
                                                    description="The user's device, for per-device limits.")] = None,
             ip_region: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
             payment_method: Annotated[str | None, Query(min_length=1, max_length=40,
                                                         description="For promotions of a payment method.")] = None,
             ) -> CartOut:
        """Priced now by the live promotions and the coupons the user holds or could claim;
        a preview that reserves nothing."""
        passthrough = {k: v for k, v in (("device_id", device_id), ("ip_region", ip_region)) if v is not None}
        order = {"payment_method": payment_method} if payment_method is not None else None
        with UnitOfWork(platform.db) as uow:
            _known(uow, user_id)
            shown = cart.view(uow, platform, user_id, platform.clock.now(), order=order, passthrough=passthrough)
        return cart_out(user_id, shown)

    @api.post("/items", summary="Put goods in the cart", dependencies=storefront, responses=moves)
    def add(user_id: UserId, body: Annotated[AddIn, Body(openapi_examples=ADD_EXAMPLES)],
            platform: PlatformDep) -> ItemsOut:
        """Adds to the quantity already there (at most 999 of a SKU, 120 SKUs); the item is
        ticked. A SKU not on sale is a 422."""
        with UnitOfWork(platform.db) as uow:
            _known(uow, user_id)
            return items_out(user_id, cart.add(uow, user_id, body.sku, body.quantity, platform.clock.now()))

    @api.put("/items/{sku}", summary="Change an item's quantity or tick", dependencies=storefront,
             responses=moves)
    def change(user_id: UserId, sku: SkuCode, body: Annotated[ChangeIn, Body(openapi_examples=CHANGE_EXAMPLES)],
               platform: PlatformDep) -> ItemsOut:
        """A SKU not in the cart is a 404."""
        with UnitOfWork(platform.db) as uow:
            _known(uow, user_id)
            held = cart.items(uow, user_id)
            if body.quantity is not None:
                held = cart.set_quantity(uow, user_id, sku, body.quantity)
            if body.selected is not None:
                held = cart.select_item(uow, user_id, sku, body.selected)
            return items_out(user_id, held)

    @api.delete("/items/{sku}", summary="Remove an item", dependencies=storefront, responses=moves)
    def remove_one(user_id: UserId, sku: SkuCode, platform: PlatformDep) -> ItemsOut:
        """A SKU not in the cart is a 404."""
        with UnitOfWork(platform.db) as uow:
            _known(uow, user_id)
            if sku not in {i.sku for i in cart.items(uow, user_id)}:
                raise not_found(f"sku {sku} in the cart")
            return items_out(user_id, cart.remove(uow, user_id, [sku]))

    @api.post("/remove", summary="Remove several items", dependencies=storefront, responses=moves)
    def remove_many(user_id: UserId, body: Annotated[RemoveIn, Body(openapi_examples=REMOVE_EXAMPLES)],
                    platform: PlatformDep) -> ItemsOut:
        """SKUs the cart does not hold are ignored."""
        with UnitOfWork(platform.db) as uow:
            _known(uow, user_id)
            return items_out(user_id, cart.remove(uow, user_id, list(body.skus)))

    return api
