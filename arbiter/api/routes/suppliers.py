"""Supplier routes (供应商) for the back office (role `operator`; `analyst` reads): onboarding a
supplier with its contract (入驻: stock purchase, dropship or real-time API), reading suppliers
and a supplier's cost statement (对账单), purchase orders (采购) and their receipt into a
warehouse; and the dropship supplier's callback (role `service`): the carrier and tracking
number of a request it shipped (代发), which records its cost and tells fulfilment.

Onboarding the same supplier again changes nothing; other terms for its code are a 409.
Creating a purchase order, receiving it and uploading tracking move stock or what is owed:
they take an `Idempotency-Key`. Real-time purchases (实时采购) are made by fulfilment itself,
with the supplier's answer in the same call: they have no callback here.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from arbiter.api.auth import requires
from arbiter.api.errors import problem_responses
from arbiter.api.flows import MoneyIn, MoneyOut, PlatformDep, not_found
from arbiter.api.idempotency import IdempotencyDep
from arbiter.errors import InvalidInput
from arbiter.platform.columns import MAX_AMOUNT
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys.models import ANALYST, OPERATOR, SERVICE
from arbiter.platform.suppliers import contracts
from arbiter.platform.suppliers import service as suppliers

CODE = r"^[\x21-\x7e]+$"
RATE = r"^(0(\.\d{1,4})?|1(\.0{1,4})?)$"
LAST_DAY = date(9000, 12, 31)  # a statement's due day must stay a date
Kind = Literal["stock_purchase", "dropship", "realtime_api"]
SupplierId = Annotated[str, Path(min_length=1, max_length=200, pattern=CODE)]
PurchaseOrderId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^PO-\d{1,18}$")]
RequestId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^DS-\d{1,18}$")]

SUPPLIER_EXAMPLES: dict[str, Any] = {
    "stock": {"summary": "A stock-purchase supplier paid 30 days after each statement",
              "value": {"code": "sup-phones", "name": "Phones Trading", "kind": "stock_purchase",
                        "settlement_days": 30, "price_terms": "unit cost per PO line"}},
    "topup": {"summary": "A top-up API supplier: a recharge costs 98.5% of its face value",
              "value": {"code": "sup-topup-2", "name": "Top-up Hub", "kind": "realtime_api",
                        "settlement_days": 7, "cost_rate": "0.985"}},
}
PURCHASE_EXAMPLES: dict[str, Any] = {
    "phones": {"summary": "100 phones at 2600.00 into the Shanghai warehouse",
               "value": {"warehouse": "WH-SH", "lines": [
                   {"sku": "SKU-X1-256", "quantity": 100, "unit_cost": {"amount": "2600.00", "currency": "CNY"}}]}},
}
RECEIVE_EXAMPLES: dict[str, Any] = {"all": {"summary": "Every line arrived", "value": {}}}
TRACKING_EXAMPLES: dict[str, Any] = {
    "sf": {"summary": "Shipped by SF Express", "value": {"carrier": "SF", "tracking_no": "SF1234567890"}},
}


class SupplierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=200, pattern=CODE)
    name: str = Field(min_length=1, max_length=200)
    kind: Kind = Field(description="stock_purchase (入仓), dropship (代发) or realtime_api (实时采购).")
    settlement_days: int = Field(default=30, ge=0, le=contracts.MAX_SETTLEMENT_DAYS,
                                 description="Each statement is paid this many days after its last day.")
    price_terms: str = Field(default="", max_length=2000, description="The price terms in words.")
    cost_rate: str = Field(default="1", pattern=RATE,
                           description="What a real-time purchase costs, a share of its face value: 0.985.")


class ContractOut(BaseModel):
    settlement_days: int
    price_terms: str
    cost_rate: str


class SupplierOut(BaseModel):
    code: str
    name: str
    kind: str
    status: str = Field(description="active or suspended.")
    contract: ContractOut


class PurchaseLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=200, pattern=CODE)
    quantity: int = Field(ge=1, le=100_000)
    unit_cost: MoneyIn = Field(description="Zero or more, whole cents or finer (up to four decimals).")


class PurchaseOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    warehouse: str = Field(min_length=1, max_length=200, pattern=CODE)
    lines: list[PurchaseLineIn] = Field(min_length=1, max_length=200, description="In one currency.")


class ReceiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PurchaseLineOut(BaseModel):
    sku: str
    quantity: int
    unit_cost: MoneyOut


class PurchaseOrderOut(BaseModel):
    id: str
    supplier: str
    warehouse: str
    status: str = Field(description="created or received.")
    lines: list[PurchaseLineOut]
    total: MoneyOut


class TrackingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    carrier: str = Field(min_length=1, max_length=200)
    tracking_no: str = Field(min_length=1, max_length=200, pattern=CODE)


class DropshipLineOut(BaseModel):
    line_id: str
    sku: str
    quantity: int
    unit_cost: MoneyOut


class DropshipOut(BaseModel):
    id: str
    order_id: str
    supplier: str
    status: str = Field(description="pushed or shipped.")
    lines: list[DropshipLineOut]
    address: dict[str, str] = Field(description="As kept: the phone masked.")
    carrier: str | None
    tracking_no: str | None


class StatementLineOut(BaseModel):
    day: date
    kind: str = Field(description="purchase_order, dropship or realtime.")
    reference: str = Field(description="The purchase order, the order shipped, or the top-up's request id.")
    sku: str | None
    quantity: int
    unit_cost: MoneyOut
    amount: MoneyOut


class StatementOut(BaseModel):
    supplier: str
    start: date
    end: date
    lines: list[StatementLineOut]
    total: MoneyOut = Field(description="The lines' sum, rounded to the cent once.")
    due: date = Field(description="When it is to be paid under the contract.")


def _rate(value: Decimal) -> str:
    return format(value.normalize(), "f")


def supplier_out(found: suppliers.SupplierView) -> SupplierOut:
    c = found.contract
    return SupplierOut(code=found.code, name=found.name, kind=found.kind, status=found.status,
                       contract=ContractOut(settlement_days=c.settlement_days, price_terms=c.price_terms,
                                            cost_rate=_rate(c.cost_rate)))


def purchase_out(po: suppliers.PurchaseOrderView) -> PurchaseOrderOut:
    return PurchaseOrderOut(id=po.id, supplier=po.supplier, warehouse=po.warehouse, status=po.status,
                            lines=[PurchaseLineOut(sku=sku, quantity=quantity, unit_cost=MoneyOut.of(cost))
                                   for sku, quantity, cost in po.lines],
                            total=MoneyOut.of(po.total))


def dropship_out(found: suppliers.DropshipRequest) -> DropshipOut:
    return DropshipOut(id=found.id, order_id=found.order_id, supplier=found.supplier, status=found.status,
                       lines=[DropshipLineOut(line_id=x.line_id, sku=x.sku, quantity=x.quantity,
                                              unit_cost=MoneyOut.of(x.unit_cost)) for x in found.lines],
                       address=found.address, carrier=found.carrier, tracking_no=found.tracking_no)


def statement_out(made: suppliers.SupplierStatement) -> StatementOut:
    return StatementOut(supplier=made.supplier, start=made.start, end=made.end, total=MoneyOut.of(made.total),
                        due=made.due, lines=[StatementLineOut(
                            day=x.day, kind=x.kind, reference=x.reference, sku=x.sku, quantity=x.quantity,
                            unit_cost=MoneyOut.of(x.unit_cost), amount=MoneyOut.of(x.amount)) for x in made.lines])


def router() -> APIRouter:
    api = APIRouter(tags=["suppliers"])
    moves = problem_responses(401, 403, 404, 409, 413, 422, 429, 500, 503)
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)
    back_office = [requires(OPERATOR)]
    readers = [requires(OPERATOR, ANALYST)]

    @api.post("/suppliers", summary="Onboard a supplier with its contract (供应商入驻)", dependencies=back_office,
              responses=moves)
    def onboard(body: Annotated[SupplierIn, Body(openapi_examples=SUPPLIER_EXAMPLES)],
                platform: PlatformDep) -> SupplierOut:
        """An active supplier of one kind, with its settlement days, price terms and (for a
        real-time API supplier) cost rate. The same again changes nothing; the same code with
        other terms is a 409."""
        with UnitOfWork(platform.db) as uow:
            suppliers.onboard(uow, body.code, body.name, body.kind, settlement_days=body.settlement_days,
                              price_terms=body.price_terms, cost_rate=Decimal(body.cost_rate),
                              now=platform.clock.now())
            found = suppliers.get_supplier(uow, body.code)
        assert found is not None
        return supplier_out(found)

    @api.get("/suppliers", summary="The suppliers, by code", dependencies=readers, responses=reads)
    def listed(platform: PlatformDep, kind: Annotated[Kind | None, Query(description="Only of this kind.")] = None,
               ) -> list[SupplierOut]:
        with UnitOfWork(platform.db) as uow:
            return [supplier_out(s) for s in contracts.suppliers(uow, kind)]

    @api.get("/suppliers/{supplier_id}", summary="A supplier and its contract", dependencies=readers,
             responses=reads)
    def show(supplier_id: SupplierId, platform: PlatformDep) -> SupplierOut:
        with UnitOfWork(platform.db) as uow:
            found = suppliers.get_supplier(uow, supplier_id)
        if found is None:
            raise not_found(f"supplier {supplier_id}")
        return supplier_out(found)

    @api.get("/suppliers/{supplier_id}/statement", summary="A supplier's costs of a period (对账单)",
             dependencies=readers, responses=reads)
    def statement(supplier_id: SupplierId, platform: PlatformDep,
                  start: Annotated[date, Query(description="The first day (UTC), included.")],
                  end: Annotated[date, Query(description="The last day (UTC), included.")]) -> StatementOut:
        """One line per thing delivered (a purchase order line received, a dropship line
        shipped, a top-up recharged), oldest first; the total to the cent and the day it is
        due under the contract."""
        if end > LAST_DAY:
            raise InvalidInput(f"end: {end} is after {LAST_DAY}")
        with UnitOfWork(platform.db) as uow:
            return statement_out(suppliers.statement(uow, supplier_id, start, end))

    @api.post("/suppliers/{supplier_id}/purchase-orders", summary="Order stock from a supplier (采购单)",
              dependencies=back_office, responses=moves, response_model=PurchaseOrderOut)
    def purchase(supplier_id: SupplierId, body: Annotated[PurchaseOrderIn, Body(openapi_examples=PURCHASE_EXAMPLES)],
                 platform: PlatformDep, once: IdempotencyDep) -> Response:
        """From an active stock-purchase supplier into a warehouse; each call is a new order,
        so send an `Idempotency-Key` to retry safely. Nothing moves until it is received."""
        lines = [(x.sku, x.quantity, x.unit_cost.money()) for x in body.lines]
        for index, (_, quantity, cost) in enumerate(lines):
            if abs(cost.amount) * quantity >= MAX_AMOUNT:
                raise InvalidInput(f"lines[{index}]: {quantity} x {cost.amount} is beyond {MAX_AMOUNT}")

        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                po_id = suppliers.create_purchase_order(uow, supplier_id, body.warehouse, lines,
                                                        platform.clock.now())
                made = suppliers.get_purchase_order(uow, po_id)
            assert made is not None
            return JSONResponse(purchase_out(made).model_dump(mode="json"))
        return once.run(act)

    @api.get("/purchase-orders/{po_id}", summary="A purchase order", dependencies=readers, responses=reads)
    def purchase_order(po_id: PurchaseOrderId, platform: PlatformDep) -> PurchaseOrderOut:
        with UnitOfWork(platform.db) as uow:
            found = suppliers.get_purchase_order(uow, po_id)
        if found is None:
            raise not_found(f"purchase order {po_id}")
        return purchase_out(found)

    @api.post("/purchase-orders/{po_id}/receive", summary="Receive a purchase order into its warehouse (入库)",
              dependencies=back_office, responses=moves, response_model=PurchaseOrderOut)
    def receive(po_id: PurchaseOrderId, body: Annotated[ReceiveIn, Body(openapi_examples=RECEIVE_EXAMPLES)],
                platform: PlatformDep, once: IdempotencyDep) -> Response:
        """Its units into the warehouse's stock, its cost onto the supplier's statement.
        Receiving it again changes nothing."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                received = suppliers.receive_purchase_order(uow, po_id, platform.clock.now())
            return JSONResponse(purchase_out(received).model_dump(mode="json"))
        return once.run(act)

    @api.get("/dropships", summary="An order's dropship requests (代发单)",
             dependencies=[requires(SERVICE, OPERATOR, ANALYST)], responses=reads)
    def of_order(platform: PlatformDep, order_id: Annotated[str, Query(
            min_length=1, max_length=200, pattern=CODE, description="The order pushed to its suppliers.")],
                 ) -> list[DropshipOut]:
        with UnitOfWork(platform.db) as uow:
            return [dropship_out(d) for d in suppliers.dropships_of(uow, order_id)]

    @api.get("/dropships/{request_id}", summary="A dropship request", dependencies=[
        requires(SERVICE, OPERATOR, ANALYST)], responses=reads)
    def dropship(request_id: RequestId, platform: PlatformDep) -> DropshipOut:
        with UnitOfWork(platform.db) as uow:
            found = suppliers.get_dropship(uow, request_id)
        if found is None:
            raise not_found(f"dropship request {request_id}")
        return dropship_out(found)

    @api.post("/dropships/{request_id}/tracking", summary="The supplier shipped it: carrier and tracking number",
              dependencies=[requires(SERVICE)], responses=moves, response_model=DropshipOut)
    def tracking(request_id: RequestId, body: Annotated[TrackingIn, Body(openapi_examples=TRACKING_EXAMPLES)],
                 platform: PlatformDep, once: IdempotencyDep) -> Response:
        """The supplier's callback: the request is shipped, each line's cost goes onto the
        supplier's statement and fulfilment is told (`supplier.dropship_shipped`). The same
        upload again changes nothing; another tracking number afterwards is a 409."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                shipped = suppliers.upload_tracking(uow, request_id, body.carrier, body.tracking_no,
                                                    platform.clock.now())
            return JSONResponse(dropship_out(shipped).model_dump(mode="json"))
        return once.run(act)

    return api
