"""Order routes (下单, 订单), for the storefront (role `service`) on a user's behalf: check out
goods bought now or the ticked cart items into a parent order with one order per shop, read
it back, list the user's orders, and cancel one not yet paid. Operators and analysts read.

A checkout is decided once per (user, `key`): the same key again returns the same parent
order, marked `replayed`, and holds nothing more. A checkout the rules refuse is a 200 with
`ok` false and the reason, and leaves nothing behind. Paying is in the payments routes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from arbiter.api.auth import requires
from arbiter.api.errors import problem_responses
from arbiter.api.flows import MoneyOut, PlatformDep
from arbiter.api.idempotency import IdempotencyDep
from arbiter.api.routes.merchants import OrderOut, order_out
from arbiter.platform.cart.pricing import MAX_QUANTITY, Wanted
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys.models import ANALYST, OPERATOR, SERVICE
from arbiter.platform.orders import checkout as checkouts
from arbiter.platform.orders import paying, records
from arbiter.platform.orders.records import ParentView

CODE = r"^[\x21-\x7e]+$"
ParentId = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE, description="The parent order's id.")]
UserId = Annotated[str, Path(min_length=1, max_length=200, pattern=CODE)]
Passthrough = dict[str, str | int | bool]

CHECKOUT_EXAMPLES: dict[str, Any] = {
    "buy_now": {"summary": "Buy one X1 phone now, paid by Alipay", "value": {
        "user_id": "u-1001", "key": "checkout-u-1001-0001", "items": [{"sku": "SKU-PHONE-X1-128", "quantity": 1}],
        "address_id": "addr-1", "payment_method": "alipay", "channel": "app",
        "passthrough": {"device_id": "dev-1001"}}},
    "cart_on_credit": {"summary": "The ticked cart items, in 3 installments on the credit line", "value": {
        "user_id": "u-1001", "key": "checkout-u-1001-0002", "from_cart": True, "address_id": "addr-1",
        "payment_method": "credit", "installments": 3}},
}
CANCEL_EXAMPLES: dict[str, Any] = {
    "user": {"summary": "The user changed their mind", "value": {"user_id": "u-1001"}},
}


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=200, pattern=CODE)
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)


class CheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=200, pattern=CODE)
    key: str = Field(min_length=1, max_length=200, pattern=CODE,
                     description="The checkout's own key: the same key again is the same order.")
    items: list[ItemIn] | None = Field(default=None, min_length=1, max_length=checkouts.MAX_LINES,
                                       description="Goods bought now (立即购买); or `from_cart`.")
    from_cart: bool = Field(default=False, description="Check out the ticked cart items.")
    address_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=CODE,
                                   description="One of the user's addresses, for physical goods.")
    recharge_account: str | None = Field(default=None, min_length=1, max_length=64, pattern=CODE,
                                         description="The phone number topped up, for virtual goods.")
    payment_method: str = Field(default="alipay", pattern="^(" + "|".join(checkouts.METHODS) + ")$")
    channel: str = Field(default="app", pattern="^(" + "|".join(checkouts.CHANNELS) + ")$")
    installments: int | None = Field(default=None, ge=1, le=36, description="The term, paying on credit.")
    passthrough: Passthrough | None = Field(default=None, max_length=20,
                                            description="Request facts the rules read: device_id, ip, ...")

    @model_validator(mode="after")
    def _goods(self) -> CheckoutIn:
        if (self.items is None) == (not self.from_cart):
            raise ValueError("give either items (buy now) or from_cart, not both")
        return self


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=200, pattern=CODE)


class ParentOut(BaseModel):
    id: str
    user_id: str
    kind: str = Field(description="physical or virtual.")
    status: str = Field(description="Its orders' status when they agree, else `mixed`.")
    payable: MoneyOut
    payment_method: str
    installments: int | None
    created_at: datetime
    expires_at: datetime = Field(description="Closed unpaid after this.")
    orders: list[OrderOut]


class CheckoutOut(BaseModel):
    ok: bool
    reason: str | None = Field(description="Why the checkout was refused, when it was.")
    replayed: bool = Field(description="The same key was checked out before: this is that order.")
    order: ParentOut | None


def parent_out(parent: ParentView) -> ParentOut:
    return ParentOut(id=parent.id, user_id=parent.user_id, kind=parent.kind, status=parent.status,
                     payable=MoneyOut.of(parent.payable), payment_method=parent.payment_method,
                     installments=parent.installments, created_at=parent.created_at, expires_at=parent.expires_at,
                     orders=[order_out(o) for o in parent.orders])


def router() -> APIRouter:
    api = APIRouter(tags=["orders"])
    moves = problem_responses(401, 403, 404, 409, 413, 422, 429, 500, 503)
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)

    @api.post("/orders", summary="Check out (下单)", dependencies=[requires(SERVICE)], responses=moves,
              response_model=CheckoutOut)
    def checkout(body: Annotated[CheckoutIn, Body(openapi_examples=CHECKOUT_EXAMPLES)], platform: PlatformDep,
                 once: IdempotencyDep) -> Response:
        """Prices the goods by the live trial, holds the stock, coupons and budgets its price
        spends, and writes one order per shop under a parent order to pay within the
        timeout. Refused (`ok` false): goods not on sale or over a purchase limit, an address
        no warehouse delivers to, the `checkout` scene, a term the trial does not offer."""
        def act() -> Response:
            wanted = None if body.items is None else [Wanted(i.sku, i.quantity) for i in body.items]
            with UnitOfWork(platform.db) as uow:
                done = checkouts.checkout(
                    uow, platform, user_id=body.user_id, items=wanted, from_cart=body.from_cart,
                    address_id=body.address_id, recharge_account=body.recharge_account,
                    payment_method=body.payment_method, channel=body.channel, installments=body.installments,
                    passthrough=body.passthrough, key=body.key, now=platform.clock.now())
            out = CheckoutOut(ok=done.ok, reason=done.reason, replayed=done.replayed,
                              order=None if done.order is None else parent_out(done.order))
            return JSONResponse(out.model_dump(mode="json"))
        return once.run(act)

    @api.get("/orders/{parent_id}", summary="A parent order and its orders",
             dependencies=[requires(SERVICE, OPERATOR, ANALYST)], responses=reads)
    def show(parent_id: ParentId, platform: PlatformDep,
             user_id: Annotated[str | None, Query(min_length=1, max_length=200, pattern=CODE,
                                                  description="Only if it is this user's.")] = None) -> ParentOut:
        with UnitOfWork(platform.db) as uow:
            return parent_out(records.require_parent(uow, parent_id, user_id))

    @api.get("/users/{user_id}/orders", summary="A user's orders, oldest first",
             dependencies=[requires(SERVICE, OPERATOR)], responses=reads)
    def of_user(user_id: UserId, platform: PlatformDep,
                status: Annotated[str | None, Query(min_length=1, max_length=32, pattern=CODE)] = None,
                ) -> list[OrderOut]:
        with UnitOfWork(platform.db) as uow:
            return [order_out(o) for o in records.orders_of(uow, user_id=user_id, status=status)]

    @api.post("/orders/{parent_id}/cancel", summary="Cancel an unpaid order", dependencies=[requires(SERVICE)],
              responses=moves, response_model=ParentOut)
    def cancel(parent_id: ParentId, body: Annotated[CancelIn, Body(openapi_examples=CANCEL_EXAMPLES)],
               platform: PlatformDep, once: IdempotencyDep) -> Response:
        """Its stock, coupons and budgets come back. Cancelling again changes nothing; a paid
        order (409) goes through after-sales instead."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                cancelled = paying.cancel_unpaid(uow, platform, parent_id, user_id=body.user_id,
                                                 now=platform.clock.now())
            return JSONResponse(parent_out(cancelled).model_dump(mode="json"))
        return once.run(act)

    return api
