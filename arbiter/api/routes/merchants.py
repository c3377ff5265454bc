"""Merchants routes (商户管理): onboarding and the lifecycle for the platform (`operator`; the
merchant portal applies as `service`; `analyst` reads), and the merchant's own back office
under `/v1/shops/{shop}` (role `merchant` for its own shop only, and `operator`).

The back office runs the `operations` use cases with the actor of the shop's merchant: the
shop is read from the merchant's record, and a merchant key whose shop is not the path's
sees a 404, as does anything (goods, orders, cases, statements) of another shop. Calls that
move money or stock (deposit, stock receipts, withdrawals) take an `Idempotency-Key`; the
deposit is also idempotent by its receipt, stock and withdrawals by their `key`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from arbiter.api.auth import Principal, requires
from arbiter.api.dependencies import PrincipalDep, ServicesDep
from arbiter.api.errors import ApiProblem, problem_responses
from arbiter.api.flows import MoneyIn, MoneyOut, PlatformDep, not_found, shop_of
from arbiter.api.idempotency import IdempotencyDep
from arbiter.api.routes.settlement import (
    BalancesOut,
    StatementOut,
    WithdrawalOut,
    balances_out,
    statement_out,
    withdrawal_out,
)
from arbiter.money import CENT
from arbiter.platform.aftersales.service import CaseView
from arbiter.platform.catalog.service import SkuSpec, SkuView, SpuSpec
from arbiter.platform.db import UnitOfWork
from arbiter.platform.fulfillment.service import ShipmentView
from arbiter.platform.keys.models import ANALYST, MERCHANT, OPERATOR, SERVICE
from arbiter.platform.merchants import operations as ops
from arbiter.platform.merchants import service as merchants
from arbiter.platform.merchants.scores import Score
from arbiter.platform.orders.records import OrderView
from arbiter.platform.promotions import lifecycle, registration
from arbiter.platform.promotions.coupons import SHOP, TemplateSpec
from arbiter.platform.promotions.registration import Registration, RegistrationResult

Code = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.\-@:]+$")]
Word = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.\-@:]+$")]
Text = Annotated[str, Field(min_length=1, max_length=200)]

APPLY_EXAMPLES: dict[str, Any] = {"enterprise": {"summary": "A clothing company applies for its shop", "value": {
    "merchant_id": "m-example", "name": "衣橱服饰有限公司", "type": "enterprise", "shop": "shop-example-001",
    "shop_name": "衣橱时装", "categories": ["dress"], "qualifications": {"business_license": "91310000MA1FL8XQ2K"}}}}
REVIEW_EXAMPLES: dict[str, Any] = {
    "approve": {"summary": "Approve", "value": {"approve": True, "reasons": ["licence verified"]}},
    "reject": {"summary": "Reject, saying why", "value": {"approve": False, "reasons": ["licence expired"]}},
}
DEPOSIT_EXAMPLES: dict[str, Any] = {"receipt": {"summary": "The clearing institution's receipt", "value": {
    "amount": {"amount": "10000.00", "currency": "CNY"}, "reference": "CLR-DEP-0001"}}}
REASON_EXAMPLES: dict[str, Any] = {"reason": {"summary": "Why", "value": {"reason": "counterfeit complaints"}}}
CLOSE_EXAMPLES: dict[str, Any] = {"close": {"summary": "Close, no claims", "value": {"reason": "the merchant asked"}}}
WAREHOUSE_EXAMPLES: dict[str, Any] = {"warehouse": {"summary": "The shop's warehouse in Shanghai", "value": {
    "name": "衣橱时装发货仓", "region": "上海", "serves": ["上海", "江苏", "浙江"]}}}
PRODUCT_EXAMPLES: dict[str, Any] = {"dress": {"summary": "A dress (SPU)", "value": {
    "spu": "SPU-DRESS-1", "title": "真丝连衣裙", "category": "dress", "description": "a silk dress"}}}
GOODS_EXAMPLES: dict[str, Any] = {"dress": {"summary": "A variant (SKU) of the dress", "value": {
    "sku": "SKU-DRESS-1", "spu": "SPU-DRESS-1", "list_price": {"amount": "259.00"},
    "sale_price": {"amount": "199.00"}, "cost": {"amount": "90.00"}, "specs": {"size": "M"}}}}
STOCK_EXAMPLES: dict[str, Any] = {"batch": {"summary": "50 dresses arrive", "value": {
    "quantity": 50, "key": "first-batch"}}}
ACTION_EXAMPLES: dict[str, Any] = {"pause": {"summary": "Pause a shop promotion", "value": {
    "action": "pause", "why": "out of stock"}}}
COUPON_EXAMPLES: dict[str, Any] = {"coupon": {"summary": "满199减20, valid 7 days after claiming", "value": {
    "display": "店铺券 满199减20", "threshold": {"amount": "199.00"}, "value": {"amount": "20.00"},
    "days_after_claim": 7, "claim_limit": 1}}}
REGISTER_EXAMPLES: dict[str, Any] = {"register": {"summary": "Nominate a dress into a platform promotion",
                                                  "value": {"promotion": "double11_flash", "sku": "SKU-DRESS-1"}}}
SHIP_EXAMPLES: dict[str, Any] = {"ship": {"summary": "Shipped with SF", "value": {
    "carrier": "SF", "tracking_no": "SF1234567890"}}}
NOTE_EXAMPLES: dict[str, Any] = {"note": {"summary": "With a note", "value": {"note": "refund one dress"}}}
INSPECT_EXAMPLES: dict[str, Any] = {"passed": {"summary": "The return arrived intact", "value": {
    "passed": True, "note": "tags on"}}}
WITHDRAW_EXAMPLES: dict[str, Any] = {"payout": {"summary": "Withdraw 100.00", "value": {
    "amount": {"amount": "100.00", "currency": "CNY"}, "key": "payout-2026-11-17"}}}


# -- requests ----------------------------------------------------------------------------------


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    merchant_id: Word
    name: Text
    type: Literal["individual", "enterprise", "brand_flagship"]
    shop: Word = Field(description="The shop code: letters, digits, `_ . - @`.")
    shop_name: Text
    categories: list[Word] = Field(min_length=1, max_length=50)
    qualifications: dict[str, Word] = Field(max_length=20, description="Name to document reference.")
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    reasons: list[Text] = Field(default_factory=list, max_length=20)


class DepositIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: MoneyIn
    reference: Word = Field(description="The clearing institution's receipt.")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text


class CloseIn(ReasonIn):
    claims: MoneyIn | None = Field(default=None, description="Claims against the shop, paid from its deposit.")


class WarehouseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text
    region: Text
    serves: list[Text] = Field(min_length=1, max_length=100)


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spu: Word
    title: Text
    category: Word
    brand: Word | None = None
    description: str = Field(default="", max_length=2000)


class GoodsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Word
    spu: Word
    list_price: MoneyIn
    sale_price: MoneyIn
    cost: MoneyIn
    specs: dict[str, Text] = Field(default_factory=dict, max_length=20)
    max_per_user: int | None = Field(default=None, ge=1, le=1_000_000)


class StockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: int = Field(ge=1, le=1_000_000)
    key: Word = Field(description="The receipt's id: the same key again is received once.")


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["submit", "withdraw", "pause", "resume", "end"]
    why: str = Field(default="", max_length=200)


class CouponIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display: Text
    threshold: MoneyIn
    value: MoneyIn
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    days_after_claim: int | None = Field(default=None, ge=1, le=3650)
    claim_limit: int | None = Field(default=1, ge=0, le=1_000_000)
    stock: int | None = Field(default=None, ge=0, le=100_000_000)


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    promotion: Word
    sku: Word


class ShipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    carrier: Word
    tracking_no: Word


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=500)


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Text = Field(description="Why the case is rejected.")


class InspectIn(NoteIn):
    passed: bool


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: MoneyIn
    key: Word = Field(description="The withdrawal's id: the same key again is the same withdrawal.")


# -- responses ---------------------------------------------------------------------------------


class MerchantOut(BaseModel):
    id: str
    name: str
    type: str
    status: str
    shop: str
    shop_name: str
    categories: list[str]
    qualifications: dict[str, str]
    deposit: MoneyOut = Field(description="The deposit its type requires.")
    opened_at: datetime | None


class ChangeOut(BaseModel):
    from_status: str | None
    to_status: str
    reason: str
    by: str
    at: datetime


class ClosingOut(BaseModel):
    merchant: str
    claims: MoneyOut
    deposit_returned: MoneyOut
    paid_out: MoneyOut


class ScoreOut(BaseModel):
    shop: str
    score: str
    shipping_hours: str | None
    aftersales_rate: str | None
    rating: str | None
    orders: int
    shipped: int
    cases: int
    ratings: int
    computed_at: datetime


class SkuOut(BaseModel):
    sku: str
    spu: str
    shop: str
    title: str
    category: str
    status: str
    list_price: MoneyOut
    sale_price: MoneyOut
    cost: MoneyOut
    specs: dict[str, str]


class StockOut(BaseModel):
    sku: str
    on_hand: int
    locked: int
    received: bool | None = Field(default=None, description="False when the receipt's key was seen before.")


class CouponOut(BaseModel):
    code: str
    display: str
    scope: str
    threshold: MoneyOut
    value: MoneyOut | None
    days_after_claim: int | None
    claim_limit: int | None
    stock: int | None


class RegistrationOut(BaseModel):
    promotion: str
    shop: str
    sku: str
    status: str | None
    reason: str | None = None
    registered_at: datetime | None = None
    reviewed_by: str | None = None


class LineOut(BaseModel):
    line_id: str
    sku: str
    title: str
    quantity: int
    unit_price: MoneyOut
    payable: MoneyOut
    refunded_units: int


class OrderOut(BaseModel):
    id: str
    shop: str
    status: str
    list_total: MoneyOut
    discount: MoneyOut
    payable: MoneyOut
    refunded: MoneyOut
    region: str | None
    created_at: datetime
    paid_at: datetime | None
    lines: list[LineOut]


class ShipmentOut(BaseModel):
    order_id: str
    status: str
    carrier: str | None
    tracking_no: str | None
    lines: list[tuple[str, int]]


class CaseOut(BaseModel):
    id: str
    order_id: str
    shop: str
    kind: str
    status: str
    lines: list[tuple[str, int]]
    amount: MoneyOut
    reason: str
    return_tracking: str | None


class StatisticsOut(BaseModel):
    shop: str
    goods_on_sale: int
    orders: dict[str, int]
    sales: MoneyOut
    refunded: MoneyOut
    cases: dict[str, int]
    score: ScoreOut | None
    balances: BalancesOut


# -- views -------------------------------------------------------------------------------------


def _dec(value: Decimal | None, places: Decimal = CENT) -> str | None:
    """Fixed places, as the score defines them (stores may drop or pad zeros)."""
    return None if value is None else str(value.quantize(places))


def merchant_out(m: merchants.MerchantView) -> MerchantOut:
    return MerchantOut(id=m.id, name=m.name, type=m.type, status=m.status, shop=m.shop, shop_name=m.shop_name,
                       categories=list(m.categories), qualifications=m.qualifications,
                       deposit=MoneyOut.of(m.deposit), opened_at=m.opened_at)


def score_out(s: Score) -> ScoreOut:
    return ScoreOut(shop=s.shop, score=str(s.score.quantize(CENT)), shipping_hours=_dec(s.shipping_hours),
                    aftersales_rate=_dec(s.aftersales_rate, Decimal("0.0001")), rating=_dec(s.rating), orders=s.orders,
                    shipped=s.shipped, cases=s.cases, ratings=s.ratings, computed_at=s.computed_at)


def sku_out(s: SkuView) -> SkuOut:
    return SkuOut(sku=s.sku, spu=s.spu, shop=s.shop, title=s.title, category=s.category, status=s.status,
                  list_price=MoneyOut.of(s.list_price), sale_price=MoneyOut.of(s.sale_price),
                  cost=MoneyOut.of(s.cost), specs=s.specs)


def coupon_out(t: TemplateSpec) -> CouponOut:
    return CouponOut(code=t.code, display=t.display, scope=t.scope, threshold=MoneyOut.of(t.threshold),
                     value=None if t.value is None else MoneyOut.of(t.value), days_after_claim=t.days_after_claim,
                     claim_limit=t.claim_limit, stock=t.stock)


def registration_out(r: Registration | RegistrationResult) -> RegistrationOut:
    if isinstance(r, Registration):
        return RegistrationOut(promotion=r.promotion, shop=r.shop, sku=r.sku, status=r.status, reason=r.reason,
                               registered_at=r.registered_at, reviewed_by=r.reviewed_by)
    return RegistrationOut(promotion=r.promotion, shop=r.shop, sku=r.sku, status=r.status, reason=r.reason)


def order_out(o: OrderView) -> OrderOut:
    return OrderOut(id=o.id, shop=o.shop, status=o.status, list_total=MoneyOut.of(o.list_total),
                    discount=MoneyOut.of(o.discount), payable=MoneyOut.of(o.payable),
                    refunded=MoneyOut.of(o.refunded), region=o.region, created_at=o.created_at, paid_at=o.paid_at,
                    lines=[LineOut(line_id=x.line_id, sku=x.sku, title=x.title, quantity=x.quantity,
                                   unit_price=MoneyOut.of(x.unit_price), payable=MoneyOut.of(x.payable),
                                   refunded_units=x.refunded_units) for x in o.lines])


def shipment_out(s: ShipmentView) -> ShipmentOut:
    return ShipmentOut(order_id=s.order_id, status=s.status, carrier=s.carrier, tracking_no=s.tracking_no,
                       lines=list(s.lines))


def case_out(c: CaseView) -> CaseOut:
    return CaseOut(id=c.id, order_id=c.order_id, shop=c.shop, kind=c.kind, status=c.status, lines=list(c.lines),
                   amount=MoneyOut.of(c.amount), reason=c.reason, return_tracking=c.return_tracking)


def _actor(uow: UnitOfWork, principal: Principal, shop: str) -> ops.MerchantActor:
    """The actor of the shop's merchant: a merchant key only for its own shop; a shop no
    merchant owns is a 404."""
    shop_of(principal, shop)
    owner = merchants.merchant_of_shop(uow, shop)
    if owner is None:
        raise not_found(f"shop {shop}")
    return ops.acting(uow, owner.id, staff=principal.key_id)


def _json(model: BaseModel) -> Response:
    return JSONResponse(model.model_dump(mode="json"))


def router() -> APIRouter:  # noqa: C901, PLR0915 - one route per function below
    api = APIRouter(tags=["merchants"])
    moves = problem_responses(401, 403, 404, 409, 413, 422, 429, 500, 503)
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)
    back_office = [requires(MERCHANT, OPERATOR)]

    # -- onboarding and lifecycle (the platform) ---------------------------------------------

    @api.post("/merchants", summary="Apply to open a shop (入驻)", dependencies=[requires(SERVICE, OPERATOR)],
              responses=moves)
    def apply(body: Annotated[ApplyIn, Body(openapi_examples=APPLY_EXAMPLES)], platform: PlatformDep) -> MerchantOut:
        """The application from the merchant portal; the same one again returns it, a rejected
        merchant may apply again."""
        with UnitOfWork(platform.db) as uow:
            return merchant_out(merchants.apply(
                uow, body.merchant_id, name=body.name, type=body.type, shop=body.shop, shop_name=body.shop_name,
                categories=body.categories, qualifications=body.qualifications, now=platform.clock.now(),
                currency=body.currency))

    @api.get("/merchants/{merchant_id}", summary="A merchant", dependencies=[requires(OPERATOR, ANALYST)],
             responses=reads)
    def get_merchant(merchant_id: Code, platform: PlatformDep) -> MerchantOut:
        with UnitOfWork(platform.db) as uow:
            return merchant_out(merchants.merchant(uow, merchant_id))

    @api.post("/merchants/{merchant_id}/review", summary="Approve or reject an application",
              dependencies=[requires(OPERATOR)], responses=moves)
    def review(merchant_id: Code, body: Annotated[ReviewIn, Body(openapi_examples=REVIEW_EXAMPLES)],
               principal: PrincipalDep, platform: PlatformDep) -> MerchantOut:
        with UnitOfWork(platform.db) as uow:
            return merchant_out(merchants.review(uow, merchant_id, approve=body.approve, reasons=body.reasons,
                                                 by=principal.key_id, now=platform.clock.now()))

    @api.post("/merchants/{merchant_id}/deposit", summary="Record the deposit's receipt (保证金)",
              dependencies=[requires(OPERATOR)], responses=moves)
    def pay_deposit(merchant_id: Code, body: Annotated[DepositIn, Body(openapi_examples=DEPOSIT_EXAMPLES)],
                    platform: PlatformDep, once: IdempotencyDep) -> Response:
        """The deposit arrived at the clearing institution: the shop opens. The same receipt
        again changes nothing; another receipt is a 409."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                return _json(merchant_out(merchants.pay_deposit(uow, merchant_id, amount=body.amount.money(),
                                                                reference=body.reference, now=platform.clock.now())))
        return once.run(act)

    def _status(merchant_id: str, to: str, reason: str, principal: Principal, platform: Any) -> MerchantOut:
        with UnitOfWork(platform.db) as uow:
            return merchant_out(merchants.change_status(uow, merchant_id, to, reason=reason, by=principal.key_id,
                                                        now=platform.clock.now()))

    @api.post("/merchants/{merchant_id}/restrict", summary="Restrict a shop (no publishing)",
              dependencies=[requires(OPERATOR)], responses=moves)
    def restrict(merchant_id: Code, body: Annotated[ReasonIn, Body(openapi_examples=REASON_EXAMPLES)],
                 principal: PrincipalDep, platform: PlatformDep) -> MerchantOut:
        return _status(merchant_id, merchants.RESTRICTED, body.reason, principal, platform)

    @api.post("/merchants/{merchant_id}/suspend", summary="Suspend a shop (no selling: its goods go off sale)",
              dependencies=[requires(OPERATOR)], responses=moves)
    def suspend(merchant_id: Code, body: Annotated[ReasonIn, Body(openapi_examples=REASON_EXAMPLES)],
                principal: PrincipalDep, platform: PlatformDep) -> MerchantOut:
        return _status(merchant_id, merchants.SUSPENDED, body.reason, principal, platform)

    @api.post("/merchants/{merchant_id}/reopen", summary="Make a restricted or suspended shop active again",
              dependencies=[requires(OPERATOR)], responses=moves)
    def reopen(merchant_id: Code, body: Annotated[ReasonIn, Body(openapi_examples=REASON_EXAMPLES)],
               principal: PrincipalDep, platform: PlatformDep) -> MerchantOut:
        return _status(merchant_id, merchants.ACTIVE, body.reason, principal, platform)

    @api.post("/merchants/{merchant_id}/close", summary="Close a shop, returning its deposit net of claims",
              dependencies=[requires(OPERATOR)], responses=moves)
    def close(merchant_id: Code, body: Annotated[CloseIn, Body(openapi_examples=CLOSE_EXAMPLES)],
              principal: PrincipalDep, services: ServicesDep, platform: PlatformDep, once: IdempotencyDep) -> Response:
        """A 409 saying why while orders wait for settlement or cases are open."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                done = merchants.close(uow, merchant_id, reason=body.reason, by=principal.key_id,
                                       now=platform.clock.now(), clearing=services.clearing,
                                       claims=None if body.claims is None else body.claims.money())
            if not done.ok:
                raise ApiProblem(409, "merchants.close.refused", "The shop cannot close", done.reason or "refused")
            return _json(ClosingOut(merchant=done.merchant, claims=MoneyOut.of(done.claims),
                                    deposit_returned=MoneyOut.of(done.deposit_returned),
                                    paid_out=MoneyOut.of(done.paid_out)))
        return once.run(act)

    @api.get("/merchants/{merchant_id}/history", summary="A merchant's status changes",
             dependencies=[requires(OPERATOR, ANALYST)], responses=reads)
    def history(merchant_id: Code, platform: PlatformDep) -> list[ChangeOut]:
        with UnitOfWork(platform.db) as uow:
            merchants.merchant(uow, merchant_id)
            return [ChangeOut(from_status=c.from_status, to_status=c.to_status, reason=c.reason, by=c.by, at=c.at)
                    for c in merchants.history(uow, merchant_id)]

    @api.get("/merchants/{merchant_id}/score", summary="A merchant's shop score (店铺评分)",
             dependencies=[requires(OPERATOR, ANALYST)], responses=reads)
    def merchant_score(merchant_id: Code, platform: PlatformDep) -> ScoreOut:
        with UnitOfWork(platform.db) as uow:
            found = merchants.score_of(uow, merchants.merchant(uow, merchant_id).shop)
        if found is None:
            raise not_found(f"a score of merchant {merchant_id}")
        return score_out(found)

    # -- the back office: goods and stock ----------------------------------------------------

    @api.get("/shops/{shop}/score", summary="The shop's score", dependencies=[requires(MERCHANT, OPERATOR, ANALYST)],
             responses=reads)
    def shop_score(shop: Code, principal: PrincipalDep, platform: PlatformDep) -> ScoreOut:
        with UnitOfWork(platform.db) as uow:
            actor = _actor(uow, principal, shop)
            found = merchants.score_of(uow, actor.shop)
        if found is None:
            raise not_found(f"a score of shop {shop}")
        return score_out(found)

    @api.post("/shops/{shop}/warehouse", summary="Open the shop's warehouse", dependencies=back_office,
              responses=moves)
    def open_warehouse(shop: Code, body: Annotated[WarehouseIn, Body(openapi_examples=WAREHOUSE_EXAMPLES)],
                       principal: PrincipalDep, platform: PlatformDep) -> dict[str, str]:
        with UnitOfWork(platform.db) as uow:
            code = ops.open_warehouse(uow, _actor(uow, principal, shop), name=body.name, region=body.region,
                                      serves=body.serves)
        return {"warehouse": code}

    @api.post("/shops/{shop}/products", summary="Create a product (SPU) in the shop's categories",
              dependencies=back_office, responses=moves)
    def create_product(shop: Code, body: Annotated[ProductIn, Body(openapi_examples=PRODUCT_EXAMPLES)],
                       principal: PrincipalDep, platform: PlatformDep) -> dict[str, str]:
        with UnitOfWork(platform.db) as uow:
            actor = _actor(uow, principal, shop)
            spu = ops.create_product(uow, actor, SpuSpec(body.spu, actor.shop, body.title, body.category,
                                                         body.brand, body.description))
        return {"spu": spu}

    @api.post("/shops/{shop}/goods", summary="Create a draft SKU of one of the shop's products",
              dependencies=back_office, responses=moves)
    def create_goods(shop: Code, body: Annotated[GoodsIn, Body(openapi_examples=GOODS_EXAMPLES)],
                     principal: PrincipalDep, platform: PlatformDep) -> SkuOut:
        with UnitOfWork(platform.db) as uow:
            actor = _actor(uow, principal, shop)
            code = ops.create_variant(uow, actor, SkuSpec(
                body.sku, body.spu, body.list_price.money(), body.sale_price.money(), body.cost.money(),
                body.specs, max_per_user=body.max_per_user))
            return sku_out(ops.sku(uow, actor, code))

    @api.get("/shops/{shop}/goods", summary="The shop's goods", dependencies=back_office, responses=reads)
    def list_goods(shop: Code, principal: PrincipalDep, platform: PlatformDep,
                   status: Annotated[str | None, Query(max_length=40)] = None) -> list[SkuOut]:
        with UnitOfWork(platform.db) as uow:
            return [sku_out(s) for s in ops.goods(uow, _actor(uow, principal, shop), status=status)]

    @api.get("/shops/{shop}/goods/{sku}", summary="One of the shop's SKUs", dependencies=back_office,
             responses=reads)
    def get_goods(shop: Code, sku: Code, principal: PrincipalDep, platform: PlatformDep) -> SkuOut:
        with UnitOfWork(platform.db) as uow:
            return sku_out(ops.sku(uow, _actor(uow, principal, shop), sku))

    @api.post("/shops/{shop}/goods/{sku}/publish", summary="Put a SKU on sale (上架)", dependencies=back_office,
              responses=moves)
    def publish(shop: Code, sku: Code, principal: PrincipalDep, platform: PlatformDep) -> SkuOut:
        with UnitOfWork(platform.db) as uow:
            return sku_out(ops.publish(uow, _actor(uow, principal, shop), sku, platform.clock.now()))

    @api.post("/shops/{shop}/goods/{sku}/unpublish", summary="Take a SKU off sale (下架)", dependencies=back_office,
              responses=moves)
    def unpublish(shop: Code, sku: Code, principal: PrincipalDep, platform: PlatformDep) -> SkuOut:
        with UnitOfWork(platform.db) as uow:
            return sku_out(ops.unpublish(uow, _actor(uow, principal, shop), sku, platform.clock.now()))

    @api.post("/shops/{shop}/goods/{sku}/stock", summary="Receive stock into the shop's warehouse",
              dependencies=back_office, responses=moves)
    def receive_stock(shop: Code, sku: Code, body: Annotated[StockIn, Body(openapi_examples=STOCK_EXAMPLES)],
                      principal: PrincipalDep, platform: PlatformDep, once: IdempotencyDep) -> Response:
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                actor = _actor(uow, principal, shop)
                received = ops.receive_stock(uow, actor, sku, body.quantity, key=body.key, now=platform.clock.now())
                on_hand, locked = ops.stock(uow, actor, sku)
            return _json(StockOut(sku=sku, on_hand=on_hand, locked=locked, received=received))
        return once.run(act)

    @api.get("/shops/{shop}/goods/{sku}/stock", summary="A SKU's stock in the shop's warehouse",
             dependencies=back_office, responses=reads)
    def get_stock(shop: Code, sku: Code, principal: PrincipalDep, platform: PlatformDep) -> StockOut:
        with UnitOfWork(platform.db) as uow:
            on_hand, locked = ops.stock(uow, _actor(uow, principal, shop), sku)
        return StockOut(sku=sku, on_hand=on_hand, locked=locked)

    # -- promotions ----------------------------------------------------------------------------

    @api.get("/shops/{shop}/promotions", summary="The shop's promotions and their status",
             dependencies=back_office, responses=reads)
    def shop_promotions(shop: Code, principal: PrincipalDep, platform: PlatformDep) -> dict[str, str]:
        with UnitOfWork(platform.db) as uow:
            return ops.shop_promotions(uow, _actor(uow, principal, shop), platform.ruleset.program,
                                       platform.clock.now())

    @api.post("/shops/{shop}/promotions/{promotion}/actions", summary="Submit, withdraw, pause, resume or end",
              dependencies=back_office, responses=moves)
    def promotion_action(shop: Code, promotion: Code, body: Annotated[ActionIn, Body(openapi_examples=ACTION_EXAMPLES)],
                         principal: PrincipalDep, platform: PlatformDep) -> dict[str, str | None]:
        """A move the promotion's lifecycle refuses is a 409 saying why."""
        with UnitOfWork(platform.db) as uow:
            done = ops.promotion_action(uow, _actor(uow, principal, shop), platform.ruleset.program, promotion,
                                        body.action, now=platform.clock.now(), why=body.why)
        if done.reason == lifecycle.UNKNOWN_PROMOTION:
            raise not_found(f"promotion {promotion} of shop {shop}")
        if not done.ok:
            raise ApiProblem(409, "merchants.promotion.refused", "The promotion cannot move", done.reason or "refused")
        return {"promotion": done.promotion, "action": done.action, "status": done.status}

    @api.get("/shops/{shop}/coupons", summary="The shop's coupons (店铺券)", dependencies=back_office,
             responses=reads)
    def shop_coupons(shop: Code, principal: PrincipalDep, platform: PlatformDep) -> list[CouponOut]:
        with UnitOfWork(platform.db) as uow:
            return [coupon_out(t) for t in ops.coupons(uow, _actor(uow, principal, shop), platform.ruleset.program)]

    @api.put("/shops/{shop}/coupons/{code}", summary="Define a shop coupon for the shop's promotions",
             dependencies=back_office, responses=moves)
    def define_coupon(shop: Code, code: Code, body: Annotated[CouponIn, Body(openapi_examples=COUPON_EXAMPLES)],
                      principal: PrincipalDep, platform: PlatformDep) -> CouponOut:
        """A template no promotion of the shop uses, or another shop's, is a 404."""
        with UnitOfWork(platform.db) as uow:
            spec = TemplateSpec(code=code, display=body.display, kind=SHOP, threshold=body.threshold.money(),
                                value=body.value.money(), starts_at=body.starts_at, ends_at=body.ends_at,
                                days_after_claim=body.days_after_claim, claim_limit=body.claim_limit,
                                stock=body.stock)
            return coupon_out(ops.define_coupon(uow, _actor(uow, principal, shop), platform.ruleset.program, spec,
                                                platform.clock.now()))

    def _registered(done: RegistrationResult) -> RegistrationOut:
        if done.reason == registration.UNKNOWN_PROMOTION:
            raise not_found(f"promotion {done.promotion}")
        if not done.ok:
            raise ApiProblem(409, "merchants.registration.refused", "The registration cannot move",
                             done.reason or "refused")
        return registration_out(done)

    @api.post("/shops/{shop}/registrations", summary="Register a SKU into a platform promotion (商品提报)",
              dependencies=back_office, responses=moves)
    def register(shop: Code, body: Annotated[RegisterIn, Body(openapi_examples=REGISTER_EXAMPLES)],
                 principal: PrincipalDep, platform: PlatformDep) -> RegistrationOut:
        with UnitOfWork(platform.db) as uow:
            return _registered(ops.register_goods(uow, _actor(uow, principal, shop), platform.ruleset.program,
                                                  body.promotion, body.sku, now=platform.clock.now()))

    @api.post("/shops/{shop}/registrations/withdraw", summary="Withdraw a SKU's registration",
              dependencies=back_office, responses=moves)
    def withdraw_registration(shop: Code, body: Annotated[RegisterIn, Body(openapi_examples=REGISTER_EXAMPLES)],
                              principal: PrincipalDep, platform: PlatformDep) -> RegistrationOut:
        with UnitOfWork(platform.db) as uow:
            return _registered(ops.withdraw_goods(uow, _actor(uow, principal, shop), platform.ruleset.program,
                                                  body.promotion, body.sku, now=platform.clock.now()))

    @api.get("/shops/{shop}/registrations", summary="The shop's registrations into a promotion",
             dependencies=back_office, responses=reads)
    def registrations(shop: Code, principal: PrincipalDep, platform: PlatformDep,
                      promotion: Annotated[str, Query(min_length=1, max_length=200)] = "") -> list[RegistrationOut]:
        with UnitOfWork(platform.db) as uow:
            return [registration_out(r) for r in ops.registrations(uow, _actor(uow, principal, shop), promotion)]

    # -- orders and after-sales ----------------------------------------------------------------

    @api.get("/shops/{shop}/orders", summary="The shop's orders", dependencies=back_office, responses=reads)
    def list_orders(shop: Code, principal: PrincipalDep, platform: PlatformDep,
                    status: Annotated[str | None, Query(max_length=40)] = None) -> list[OrderOut]:
        with UnitOfWork(platform.db) as uow:
            return [order_out(o) for o in ops.orders(uow, _actor(uow, principal, shop), status=status)]

    @api.get("/shops/{shop}/orders/{order_id}", summary="One of the shop's orders", dependencies=back_office,
             responses=reads)
    def get_order(shop: Code, order_id: Code, principal: PrincipalDep, platform: PlatformDep) -> OrderOut:
        with UnitOfWork(platform.db) as uow:
            return order_out(ops.order(uow, _actor(uow, principal, shop), order_id))

    @api.post("/shops/{shop}/orders/{order_id}/ship", summary="Ship a paid order with its tracking number",
              dependencies=back_office, responses=moves)
    def ship(shop: Code, order_id: Code, body: Annotated[ShipIn, Body(openapi_examples=SHIP_EXAMPLES)],
             principal: PrincipalDep, platform: PlatformDep) -> ShipmentOut:
        with UnitOfWork(platform.db) as uow:
            actor = _actor(uow, principal, shop)
            ops.order(uow, actor, order_id)
            return shipment_out(ops.ship(uow, actor, order_id, carrier=body.carrier, tracking_no=body.tracking_no,
                                         now=platform.clock.now()))

    @api.get("/shops/{shop}/cases", summary="The shop's after-sales cases", dependencies=back_office,
             responses=reads)
    def list_cases(shop: Code, principal: PrincipalDep, platform: PlatformDep,
                   status: Annotated[str | None, Query(max_length=40)] = None) -> list[CaseOut]:
        with UnitOfWork(platform.db) as uow:
            return [case_out(c) for c in ops.cases(uow, _actor(uow, principal, shop), status=status)]

    @api.get("/shops/{shop}/cases/{case_id}", summary="One of the shop's after-sales cases",
             dependencies=back_office, responses=reads)
    def get_case(shop: Code, case_id: Code, principal: PrincipalDep, platform: PlatformDep) -> CaseOut:
        with UnitOfWork(platform.db) as uow:
            return case_out(ops.case(uow, _actor(uow, principal, shop), case_id))

    @api.post("/shops/{shop}/cases/{case_id}/approve", summary="Approve a case (the refund follows)",
              dependencies=back_office, responses=moves)
    def approve_case(shop: Code, case_id: Code, body: Annotated[NoteIn, Body(openapi_examples=NOTE_EXAMPLES)],
                     principal: PrincipalDep, platform: PlatformDep, once: IdempotencyDep) -> Response:
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                return _json(case_out(ops.approve_case(uow, platform, _actor(uow, principal, shop), case_id,
                                                       now=platform.clock.now(), note=body.note)))
        return once.run(act)

    @api.post("/shops/{shop}/cases/{case_id}/reject", summary="Reject a case, saying why",
              dependencies=back_office, responses=moves)
    def reject_case(shop: Code, case_id: Code, body: Annotated[RejectIn, Body(openapi_examples=NOTE_EXAMPLES)],
                    principal: PrincipalDep, platform: PlatformDep) -> CaseOut:
        with UnitOfWork(platform.db) as uow:
            return case_out(ops.reject_case(uow, _actor(uow, principal, shop), case_id, note=body.note,
                                            now=platform.clock.now()))

    @api.post("/shops/{shop}/cases/{case_id}/inspect", summary="Inspect a returned parcel",
              dependencies=back_office, responses=moves)
    def inspect_case(shop: Code, case_id: Code, body: Annotated[InspectIn, Body(openapi_examples=INSPECT_EXAMPLES)],
                     principal: PrincipalDep, platform: PlatformDep, once: IdempotencyDep) -> Response:
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                return _json(case_out(ops.inspect_case(uow, platform, _actor(uow, principal, shop), case_id,
                                                       passed=body.passed, now=platform.clock.now(),
                                                       note=body.note)))
        return once.run(act)

    # -- money and figures ---------------------------------------------------------------------

    @api.get("/shops/{shop}/statistics", summary="The shop's figures (经营数据)", dependencies=back_office,
             responses=reads)
    def statistics(shop: Code, principal: PrincipalDep, platform: PlatformDep) -> StatisticsOut:
        with UnitOfWork(platform.db) as uow:
            s = ops.statistics(uow, _actor(uow, principal, shop))
        return StatisticsOut(shop=s.shop, goods_on_sale=s.goods_on_sale, orders=dict(s.orders),
                             sales=MoneyOut.of(s.sales), refunded=MoneyOut.of(s.refunded), cases=dict(s.cases),
                             score=None if s.score is None else score_out(s.score), balances=balances_out(s.balances))

    @api.get("/shops/{shop}/balances", summary="The shop's balances", dependencies=back_office, responses=reads)
    def balances(shop: Code, principal: PrincipalDep, platform: PlatformDep) -> BalancesOut:
        with UnitOfWork(platform.db) as uow:
            return balances_out(ops.balances(uow, _actor(uow, principal, shop)))

    @api.get("/shops/{shop}/preview", summary="Pre-settlement (预结算): the statement a cycle would make",
             dependencies=back_office, responses=reads)
    def preview(shop: Code, principal: PrincipalDep, platform: PlatformDep,
                at: Annotated[datetime | None, Query(description="When the cycle would run; now when absent.")]
                = None) -> StatementOut:
        """Writes nothing; the stored statement when that day's cycle has run."""
        with UnitOfWork(platform.db) as uow:
            return statement_out(ops.preview(uow, _actor(uow, principal, shop), at or platform.clock.now()))

    @api.get("/shops/{shop}/statements", summary="The shop's statements, oldest first", dependencies=back_office,
             responses=reads)
    def statements(shop: Code, principal: PrincipalDep, platform: PlatformDep) -> list[StatementOut]:
        with UnitOfWork(platform.db) as uow:
            return [statement_out(s) for s in ops.statements(uow, _actor(uow, principal, shop))]

    @api.get("/shops/{shop}/statements/{statement_id}", summary="One of the shop's statements",
             dependencies=back_office, responses=reads)
    def get_statement(shop: Code, statement_id: Code, principal: PrincipalDep, platform: PlatformDep) -> StatementOut:
        with UnitOfWork(platform.db) as uow:
            return statement_out(ops.statement(uow, _actor(uow, principal, shop), statement_id))

    @api.post("/shops/{shop}/withdrawals", summary="Withdraw from the available balance (提现)",
              dependencies=back_office, responses=moves)
    def withdraw(shop: Code, body: Annotated[WithdrawIn, Body(openapi_examples=WITHDRAW_EXAMPLES)],
                 principal: PrincipalDep, services: ServicesDep, platform: PlatformDep,
                 once: IdempotencyDep) -> Response:
        """The institution pays it; one it refuses is a 200 with status `refused` and the
        reason. The same `key` again is the same withdrawal (`replayed`)."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                return _json(withdrawal_out(ops.withdraw(uow, _actor(uow, principal, shop), body.amount.money(),
                                                         key=body.key, clearing=services.clearing,
                                                         now=platform.clock.now())))
        return once.run(act)

    @api.get("/shops/{shop}/withdrawals", summary="The shop's withdrawals", dependencies=back_office,
             responses=reads)
    def withdrawals(shop: Code, principal: PrincipalDep, platform: PlatformDep) -> list[WithdrawalOut]:
        with UnitOfWork(platform.db) as uow:
            return [withdrawal_out(w) for w in ops.withdrawals(uow, _actor(uow, principal, shop))]

    return api

