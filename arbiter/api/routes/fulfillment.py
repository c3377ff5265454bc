"""Fulfillment routes (履约) for self-operated goods and the platform: an order's parcels and
their tracking and the user's confirmation of receipt, for the storefront on the user's
behalf (role `service`); the carriers' logistics events (`service`, the logistics gateway's
key); the warehouse shipping a self-operated order, or an exchange's replacement, and the
completion of orders delivered past the confirmation window (`operator`).

Fulfillment starts by itself when an order is paid (`orders.paying`): the shipments are
opened then, dropship lines pushed to their supplier and virtual goods bought, so there is
no route to start it. A merchant's order ships at `/v1/shops/{shop}/orders/{order_id}/ship`;
here it is a 409 naming that route. Shipping deducts stock: it takes an `Idempotency-Key`,
and shipping again with the same tracking number changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from arbiter.api.auth import requires
from arbiter.api.errors import problem_responses
from arbiter.api.flows import PlatformDep
from arbiter.api.idempotency import IdempotencyDep
from arbiter.api.routes.merchants import OrderOut, order_out
from arbiter.errors import Conflict
from arbiter.platform.db import UnitOfWork
from arbiter.platform.fulfillment import service as fulfillment
from arbiter.platform.fulfillment.service import ShipmentView
from arbiter.platform.keys.models import ANALYST, OPERATOR, SERVICE
from arbiter.platform.orders import records

CODE = r"^[\x21-\x7e]+$"
OrderId = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE, description="The (shop) order's id.")]
Word = Annotated[str, Field(min_length=1, max_length=200, pattern=CODE)]

SHIP_EXAMPLES: dict[str, Any] = {
    "order": {"summary": "The warehouse hands the phone to YTO", "value": {
        "carrier": "YTO", "tracking_no": "YT900800700"}},
    "exchange": {"summary": "The replacement of an exchange", "value": {
        "carrier": "YTO", "tracking_no": "YT-EX-1", "exchange_case": "AS0123456789ABCDEF"}},
}
RECEIPT_EXAMPLES: dict[str, Any] = {
    "user": {"summary": "The user confirms the phone arrived", "value": {"user_id": "u-1001"}},
}
LOGISTICS_EXAMPLES: dict[str, Any] = {
    "delivered": {"summary": "The carrier delivered the parcel", "value": {
        "carrier": "YTO", "tracking_no": "YT900800700", "key": "YT900800700-d", "status": "delivered",
        "note": "signed by the user"}},
    "in_transit": {"summary": "The parcel left the Shanghai hub", "value": {
        "carrier": "YTO", "tracking_no": "YT900800700", "key": "YT900800700-t1", "status": "in_transit",
        "note": "上海转运中心"}},
}


class ShipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    carrier: Word
    tracking_no: Word
    exchange_case: str | None = Field(default=None, min_length=1, max_length=64, pattern=CODE,
                                      description="Ship the replacement of this exchange case instead of the order.")


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: Word = Field(description="The order's user: another user's order is a 404.")


class LogisticsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    carrier: Word
    tracking_no: Word
    key: Word = Field(description="The carrier's event id: the same event again is recorded once.")
    status: Literal["picked_up", "in_transit", "out_for_delivery", "delivered", "exception"]
    note: str = Field(default="", max_length=500)


class EventOut(BaseModel):
    status: str
    note: str


class TrackedShipmentOut(BaseModel):
    id: int
    order_id: str
    route: str = Field(description="warehouse (入仓), dropship (代发) or supplier_realtime (实时采购).")
    purpose: str = Field(description="`order`, or `exchange:<case>` for an exchange's replacement.")
    status: str = Field(description="pending, shipped, delivered, fulfilled or failed.")
    carrier: str | None
    tracking_no: str | None
    lines: list[tuple[str, int]] = Field(description="(line id, units) in this parcel.")
    events: list[EventOut] = Field(description="The logistics events, oldest first.")


class CompletedOut(BaseModel):
    completed: list[str] = Field(description="The orders completed now.")


def tracked_out(s: ShipmentView) -> TrackedShipmentOut:
    return TrackedShipmentOut(id=s.id, order_id=s.order_id, route=s.route, purpose=s.purpose, status=s.status,
                              carrier=s.carrier, tracking_no=s.tracking_no, lines=list(s.lines),
                              events=[EventOut(status=status, note=note) for status, note in s.events])


def router() -> APIRouter:
    api = APIRouter(tags=["fulfillment"])
    moves = problem_responses(401, 403, 404, 409, 413, 422, 429, 500, 503)
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)

    @api.get("/fulfillment/orders/{order_id}/shipments", summary="An order's parcels and their tracking",
             dependencies=[requires(SERVICE, OPERATOR, ANALYST)], responses=reads)
    def shipments(order_id: OrderId, platform: PlatformDep,
                  user_id: Annotated[str | None, Query(min_length=1, max_length=200, pattern=CODE,
                                                       description="Only if it is this user's.")] = None,
                  ) -> list[TrackedShipmentOut]:
        """Each parcel (or real-time purchase) with its carrier, tracking number and logistics
        events; an exchange's replacement is a parcel of its own. Empty before payment."""
        with UnitOfWork(platform.db) as uow:
            records.require_order(uow, order_id, user_id)
            return [tracked_out(s) for s in fulfillment.shipments(uow, order_id)]

    @api.post("/fulfillment/orders/{order_id}/receipt", summary="The user confirms receipt (确认收货)",
              dependencies=[requires(SERVICE)], responses=moves)
    def confirm_receipt(order_id: OrderId, body: Annotated[ReceiptIn, Body(openapi_examples=RECEIPT_EXAMPLES)],
                        platform: PlatformDep) -> OrderOut:
        """A shipped or delivered order completes; confirming again returns it completed. An
        order not shipped yet is a 409."""
        with UnitOfWork(platform.db) as uow:
            return order_out(fulfillment.confirm_receipt(uow, order_id, user_id=body.user_id,
                                                         now=platform.clock.now()))

    @api.post("/fulfillment/logistics", summary="A carrier's logistics event", dependencies=[requires(SERVICE)],
              responses=moves)
    def logistics(body: Annotated[LogisticsIn, Body(openapi_examples=LOGISTICS_EXAMPLES)],
                  platform: PlatformDep) -> TrackedShipmentOut:
        """Recorded on the parcel with this carrier and tracking number (an unknown one is a
        404), once per `key`; `delivered` moves the order to delivered once all its parcels are."""
        with UnitOfWork(platform.db) as uow:
            return tracked_out(fulfillment.logistics(uow, carrier=body.carrier, tracking_no=body.tracking_no,
                                                     key=body.key, status=body.status, note=body.note,
                                                     now=platform.clock.now()))

    @api.post("/fulfillment/orders/{order_id}/ship", summary="Ship a self-operated order from the warehouse",
              dependencies=[requires(OPERATOR)], responses=moves, response_model=TrackedShipmentOut)
    def ship(order_id: OrderId, body: Annotated[ShipIn, Body(openapi_examples=SHIP_EXAMPLES)],
             platform: PlatformDep, once: IdempotencyDep) -> Response:
        """The locked stock is deducted, the tracking number recorded and the order shipped
        (an order paid on credit is financed if the policy finances after shipment). With
        `exchange_case`, the replacement the inspection sent is shipped instead. The same
        tracking number again changes nothing; another one for a shipped parcel is a 409."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                order = records.require_order(uow, order_id)
                if order.shop not in platform.self_operated:
                    raise Conflict(f"order {order_id} is shop {order.shop}'s: its merchant ships it at "
                                   f"/v1/shops/{order.shop}/orders/{order_id}/ship")
                purpose = "order" if body.exchange_case is None else f"exchange:{body.exchange_case}"
                shipped = fulfillment.ship(uow, order_id, carrier=body.carrier, tracking_no=body.tracking_no,
                                           by="warehouse", now=platform.clock.now(), shop=order.shop,
                                           purpose=purpose, platform=platform)
            return JSONResponse(tracked_out(shipped).model_dump(mode="json"))
        return once.run(act)

    @api.post("/fulfillment/complete-delivered", summary="Complete the orders delivered past the window",
              dependencies=[requires(OPERATOR)], responses=moves)
    def complete_delivered(platform: PlatformDep) -> CompletedOut:
        """Orders delivered more than 7 days ago that the user did not confirm complete now
        (the scheduler's job, callable by hand); running it again completes nothing more."""
        with UnitOfWork(platform.db) as uow:
            return CompletedOut(completed=fulfillment.complete_delivered(uow, platform.clock.now()))

    return api
