"""Reading the catalog: `SkuView`, one SKU with what its SPU says of it, as every other module
sees it (`get_sku`, `list_skus`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.sql import Select

from arbiter.errors import InvalidInput
from arbiter.money import Money
from arbiter.platform.catalog.models import SKUS, SPUS
from arbiter.platform.db import UnitOfWork

DRAFT = "draft"
PUBLISHED = "published"
UNPUBLISHED = "unpublished"
STATUSES = (DRAFT, PUBLISHED, UNPUBLISHED)


@dataclass(frozen=True)
class SkuView:
    """One SKU as sold: its SPU's title, category and brand ("" when it has none), its prices
    and cost in one currency, its flags and limits. `allowed_regions` empty means everywhere;
    `max_per_user` None means no limit."""

    sku: str
    spu: str
    shop: str
    title: str
    category: str
    brand: str
    list_price: Money
    sale_price: Money
    cost: Money
    is_virtual: bool
    is_dropship: bool
    supplier: str | None
    tags: frozenset[str]
    status: str
    max_per_user: int | None
    allowed_regions: frozenset[str]
    specs: dict[str, str]
    below_cost_approved: bool
    sales: int = 0

    @property
    def published(self) -> bool:
        return self.status == PUBLISHED


def _query() -> Select[Any]:
    return select(SKUS, SPUS.c.title, SPUS.c.category, SPUS.c.brand).join(SPUS, SPUS.c.id == SKUS.c.spu)


def _view(row: Any) -> SkuView:
    currency = row.currency
    return SkuView(
        sku=row.sku, spu=row.spu, shop=row.shop, title=row.title, category=row.category,
        brand=row.brand or "",
        list_price=Money(row.list_price, currency), sale_price=Money(row.sale_price, currency),
        cost=Money(row.cost, currency), is_virtual=bool(row.is_virtual), is_dropship=bool(row.is_dropship),
        supplier=row.supplier, tags=frozenset(json.loads(row.tags)), status=row.status,
        max_per_user=row.max_per_user, allowed_regions=frozenset(json.loads(row.allowed_regions)),
        specs=dict(json.loads(row.specs)), below_cost_approved=row.below_cost_approved_by is not None,
        sales=row.sales,
    )


def get_sku(uow: UnitOfWork, sku: str) -> SkuView | None:
    """The SKU, or None when there is no such SKU."""
    row = uow.session.execute(_query().where(SKUS.c.sku == sku)).first()
    return None if row is None else _view(row)


def list_skus(uow: UnitOfWork, *, shop: str | None = None, status: str | None = None) -> list[SkuView]:
    """SKUs, of one shop and/or in one status, in SKU order."""
    query = _query().order_by(SKUS.c.sku)
    if shop is not None:
        query = query.where(SKUS.c.shop == shop)
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(f"status: {status!r} is not one of {', '.join(STATUSES)}")
        query = query.where(SKUS.c.status == status)
    return [_view(row) for row in uow.session.execute(query)]


def spu_shop(uow: UnitOfWork, spu: str) -> str | None:
    """The shop an SPU belongs to, or None when there is no such SPU."""
    found = uow.session.execute(select(SPUS.c.shop).where(SPUS.c.id == spu)).scalar()
    return None if found is None else str(found)
