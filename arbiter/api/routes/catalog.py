"""Catalog routes (货品中台): the category tree and brands (an `operator` defines them, every
key reads the tree), products (SPU) and their SKUs, publishing (上架/下架), a SKU with its
prices and stock, and the product page's price (到手价) for a user.

Who may write goods: an `operator` for the platform's own shops (自营) directly; for a
marketplace shop, an `operator` or that shop's `merchant` key acts through the merchant's
back office use cases, so that the shop's scope and status (a restricted shop cannot
publish) apply as they do under `/v1/shops/{shop}`. A merchant key never reaches another
shop's goods: they answer 404, as if absent. A SKU's cost is shown to staff and to its own
merchant, never to the storefront (`service`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from arbiter.api.auth import Principal, requires
from arbiter.api.dependencies import PrincipalDep
from arbiter.api.errors import problem_responses
from arbiter.api.flows import MoneyIn, MoneyOut, PlatformDep, not_found, shop_of
from arbiter.platform.cart import pricing as cart_pricing
from arbiter.platform.catalog import service as catalog
from arbiter.platform.catalog.models import CATEGORIES
from arbiter.platform.catalog.service import SkuSpec, SkuView, SpuSpec
from arbiter.platform.db import UnitOfWork
from arbiter.platform.inventory import service as inventory
from arbiter.platform.keys.models import ANALYST, MERCHANT, OPERATOR, SERVICE
from arbiter.platform.merchants import operations as ops
from arbiter.platform.merchants import service as merchants
from arbiter.platform.promotions.pricing import Quote
from arbiter.platform.runtime import Platform

CODE = r"^[\x21-\x7e]+$"
Code = Annotated[str, Path(min_length=1, max_length=200, pattern=CODE)]
NameField = Annotated[str, Field(min_length=1, max_length=200)]
CodeField = Annotated[str, Field(min_length=1, max_length=200, pattern=CODE)]

CATEGORY_EXAMPLES: dict[str, Any] = {
    "child": {"summary": "Phones under digital goods", "value": {"name": "手机", "parent": "digital"}},
    "root": {"summary": "A root category", "value": {"name": "服饰"}},
}
BRAND_EXAMPLES: dict[str, Any] = {
    "brand": {"summary": "A brand", "value": {"name": "阿比特手机"}},
}
SPU_EXAMPLES: dict[str, Any] = {
    "phone": {"summary": "A self-operated phone with two storage sizes",
              "value": {"id": "SPU-PHONE-X2", "shop": "arbiter-self", "title": "X2 手机", "category": "digital",
                        "description": "a 6.3-inch phone", "images": ["x2.jpg"],
                        "specs": {"storage": ["128G", "256G"]}}},
}
SKU_EXAMPLES: dict[str, Any] = {
    "phone": {"summary": "The 128G model: 4299.00 listed, sold at 3999.00",
              "value": {"sku": "SKU-PHONE-X2-128", "spu": "SPU-PHONE-X2", "specs": {"storage": "128G"},
                        "list_price": {"amount": "4299.00", "currency": "CNY"},
                        "sale_price": {"amount": "3999.00", "currency": "CNY"},
                        "cost": {"amount": "3100.00", "currency": "CNY"}, "max_per_user": 2}},
}
PRICE_EXAMPLES: dict[str, Any] = {
    "user": {"summary": "The price a user sees on the product page",
             "value": {"user_id": "u-1001", "passthrough": {"device_id": "dev-13800138001", "ip_region": "上海"}}},
    "anonymous": {"summary": "Before logging in", "value": {}},
}


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: NameField
    parent: CodeField | None = Field(default=None, description="The parent's code; a root when absent.")


class CategoryOut(BaseModel):
    code: str
    name: str
    parent: str | None


class BrandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: NameField


class BrandOut(BaseModel):
    code: str
    name: str


class SpuIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: CodeField
    shop: CodeField = Field(description="The shop selling it: one of the platform's own, or the merchant's.")
    title: NameField
    category: CodeField
    brand: CodeField | None = None
    description: str = Field(default="", max_length=10_000)
    images: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(default_factory=list, max_length=50)
    specs: dict[Annotated[str, Field(min_length=1, max_length=200)],
                list[Annotated[str, Field(min_length=1, max_length=200)]]] = Field(
        default_factory=dict, max_length=20, description="Each spec's name and the values it may take.")


class SpuOut(BaseModel):
    spu: str
    shop: str


class SkuIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: CodeField
    spu: CodeField
    list_price: MoneyIn
    sale_price: MoneyIn
    cost: MoneyIn
    specs: dict[Annotated[str, Field(min_length=1, max_length=200)],
                Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=dict, max_length=20)
    is_virtual: bool = False
    is_dropship: bool = False
    supplier: CodeField | None = Field(default=None, description="Required for dropship goods.")
    tags: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list, max_length=50)
    max_per_user: int | None = Field(default=None, ge=1, le=100_000, description="None: no limit per user.")
    allowed_regions: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=100, description="Empty: sold everywhere.")


class SkuOut(BaseModel):
    sku: str
    spu: str
    shop: str
    title: str
    category: str
    brand: str
    status: str = Field(description="draft, published or unpublished.")
    list_price: MoneyOut
    sale_price: MoneyOut
    cost: MoneyOut | None = Field(description="For staff and the shop's own merchant; never for the storefront.")
    specs: dict[str, str]
    is_virtual: bool
    is_dropship: bool
    tags: list[str]
    max_per_user: int | None
    allowed_regions: list[str]
    sales: int


class WarehouseStockOut(BaseModel):
    warehouse: str
    on_hand: int
    locked: int


class StockOut(BaseModel):
    sku: str
    region: str | None
    available: int = Field(description="Free to sell (on hand less locked) in the warehouses serving the region.")
    warehouses: list[WarehouseStockOut]


class PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str | None = Field(default=None, min_length=1, max_length=200,
                                description="The user looking; anonymous when absent.")
    passthrough: dict[str, Any] = Field(default_factory=dict, max_length=30,
                                        description="The client's tags: device_id, ip_region, ...")


class AppliedOut(BaseModel):
    promotion: str
    display: str
    discount: MoneyOut


class CouponPickOut(BaseModel):
    promotion: str
    template: str
    coupon: int | None = Field(description="A coupon held; None: claimed when the order is placed.")


class PriceOut(BaseModel):
    sku: str
    user_id: str | None
    list_price: MoneyOut = Field(description="The sale price before promotions.")
    final_price: MoneyOut = Field(description="到手价: one unit with the best promotions and coupons.")
    savings: MoneyOut
    applied: list[AppliedOut]
    coupons: list[CouponPickOut]
    hints: list[str]


def sku_out(view: SkuView, *, with_cost: bool) -> SkuOut:
    return SkuOut(sku=view.sku, spu=view.spu, shop=view.shop, title=view.title, category=view.category,
                  brand=view.brand, status=view.status, list_price=MoneyOut.of(view.list_price),
                  sale_price=MoneyOut.of(view.sale_price), cost=MoneyOut.of(view.cost) if with_cost else None,
                  specs=view.specs, is_virtual=view.is_virtual, is_dropship=view.is_dropship,
                  tags=sorted(view.tags), max_per_user=view.max_per_user,
                  allowed_regions=sorted(view.allowed_regions), sales=view.sales)


def price_out(sku: str, user_id: str | None, quote: Quote) -> PriceOut:
    result = quote.result
    return PriceOut(
        sku=sku, user_id=user_id, list_price=MoneyOut.of(result.money(result.list_total)),
        final_price=MoneyOut.of(result.money(result.payable)), savings=MoneyOut.of(result.money(result.savings)),
        applied=[AppliedOut(promotion=a.promotion, display=a.display, discount=MoneyOut.of(result.money(a.discount)))
                 for a in result.applied],
        coupons=[CouponPickOut(promotion=c.promotion, template=c.template, coupon=c.coupon) for c in quote.coupons],
        hints=[h.text for h in result.hints])


def _actor(uow: UnitOfWork, principal: Principal, platform: Platform, shop: str) -> ops.MerchantActor | None:
    """Who writes the shop's goods: None for the platform's own shops (the catalog directly,
    staff only); otherwise the shop's merchant, through its back office. A merchant key acts
    only for its own shop; a shop nobody owns is a 404."""
    shop_of(principal, shop)
    if principal.role != MERCHANT and shop in platform.self_operated:
        return None
    owner = merchants.merchant_of_shop(uow, shop)
    if owner is None:
        raise not_found(f"shop {shop}")
    return ops.acting(uow, owner.id, staff=principal.key_id)


def _visible(uow: UnitOfWork, principal: Principal, sku: str) -> SkuView:
    """The SKU as the caller may see it: a merchant key only its own shop's."""
    found = catalog.get_sku(uow, sku)
    if found is None or (principal.role == MERCHANT and found.shop != principal.shop):
        raise not_found(f"sku {sku}")
    return found


