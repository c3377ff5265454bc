"""`POST /v1/pricing/trial`: the price trial (试算) of a cart (role `service`).

The cart's lines (SKU, shop, quantity, unit price as an amount string, line and goods tags),
the context the promotions' conditions read, the coupon templates the user holds or may
claim, and `explain`. The answer is `TrialResult.to_json()`: the payable, the applied
promotions, every line's allocations and funding, why each other promotion was not applied
and hints. A trial is a preview: it reserves nothing and consumes no budget.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from arbiter.api.auth import requires
from arbiter.api.dependencies import ServicesDep
from arbiter.api.errors import problem_responses
from arbiter.api.limits import MAX_CART_LINES, MAX_COUPONS, MAX_TAGS_PER_LINE
from arbiter.api.responses import FastJSONResponse
from arbiter.engine.pricing import Cart, CartLine, trial
from arbiter.money import Money
from arbiter.platform.keys.models import SERVICE

AMOUNT = r"^\d{1,12}(\.\d{1,4})?$"
NAME = Field(min_length=1, max_length=200)

EXAMPLES: dict[str, Any] = {
    "phone": {
        "summary": "A phone in the Singles' Day season",
        "value": {
            "lines": [{"sku": "SKU-PHONE-X1-128", "shop": "shop-phone-001", "quantity": 1,
                       "unit_price": "3999.00", "tags": {"category": "phone"}}],
            "context": {"user": {"id": "u-1001"}},
            "now": "2026-11-11T10:00:00+08:00",
        },
    },
    "coupon": {
        "summary": "A clothing cart with a shop coupon held, explained",
        "value": {
            "lines": [
                {"sku": "SKU-DRESS-7", "shop": "shop-fashion-001", "quantity": 2, "unit_price": "159.00",
                 "tags": {"category": "dress"}},
            ],
            "coupons": ["fashion_20_off_199"],
            "explain": True,
        },
    },
}


class TrialLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=200, description="Defaults to the line's position, from 1.")
    sku: str = NAME
    shop: str = NAME
    quantity: int = Field(ge=1, le=100_000)
    unit_price: str = Field(pattern=AMOUNT, description="The unit list price, as a string.", examples=["3999.00"])
    tags: dict[str, Any] = Field(default_factory=dict, max_length=MAX_TAGS_PER_LINE,
                                 description="Line and goods tags: category, brand, ...")


class TrialRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    lines: list[TrialLine] = Field(min_length=1, max_length=MAX_CART_LINES)
    context: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                               description="User, order, payment and passthrough tags.")
    coupons: list[Annotated[str, NAME]] = Field(default_factory=list, max_length=MAX_COUPONS,
                                                description="Coupon templates the user holds or may claim.")
    promotions: list[Annotated[str, NAME]] | None = Field(
        default=None, max_length=MAX_COUPONS * 4, description="Only these promotions (default: all)."
    )
    user: str | None = Field(default=None, max_length=200, description="For per-user limits.")
    now: datetime | None = Field(default=None, description="Price as at this time (default: now).")
    explain: bool = Field(default=False, description="Also say what the best combination with each "
                          "excluded promotion would pay.")


def cart_of(request: TrialRequest) -> Cart:
    lines = tuple(
        CartLine(
            id=line.id or str(index + 1),
            sku=line.sku,
            shop=line.shop,
            quantity=line.quantity,
            unit_price=Money(Decimal(line.unit_price), request.currency),
            tags=line.tags,
        )
        for index, line in enumerate(request.lines)
    )
    return Cart(lines=lines, context=request.context, coupons=frozenset(request.coupons),
                now=request.now, user=request.user)


def router() -> APIRouter:
    api = APIRouter(prefix="/pricing", tags=["pricing"])

    @api.post(
        "/trial",
        summary="Price a cart (trial)",
        dependencies=[requires(SERVICE)],
        responses=problem_responses(401, 403, 413, 422, 429, 500, 503),
    )
    def price_trial(
        request: Annotated[TrialRequest, Body(openapi_examples=EXAMPLES)],
        services: ServicesDep,
    ) -> FastJSONResponse:
        """The best price of the cart under the published promotions; consumes nothing."""
        ruleset = services.engine.ruleset
        result = trial(ruleset, cart_of(request), clock=services.clock,
                       budgets=services.budget_view(ruleset), promotions=request.promotions,
                       explain=request.explain)
        return FastJSONResponse(result.to_json())

    return api
