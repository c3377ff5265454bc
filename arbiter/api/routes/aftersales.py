"""After-sales routes (售后) for self-operated goods and the platform: a user's request for a
case (refund before shipment, return, exchange, refund only), shipping the goods of a return
back, their cases and an invoice (发票), for the storefront on the user's behalf (role
`service`); the review of the self-operated shops' cases — approve, reject, inspect what came
back (role `operator`; analysts read).

A merchant decides its own shop's cases at `/v1/shops/{shop}/cases/...`: here such a case is
a 409 naming that route, and merchant keys are not admitted. Requesting (a refund before
shipment is refunded at once), approving (refund only is refunded then) and inspecting (a
return is refunded and restocked, an exchange reshipped) move money or stock: they take an
`Idempotency-Key`. A request is also idempotent by its `key`: the same key on the same order
returns the first case.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from arbiter.api.auth import requires
from arbiter.api.dependencies import PrincipalDep
from arbiter.api.errors import problem_responses
from arbiter.api.flows import MoneyOut, PlatformDep, not_found
from arbiter.api.idempotency import IdempotencyDep
from arbiter.errors import Conflict
from arbiter.platform.aftersales import service as aftersales
from arbiter.platform.aftersales.service import CaseView, InvoiceView
from arbiter.platform.cart.pricing import MAX_QUANTITY
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys.models import ANALYST, OPERATOR, SERVICE
from arbiter.platform.orders import records
from arbiter.platform.runtime import Platform

CODE = r"^[\x21-\x7e]+$"
CaseId = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE, description="The case's id (AS…).")]
UserId = Annotated[str, Path(min_length=1, max_length=200, pattern=CODE)]
Word = Annotated[str, Field(min_length=1, max_length=200, pattern=CODE)]
Kind = Literal["refund_before_shipment", "return", "exchange", "refund_only"]

REQUEST_EXAMPLES: dict[str, Any] = {
    "return": {"summary": "Return one phone of a delivered order (退货退款)", "value": {
        "order_id": "P0123456789-1", "user_id": "u-1001", "kind": "return", "lines": [{"line_id": "1", "units": 1}],
        "reason": "不想要了", "key": "as-u-1001-0001"}},
    "before_shipment": {"summary": "Refund the whole order before it ships", "value": {
        "order_id": "P0123456789-1", "user_id": "u-1001", "kind": "refund_before_shipment",
        "reason": "拍错了", "key": "as-u-1001-0002"}},
}
SHIP_BACK_EXAMPLES: dict[str, Any] = {
    "zto": {"summary": "The user sends the phone back with ZTO", "value": {
        "user_id": "u-1001", "carrier": "ZTO", "tracking_no": "ZT1234"}},
}
INVOICE_EXAMPLES: dict[str, Any] = {
    "company": {"summary": "A company invoice with its taxpayer id", "value": {
        "order_id": "P0123456789-1", "user_id": "u-1001", "title": "上海某某科技有限公司",
        "tax_id": "91310000MA1FL8XQ2K"}},
    "person": {"summary": "A personal invoice", "value": {"order_id": "P0123456789-1", "user_id": "u-1001",
                                                         "title": "个人"}},
}
NOTE_EXAMPLES: dict[str, Any] = {"note": {"summary": "With a note", "value": {"note": "screen scratched on arrival"}}}
REJECT_EXAMPLES: dict[str, Any] = {"reject": {"summary": "Refuse, saying why", "value": {
    "note": "the seal is broken and the phone was activated"}}}
INSPECT_EXAMPLES: dict[str, Any] = {
    "passed": {"summary": "The phone came back intact", "value": {"passed": True, "note": "sealed"}},
    "failed": {"summary": "The phone came back damaged", "value": {"passed": False, "note": "cracked screen"}},
}


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line_id: Word
    units: int = Field(ge=1, le=MAX_QUANTITY)


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: str = Field(min_length=1, max_length=64, pattern=CODE, description="The (shop) order's id.")
    user_id: Word = Field(description="The order's user: another user's order is a 404.")
    kind: Kind
    lines: list[LineIn] | None = Field(default=None, min_length=1, max_length=50,
                                       description="Which units; all that are left when omitted.")
    reason: str = Field(min_length=1, max_length=500)
    key: Word = Field(description="The request's own key: the same key on the same order is the same case.")


class ShipBackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: Word
    carrier: Word
    tracking_no: Word


class InvoiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: str = Field(min_length=1, max_length=64, pattern=CODE)
    user_id: Word
    title: str = Field(min_length=1, max_length=200, description="The invoice title (抬头).")
    tax_id: str | None = Field(default=None, pattern=r"^([A-Za-z0-9]{15}|[A-Za-z0-9]{18}|[A-Za-z0-9]{20})$",
                               description="The taxpayer id (税号): 15, 18 or 20 letters and digits.")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=500)


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=500, description="Why the case is rejected.")


class InspectIn(NoteIn):
    passed: bool


class StepOut(BaseModel):
    from_status: str
    to_status: str
    by: str
    note: str


class AftersalesCaseOut(BaseModel):
    id: str
    order_id: str
    user_id: str
    shop: str
    kind: str
    status: str = Field(description="requested, approved, returning, inspecting, refunded, reshipped or rejected.")
    lines: list[tuple[str, int]] = Field(description="(line id, units) the case is about.")
    amount: MoneyOut = Field(description="What is (or was) refunded; 0.00 for an exchange.")
    reason: str
    return_tracking: str | None
    steps: list[StepOut] = Field(description="Every step, oldest first.")


class InvoiceOut(BaseModel):
    order_id: str
    number: str
    title: str
    tax_id: str | None
    amount: MoneyOut = Field(description="What was paid less refunds.")


def case_out(c: CaseView) -> AftersalesCaseOut:
    return AftersalesCaseOut(id=c.id, order_id=c.order_id, user_id=c.user_id, shop=c.shop, kind=c.kind,
                             status=c.status, lines=list(c.lines), amount=MoneyOut.of(c.amount), reason=c.reason,
                             return_tracking=c.return_tracking,
                             steps=[StepOut(from_status=a, to_status=b, by=by, note=note) for a, b, by, note in c.steps])


def invoice_out(i: InvoiceView) -> InvoiceOut:
    return InvoiceOut(order_id=i.order_id, number=i.number, title=i.title, tax_id=i.tax_id,
                      amount=MoneyOut.of(i.amount))


def _self_operated(uow: UnitOfWork, platform: Platform, case_id: str) -> CaseView:
    """A case the platform decides here: a merchant shop's is decided in its back office."""
    found = aftersales.case(uow, case_id)
    if found.shop not in platform.self_operated:
        raise Conflict(f"case {case_id} is shop {found.shop}'s: it is decided at /v1/shops/{found.shop}/cases/{case_id}")
    return found