def _with_cost(principal: Principal) -> bool:
    return principal.role != SERVICE


def router() -> APIRouter:  # noqa: C901 - one route per function below
    api = APIRouter(prefix="/catalog", tags=["catalog"])
    moves = problem_responses(401, 403, 404, 409, 413, 422, 429, 500, 503)
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)
    writers = [requires(OPERATOR, MERCHANT)]

    @api.get("/categories", summary="The category tree (类目)",
             dependencies=[requires(SERVICE, OPERATOR, ANALYST, MERCHANT)], responses=reads)
    def categories(platform: PlatformDep) -> list[CategoryOut]:
        """Every category with its parent (None at the root), by code."""
        with UnitOfWork(platform.db) as uow:
            rows = uow.session.execute(select(CATEGORIES).order_by(CATEGORIES.c.code)).all()
        return [CategoryOut(code=r.code, name=r.name, parent=r.parent) for r in rows]

    @api.put("/categories/{category}", summary="Define a category", dependencies=[requires(OPERATOR)],
             responses=moves)
    def define_category(category: Code, body: Annotated[CategoryIn, Body(openapi_examples=CATEGORY_EXAMPLES)],
                        platform: PlatformDep) -> CategoryOut:
        """Add a category under `parent` (which must exist). The same again changes nothing;
        the same code with another name or parent is a 409."""
        with UnitOfWork(platform.db) as uow:
            catalog.add_category(uow, category, body.name, body.parent)
        return CategoryOut(code=category, name=body.name, parent=body.parent)

    @api.put("/brands/{brand}", summary="Define a brand (品牌)", dependencies=[requires(OPERATOR)], responses=moves)
    def define_brand(brand: Code, body: Annotated[BrandIn, Body(openapi_examples=BRAND_EXAMPLES)],
                     platform: PlatformDep) -> BrandOut:
        """The same brand again changes nothing; another name for the code is a 409."""
        with UnitOfWork(platform.db) as uow:
            catalog.add_brand(uow, brand, body.name)
        return BrandOut(code=brand, name=body.name)

    @api.post("/spus", summary="Create a product (SPU)", status_code=201, dependencies=writers, responses=moves)
    def create_spu(body: Annotated[SpuIn, Body(openapi_examples=SPU_EXAMPLES)], principal: PrincipalDep,
                   platform: PlatformDep) -> SpuOut:
        """In an existing category (and brand); a marketplace shop's only in its scope."""
        spec = SpuSpec(body.id, body.shop, body.title, body.category, body.brand, body.description,
                       tuple(body.images), body.specs)
        with UnitOfWork(platform.db) as uow:
            actor = _actor(uow, principal, platform, body.shop)
            spu = catalog.create_spu(uow, spec) if actor is None else ops.create_product(uow, actor, spec)
        return SpuOut(spu=spu, shop=body.shop)

    @api.post("/skus", summary="Create a draft SKU of a product", status_code=201, dependencies=writers,
              responses=moves)
    def create_sku(body: Annotated[SkuIn, Body(openapi_examples=SKU_EXAMPLES)], principal: PrincipalDep,
                   platform: PlatformDep) -> SkuOut:
        """Prices positive and in one currency, the sale price not above the list price, one
        value for each of the product's specs; it starts as a draft."""
        spec = SkuSpec(body.sku, body.spu, body.list_price.money(), body.sale_price.money(), body.cost.money(),
                       body.specs, is_virtual=body.is_virtual, is_dropship=body.is_dropship,
                       supplier=body.supplier, tags=tuple(body.tags), max_per_user=body.max_per_user,
                       allowed_regions=tuple(body.allowed_regions))
        with UnitOfWork(platform.db) as uow:
            shop = catalog.spu_shop(uow, body.spu)
            if shop is None or (principal.role == MERCHANT and shop != principal.shop):
                raise not_found(f"spu {body.spu}")
            actor = _actor(uow, principal, platform, shop)
            code = catalog.create_sku(uow, spec) if actor is None else ops.create_variant(uow, actor, spec)
            return sku_out(_visible(uow, principal, code), with_cost=True)

    def _moved(sku: str, principal: Principal, platform: Platform, to: str) -> SkuOut:
        with UnitOfWork(platform.db) as uow:
            found = _visible(uow, principal, sku)
            actor = _actor(uow, principal, platform, found.shop)
            now = platform.clock.now()
            if actor is not None:
                (ops.publish if to == catalog.PUBLISHED else ops.unpublish)(uow, actor, sku, now)
            else:
                (catalog.publish if to == catalog.PUBLISHED else catalog.unpublish)(uow, sku, now)
            return sku_out(_visible(uow, principal, sku), with_cost=True)

    @api.post("/skus/{sku}/publish", summary="Put a SKU on sale (上架)", dependencies=writers, responses=moves)
    def publish(sku: Code, principal: PrincipalDep, platform: PlatformDep) -> SkuOut:
        """A draft or unpublished SKU goes on sale; again changes nothing."""
        return _moved(sku, principal, platform, catalog.PUBLISHED)

    @api.post("/skus/{sku}/unpublish", summary="Take a SKU off sale (下架)", dependencies=writers, responses=moves)
    def unpublish(sku: Code, principal: PrincipalDep, platform: PlatformDep) -> SkuOut:
        """A published SKU goes off sale; again changes nothing; a draft is a 409."""
        return _moved(sku, principal, platform, catalog.UNPUBLISHED)

    @api.get("/skus/{sku}", summary="A SKU with its prices", dependencies=[requires(SERVICE, OPERATOR, ANALYST, MERCHANT)],
             responses=reads)
    def get_sku(sku: Code, principal: PrincipalDep, platform: PlatformDep) -> SkuOut:
        with UnitOfWork(platform.db) as uow:
            return sku_out(_visible(uow, principal, sku), with_cost=_with_cost(principal))

    @api.get("/skus/{sku}/stock", summary="A SKU's stock", dependencies=[requires(SERVICE, OPERATOR, ANALYST, MERCHANT)],
             responses=reads)
    def get_stock(sku: Code, principal: PrincipalDep, platform: PlatformDep,
                  region: Annotated[str | None, Query(min_length=1, max_length=200,
                                                      description="Only warehouses serving it.")] = None,
                  ) -> StockOut:
        """What is free to sell (in the warehouses serving `region`, or all), and each
        warehouse's units on hand and locked by orders."""
        with UnitOfWork(platform.db) as uow:
            _visible(uow, principal, sku)
            free = inventory.available(uow, sku, region)
            held = inventory.stock_of(uow, sku)
        return StockOut(sku=sku, region=region, available=free, warehouses=[
            WarehouseStockOut(warehouse=w, on_hand=on_hand, locked=locked) for w, (on_hand, locked) in held.items()])

    @api.post("/skus/{sku}/final-price", summary="The product page's price (到手价) for a user",
              dependencies=[requires(SERVICE)], responses=reads)
    def final_price(sku: Code, platform: PlatformDep,
                    body: Annotated[PriceIn | None, Body(openapi_examples=PRICE_EXAMPLES)] = None) -> PriceOut:
        """What one unit would cost the user now: the best live promotions and the coupons
        they hold or could still claim. A preview: it reserves and consumes nothing. A SKU
        not on sale is a 422; an unknown one a 404."""
        asked = body or PriceIn()
        with UnitOfWork(platform.db) as uow:
            quote = cart_pricing.final_price(uow, platform, sku, asked.user_id, platform.clock.now(),
                                             passthrough=asked.passthrough)
        return price_out(sku, asked.user_id, quote)

    return api
