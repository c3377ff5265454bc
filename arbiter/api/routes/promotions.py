"""Promotion routes: coupon claims and budget moves by order id (role `service`, idempotent),
budgets and coupon templates (role `operator`; `analyst` reads), and a merchant's own shop
coupon templates under `/v1/shops/{shop}` (a `merchant` key sees only its shop: any other
shop, or another shop's template, is a 404 as if it did not exist).

Budget moves take the terms declared with the promotion in the served rules (strict or
partial, per-user limit). Each move is idempotent by order id in the store itself, and the
calls also accept an `Idempotency-Key`. Defining a budget or a template is audited.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from arbiter.api.auth import Principal, requires
from arbiter.api.dependencies import PrincipalDep, ServicesDep
from arbiter.api.errors import ApiProblem, problem_responses
from arbiter.api.idempotency import IdempotencyDep
from arbiter.api.limits import MAX_INT
from arbiter.api.wiring import Services
from arbiter.money import Money
from arbiter.platform.audit import service as audit
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys.models import ANALYST, MERCHANT, OPERATOR, SERVICE
from arbiter.platform.promotions import service as coupons
from arbiter.platform.promotions.budgets import BudgetState, BudgetTerms, Reservation
from arbiter.platform.promotions.coupons import SHOP, TemplateSpec

AMOUNT = r"^\d{1,11}(\.\d{1,4})?$"
Name = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]

CLAIM_EXAMPLES: dict[str, Any] = {
    "claim": {"summary": "A user claims a new-user coupon",
              "value": {"template": "new_user_99_20", "user": "u-1001", "device": "d-77"}},
}
RESERVE_EXAMPLES: dict[str, Any] = {
    "reserve": {"summary": "Hold 20.00 of the budget for an order",
                "value": {"order_id": "o-20261111-0001", "amount": "20.00", "currency": "CNY", "user": "u-1001"}},
}
ORDER_EXAMPLES: dict[str, Any] = {
    "order": {"summary": "The order whose reservation moves", "value": {"order_id": "o-20261111-0001"}},
}
BUDGET_EXAMPLES: dict[str, Any] = {
    "budget": {"summary": "500000 CNY for at most 100000 orders",
               "value": {"total": "500000.00", "currency": "CNY", "uses": 100000}},
}
_TEMPLATE = {"display": "满99减20", "threshold": "99.00", "value": "20.00", "currency": "CNY",
             "ends_at": "2026-11-12T00:00:00+08:00", "claim_limit": 1, "stock": 10000}
TEMPLATE_EXAMPLES: dict[str, Any] = {
    "platform": {"summary": "A platform coupon with a budget",
                 "value": {**_TEMPLATE, "kind": "platform", "promotion": "platform_coupon_20"}},
}
SHOP_TEMPLATE_EXAMPLES: dict[str, Any] = {
    "shop": {"summary": "A shop coupon: 20 off from 99", "value": _TEMPLATE},
}


class ClaimRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str = Field(min_length=1, max_length=200)
    user: str = Field(min_length=1, max_length=200)
    device: str | None = Field(default=None, max_length=200, description="Needed by per-device limits.")


class CouponResultOut(BaseModel):
    ok: bool
    coupon_id: int | None
    status: str | None
    reason: str | None = Field(description="Why it was refused: out of stock, claim limit, ...")
    replayed: bool


class ReserveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: str = Field(min_length=1, max_length=200)
    amount: str = Field(pattern=AMOUNT, description="The discount to hold, as a string.")
    currency: Currency = "CNY"
    user: str = Field(min_length=1, max_length=200)
    device: str | None = Field(default=None, max_length=200)


class OrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: str = Field(min_length=1, max_length=200)


class ReleaseRequest(OrderRequest):
    after_confirm: bool = Field(default=False, description="Also release a paid (confirmed) reservation: a refund.")


class MoneyOut(BaseModel):
    amount: str
    currency: str


class ReservationOut(BaseModel):
    ok: bool
    promotion: str
    order_id: str
    requested: MoneyOut
    granted: MoneyOut
    status: str = Field(description="reserved, confirmed, released or refused.")
    reason: str | None
    replayed: bool


class BudgetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    total: str = Field(pattern=AMOUNT)
    currency: Currency = "CNY"
    uses: int | None = Field(default=None, ge=0, le=MAX_INT, description="How many orders may use it (none: no limit).")


class BudgetOut(BaseModel):
    promotion: str
    total: MoneyOut
    used: MoneyOut
    remaining: MoneyOut
    uses_total: int | None
    uses_used: int


class ShopTemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display: str = Field(min_length=1, max_length=200)
    currency: Currency = "CNY"
    threshold: str = Field(default="0", pattern=AMOUNT, description="The amount to reach.")
    value: str | None = Field(default=None, pattern=AMOUNT, description="An amount off (or give percent).")
    percent: str | None = Field(default=None, pattern=AMOUNT, description="Percent off, 0 to 100.")
    cap: str | None = Field(default=None, pattern=AMOUNT, description="The most a percent coupon takes off.")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    days_after_claim: int | None = Field(default=None, ge=1, le=3650)
    claim_limit: int | None = Field(default=1, ge=0, le=MAX_INT, description="Per user; null: no limit.")
    device_limit: int | None = Field(default=None, ge=0, le=MAX_INT)
    stock: int | None = Field(default=None, ge=0, le=MAX_INT, description="In total; null: no limit.")


class TemplateIn(ShopTemplateIn):
    kind: Literal["shop", "platform", "new_user"]
    scope: str = Field(default="all", max_length=200, examples=["all", "shop:shop-fashion-001"])
    promotion: str | None = Field(default=None, max_length=200, description="The budget it draws on.")


class TemplateOut(BaseModel):
    code: str
    display: str
    kind: str
    scope: str
    currency: str
    threshold: str
    value: str | None
    percent: str | None
    cap: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    days_after_claim: int | None
    claim_limit: int | None
    device_limit: int | None
    stock: int | None
    promotion: str | None


def _money(value: Money) -> dict[str, str]:
    return value.to_json()


def reservation_out(r: Reservation) -> dict[str, Any]:
    return {"ok": r.ok, "promotion": r.promotion, "order_id": r.order_id, "requested": _money(r.requested),
            "granted": _money(r.granted), "status": r.status, "reason": r.reason, "replayed": r.replayed}


def budget_out(state: BudgetState) -> BudgetOut:
    return BudgetOut(promotion=state.promotion, total=MoneyOut(**_money(state.total)),
                     used=MoneyOut(**_money(state.used)), remaining=MoneyOut(**_money(state.remaining)),
                     uses_total=state.uses_total, uses_used=state.uses_used)


def template_out(spec: TemplateSpec) -> TemplateOut:
    def text(value: Money | Decimal | None) -> str | None:
        return None if value is None else str(value.amount if isinstance(value, Money) else value)

    return TemplateOut(
        code=spec.code, display=spec.display, kind=spec.kind, scope=spec.scope, currency=spec.currency,
        threshold=str(spec.threshold.amount), value=text(spec.value), percent=text(spec.percent),
        cap=text(spec.cap), starts_at=spec.starts_at, ends_at=spec.ends_at,
        days_after_claim=spec.days_after_claim, claim_limit=spec.claim_limit,
        device_limit=spec.device_limit, stock=spec.stock, promotion=spec.promotion,
    )


def spec_of(code: str, body: ShopTemplateIn, *, kind: str, scope: str, promotion: str | None) -> TemplateSpec:
    def money(value: str | None) -> Money | None:
        return None if value is None else Money(Decimal(value), body.currency)

    return TemplateSpec(
        code=code, display=body.display, kind=kind, threshold=Money(Decimal(body.threshold), body.currency),
        value=money(body.value), percent=None if body.percent is None else Decimal(body.percent),
        cap=money(body.cap), scope=scope, starts_at=body.starts_at, ends_at=body.ends_at,
        days_after_claim=body.days_after_claim, claim_limit=body.claim_limit,
        device_limit=body.device_limit, stock=body.stock, promotion=promotion,
    )


def _not_found(what: str) -> ApiProblem:
    return ApiProblem(404, "not-found", "Not found", f"{what} was not found")


def _terms(services: Services, promotion: str) -> BudgetTerms:
    """The terms declared with the promotion in the served rules (strict, no limit otherwise)."""
    compiled = services.engine.ruleset.promotions.get(promotion)
    if compiled is None:
        return BudgetTerms()
    declared = compiled.promotion
    return BudgetTerms(policy=declared.budget_policy, per_user=declared.per_user)


def _moved(services: Services, operation: str, reservation: Reservation) -> JSONResponse:
    outcome = "replayed" if reservation.replayed else ("ok" if reservation.ok else "refused")
    services.metrics.budget_operations.labels(operation, outcome).inc()
    if reservation.ok and not reservation.replayed:
        services.metrics.budget_amount.labels(reservation.promotion, operation,
                                              reservation.granted.currency).inc(float(reservation.granted.amount))
    return JSONResponse(reservation_out(reservation))


def _shop_of(principal: Principal, shop: str) -> str:
    """The shop a caller may act for: a merchant only its own (others look absent)."""
    if principal.role == MERCHANT and principal.shop != shop:
        raise _not_found(f"shop {shop}")
    return shop


def router() -> APIRouter:  # noqa: C901 - one route per function below
    api = APIRouter(tags=["promotions"])
    moves = problem_responses(401, 403, 404, 409, 413, 422, 429, 500, 503)
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)

    @api.post("/coupons/claim", summary="Claim a coupon", dependencies=[requires(SERVICE)],
              response_model=CouponResultOut, responses=moves)
    def claim(request: Annotated[ClaimRequest, Body(openapi_examples=CLAIM_EXAMPLES)],
              services: ServicesDep, once: IdempotencyDep) -> Response:
        """The user claims a coupon (领券) within its period, limits and stock; a refusal is a
        200 with `ok: false` and the reason."""
        def act() -> Response:
            with UnitOfWork(services.database) as uow:
                result = coupons.claim(uow, request.template, request.user, services.clock.now(),
                                       request.device, key=None if once.key is None else f"{once.scope}:{once.key}")
            return JSONResponse({"ok": result.ok, "coupon_id": result.coupon_id, "status": result.status,
                                 "reason": result.reason, "replayed": result.replayed})
        return once.run(act)

    @api.post("/budgets/{promotion}/reserve", summary="Reserve budget for an order",
              dependencies=[requires(SERVICE)], response_model=ReservationOut, responses=moves)
    def reserve(promotion: Name, request: Annotated[ReserveRequest, Body(openapi_examples=RESERVE_EXAMPLES)],
                services: ServicesDep, once: IdempotencyDep) -> Response:
        """Hold a discount on the promotion's budget when the order is placed (once per order)."""
        terms = _terms(services, promotion)

        def act() -> Response:
            result = services.budgets.reserve(
                promotion, request.order_id, Money(Decimal(request.amount), request.currency), user=request.user,
                device=request.device, policy=terms.policy, per_user=terms.per_user,
                day=services.clock.now().date(),
            )
            return _moved(services, "reserve", result)
        return once.run(act)

    @api.post("/budgets/{promotion}/confirm", summary="Confirm an order's reservation (paid)",
              dependencies=[requires(SERVICE)], response_model=ReservationOut, responses=moves)
    def confirm(promotion: Name, request: Annotated[OrderRequest, Body(openapi_examples=ORDER_EXAMPLES)],
                services: ServicesDep, once: IdempotencyDep) -> Response:
        return once.run(lambda: _moved(services, "confirm", services.budgets.confirm(promotion, request.order_id)))

    @api.post("/budgets/{promotion}/release", summary="Release an order's reservation (cancelled)",
              dependencies=[requires(SERVICE)], response_model=ReservationOut, responses=moves)
    def release(promotion: Name, request: Annotated[ReleaseRequest, Body(openapi_examples=ORDER_EXAMPLES)],
                services: ServicesDep, once: IdempotencyDep) -> Response:
        return once.run(lambda: _moved(services, "release", services.budgets.release(
            promotion, request.order_id, after_confirm=request.after_confirm)))

    @api.put("/budgets/{promotion}", summary="Define a budget", dependencies=[requires(OPERATOR)],
             responses=moves)
    def define_budget(promotion: Name, request: Annotated[BudgetRequest, Body(openapi_examples=BUDGET_EXAMPLES)],
                      principal: PrincipalDep, services: ServicesDep) -> BudgetOut:
        """Create the budget or change its total and uses; what is used stays (audited)."""
        state = services.budgets.define(promotion, Money(Decimal(request.total), request.currency), request.uses)
        _audit(services, principal, "budgets.define", promotion, request.model_dump())
        return budget_out(state)

    @api.get("/budgets/{promotion}", summary="A budget's state", dependencies=[requires(OPERATOR, ANALYST)],
             responses=reads)
    def get_budget(promotion: Name, services: ServicesDep) -> BudgetOut:
        return budget_out(services.budgets.state(promotion))

    @api.put("/coupon-templates/{code}", summary="Define a coupon template", dependencies=[requires(OPERATOR)],
             responses=moves)
    def define_template(code: Name, request: Annotated[TemplateIn, Body(openapi_examples=TEMPLATE_EXAMPLES)],
                        principal: PrincipalDep, services: ServicesDep) -> TemplateOut:
        """Create a template or change it; the stock already issued stays counted (audited)."""
        spec = spec_of(code, request, kind=request.kind, scope=request.scope, promotion=request.promotion)
        return _define(services, principal, spec)

    @api.get("/coupon-templates/{code}", summary="A coupon template", dependencies=[requires(OPERATOR, ANALYST)],
             responses=reads)
    def get_template(code: Name, services: ServicesDep) -> TemplateOut:
        with UnitOfWork(services.database) as uow:
            spec = coupons.template(uow, code)
        if spec is None:
            raise _not_found(f"coupon template {code}")
        return template_out(spec)

    @api.put("/shops/{shop}/coupon-templates/{code}", summary="Define one of a shop's coupon templates",
             dependencies=[requires(MERCHANT, OPERATOR)], responses=moves)
    def define_shop_template(
        shop: Name, code: Name, request: Annotated[ShopTemplateIn, Body(openapi_examples=SHOP_TEMPLATE_EXAMPLES)],
        principal: PrincipalDep, services: ServicesDep,
    ) -> TemplateOut:
        """A shop coupon (店铺券) of this shop; a merchant key acts only for its own shop, and
        a code another shop (or the platform) uses is not this shop's to change (audited)."""
        _shop_of(principal, shop)
        with UnitOfWork(services.database) as uow:
            existing = coupons.template(uow, code)
        if existing is not None and existing.scope != f"shop:{shop}":
            raise _not_found(f"coupon template {code} of shop {shop}")
        spec = spec_of(code, request, kind=SHOP, scope=f"shop:{shop}", promotion=None)
        return _define(services, principal, spec)

    @api.get("/shops/{shop}/coupon-templates/{code}", summary="One of a shop's coupon templates",
             dependencies=[requires(MERCHANT, OPERATOR, ANALYST)], responses=reads)
    def get_shop_template(shop: Name, code: Name, principal: PrincipalDep, services: ServicesDep) -> TemplateOut:
        _shop_of(principal, shop)
        with UnitOfWork(services.database) as uow:
            spec = coupons.template(uow, code)
        if spec is None or spec.scope != f"shop:{shop}":
            raise _not_found(f"coupon template {code} of shop {shop}")
        return template_out(spec)

    return api


def _define(services: Services, principal: Principal, spec: TemplateSpec) -> TemplateOut:
    """Define, then answer what is stored (times in UTC), as a read would."""
    with UnitOfWork(services.database) as uow:
        coupons.define_template(uow, spec, services.clock.now())
        stored = coupons.template(uow, spec.code)
    assert stored is not None, "a template just defined is there"
    out = template_out(stored)
    _audit(services, principal, "coupon_templates.define", spec.code, out.model_dump(mode="json"))
    return out


def _audit(services: Services, principal: Principal, action: str, target: str, detail: dict[str, Any]) -> None:
    with UnitOfWork(services.database) as uow:
        audit.record(uow, actor=principal.key_id, action=action, target=target, at=services.clock.now(),
                     detail={**detail, "role": principal.role, "shop": principal.shop})
        uow.commit()