def _json(model: BaseModel) -> Response:
    return JSONResponse(model.model_dump(mode="json"))


def router() -> APIRouter:
    api = APIRouter(tags=["aftersales"])
    moves = problem_responses(401, 403, 404, 409, 413, 422, 429, 500, 503)
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)

    @api.post("/aftersales/cases", summary="Request after-sales for an order (申请售后)",
              dependencies=[requires(SERVICE)], responses=moves, response_model=AftersalesCaseOut)
    def request(body: Annotated[RequestIn, Body(openapi_examples=REQUEST_EXAMPLES)], platform: PlatformDep,
                once: IdempotencyDep) -> Response:
        """A refund before shipment is approved and refunded in full at once; the other kinds
        wait for the review. Not possible for the order now (virtual goods, outside the 7-day
        window, units already refunded or under another open case): a 409 saying why."""
        def act() -> Response:
            lines = None if body.lines is None else [(x.line_id, x.units) for x in body.lines]
            with UnitOfWork(platform.db) as uow:
                made = aftersales.request(uow, platform, body.order_id, user_id=body.user_id, kind=body.kind,
                                          lines=lines, reason=body.reason, key=body.key, now=platform.clock.now())
            if made.user_id != body.user_id:  # the key of another user's case on the order
                raise not_found(f"order {body.order_id}")
            return _json(case_out(made))
        return once.run(act)

    @api.get("/aftersales/cases", summary="The self-operated shops' cases, oldest first",
             dependencies=[requires(OPERATOR, ANALYST)], responses=reads)
    def list_cases(platform: PlatformDep,
                   status: Annotated[str | None, Query(min_length=1, max_length=24, pattern=CODE)] = None,
                   order_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=CODE)] = None,
                   ) -> list[AftersalesCaseOut]:
        with UnitOfWork(platform.db) as uow:
            return [case_out(c) for shop in sorted(platform.self_operated)
                    for c in aftersales.cases(uow, shop=shop, order_id=order_id, status=status)]

    @api.get("/aftersales/cases/{aftersales_case}", summary="An after-sales case and its steps",
             dependencies=[requires(SERVICE, OPERATOR, ANALYST)], responses=reads)
    def show(aftersales_case: CaseId, platform: PlatformDep,
             user_id: Annotated[str | None, Query(min_length=1, max_length=200, pattern=CODE,
                                                  description="Only if it is this user's.")] = None,
             ) -> AftersalesCaseOut:
        with UnitOfWork(platform.db) as uow:
            return case_out(aftersales.case(uow, aftersales_case, user_id=user_id))

    @api.get("/users/{user_id}/aftersales", summary="A user's after-sales cases, order by order",
             dependencies=[requires(SERVICE, OPERATOR)], responses=reads)
    def of_user(user_id: UserId, platform: PlatformDep) -> list[AftersalesCaseOut]:
        """Their orders oldest first, and each order's cases oldest first."""
        with UnitOfWork(platform.db) as uow:
            return [case_out(c) for order in records.orders_of(uow, user_id=user_id)
                    for c in aftersales.cases(uow, order_id=order.id)]

    @api.post("/aftersales/cases/{aftersales_case}/ship-back", summary="The user ships the goods back (寄回)",
              dependencies=[requires(SERVICE)], responses=moves)
    def ship_back(aftersales_case: CaseId, body: Annotated[ShipBackIn, Body(openapi_examples=SHIP_BACK_EXAMPLES)],
                  platform: PlatformDep) -> AftersalesCaseOut:
        """For an approved return or exchange: the return parcel's carrier and tracking number."""
        with UnitOfWork(platform.db) as uow:
            return case_out(aftersales.ship_back(uow, aftersales_case, user_id=body.user_id, carrier=body.carrier,
                                                 tracking_no=body.tracking_no, now=platform.clock.now()))

    @api.post("/aftersales/invoices", summary="Issue an order's invoice (开发票)", dependencies=[requires(SERVICE)],
              responses=moves)
    def invoice(body: Annotated[InvoiceIn, Body(openapi_examples=INVOICE_EXAMPLES)],
                platform: PlatformDep) -> InvoiceOut:
        """For what was paid less refunds; one per order: asking again returns the first."""
        with UnitOfWork(platform.db) as uow:
            return invoice_out(aftersales.request_invoice(uow, body.order_id, user_id=body.user_id, title=body.title,
                                                          tax_id=body.tax_id, now=platform.clock.now()))

    @api.post("/aftersales/cases/{aftersales_case}/approve", summary="Approve a self-operated case",
              dependencies=[requires(OPERATOR)], responses=moves, response_model=AftersalesCaseOut)
    def approve(aftersales_case: CaseId, body: Annotated[NoteIn, Body(openapi_examples=NOTE_EXAMPLES)],
                principal: PrincipalDep, platform: PlatformDep, once: IdempotencyDep) -> Response:
        """Refund only is refunded now; a return or an exchange waits for the goods to come back."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                found = _self_operated(uow, platform, aftersales_case)
                return _json(case_out(aftersales.approve(uow, platform, aftersales_case, by=principal.key_id,
                                                         note=body.note, now=platform.clock.now(),
                                                         shop=found.shop)))
        return once.run(act)

    @api.post("/aftersales/cases/{aftersales_case}/reject", summary="Reject a self-operated case, saying why",
              dependencies=[requires(OPERATOR)], responses=moves)
    def reject(aftersales_case: CaseId, body: Annotated[RejectIn, Body(openapi_examples=REJECT_EXAMPLES)],
               principal: PrincipalDep, platform: PlatformDep) -> AftersalesCaseOut:
        with UnitOfWork(platform.db) as uow:
            found = _self_operated(uow, platform, aftersales_case)
            return case_out(aftersales.reject(uow, aftersales_case, by=principal.key_id, note=body.note,
                                              now=platform.clock.now(), shop=found.shop))

    @api.post("/aftersales/cases/{aftersales_case}/inspect", summary="Inspect what came back (验货)",
              dependencies=[requires(OPERATOR)], responses=moves, response_model=AftersalesCaseOut)
    def inspect(aftersales_case: CaseId, body: Annotated[InspectIn, Body(openapi_examples=INSPECT_EXAMPLES)],
                principal: PrincipalDep, platform: PlatformDep, once: IdempotencyDep) -> Response:
        """Passed: a return is refunded and its units restocked, an exchange's replacement is
        locked to ship (`POST /v1/fulfillment/orders/{order_id}/ship` with `exchange_case`).
        Failed: the case is rejected."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                found = _self_operated(uow, platform, aftersales_case)
                return _json(case_out(aftersales.inspect(uow, platform, aftersales_case, passed=body.passed,
                                                         by=principal.key_id, note=body.note,
                                                         now=platform.clock.now(), shop=found.shop)))
        return once.run(act)

    return api
