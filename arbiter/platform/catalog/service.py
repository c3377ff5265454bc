"""The catalog's use cases: building the category tree and brands, creating SPUs and SKUs
(every field checked, nothing written when one is wrong), publishing and unpublishing, and
approving a SKU to sell below cost. Each of these commits once.

Reading (`get_sku`, `list_skus`), the goods facts and guards, and selection lists live in
`views`, `guards` and `selection`, and are re-exported here: this is the module's API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.catalog.guards import (
    SELF_OPERATED_SHOPS,
    check_profit,
    check_purchase,
    goods_facts,
)
from arbiter.platform.catalog.models import BRANDS, CATEGORIES, SKUS, SPUS
from arbiter.platform.catalog.selection import SORTS, define_selection, record_sales, selection
from arbiter.platform.catalog.views import (
    DRAFT,
    PUBLISHED,
    STATUSES,
    UNPUBLISHED,
    SkuView,
    get_sku,
    list_skus,
    spu_shop,
)
from arbiter.platform.columns import NAME_LENGTH, exact, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.sql import write_lock

__all__ = [
    "DRAFT", "PUBLISHED", "SELF_OPERATED_SHOPS", "SORTS", "STATUSES", "UNPUBLISHED", "SkuSpec",
    "SkuView", "SpuSpec", "add_brand", "add_category", "approve_below_cost", "check_profit",
    "check_purchase", "create_sku", "create_spu", "define_selection", "get_sku", "goods_facts",
    "list_skus", "publish", "record_sales", "selection", "spu_shop", "unpublish",
]


@dataclass(frozen=True)
class SpuSpec:
    """A product: `specs` names each spec and the values it may take."""

    id: str
    shop: str
    title: str
    category: str
    brand: str | None = None
    description: str = ""
    images: Sequence[str] = ()
    specs: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SkuSpec:
    """A variant of an SPU: one value for each of the SPU's specs, prices and cost in one
    currency. `shop` defaults to the SPU's; `supplier` is required for dropship goods."""

    sku: str
    spu: str
    list_price: Money
    sale_price: Money
    cost: Money
    specs: Mapping[str, str] = field(default_factory=dict)
    shop: str | None = None
    is_virtual: bool = False
    is_dropship: bool = False
    supplier: str | None = None
    tags: Sequence[str] = ()
    max_per_user: int | None = None
    allowed_regions: Sequence[str] = ()


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > NAME_LENGTH:
        raise InvalidInput(f"{what}: {value!r} is not a non-empty name of at most {NAME_LENGTH} characters")
    return value


def _names(values: object, what: str) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Sequence | set | frozenset):
        raise InvalidInput(f"{what}: expected a list of names, got {type(values).__name__}")
    return sorted({_name(v, f"{what} item") for v in values})


def _exists(uow: UnitOfWork, column: Any, value: str) -> bool:
    return uow.session.execute(select(column).where(column == value)).first() is not None


def add_category(uow: UnitOfWork, code: str, name: str, parent: str | None = None) -> None:
    """Add a category under `parent` (a root when None); commits. Adding the same category
    again changes nothing; the same code with another name or parent is a conflict."""
    _name(code, "code")
    _name(name, "name")
    write_lock(uow.session.connection())
    if parent is not None and not _exists(uow, CATEGORIES.c.code, _name(parent, "parent")):
        raise NotFound(f"parent: category {parent!r} does not exist", code="catalog.category.unknown")
    row = uow.session.execute(select(CATEGORIES).where(CATEGORIES.c.code == code)).first()
    if row is not None:
        if (row.name, row.parent) != (name, parent):
            raise Conflict(f"category {code!r} exists already as {row.name!r} under {row.parent!r}",
                           code="catalog.category.exists")
        return
    uow.session.execute(insert(CATEGORIES).values(code=code, name=name, parent=parent))
    uow.commit()


def add_brand(uow: UnitOfWork, code: str, name: str) -> None:
    """Add a brand; commits. The same brand again changes nothing; another name conflicts."""
    _name(code, "code")
    _name(name, "name")
    write_lock(uow.session.connection())
    row = uow.session.execute(select(BRANDS).where(BRANDS.c.code == code)).first()
    if row is not None:
        if row.name != name:
            raise Conflict(f"brand {code!r} exists already as {row.name!r}", code="catalog.brand.exists")
        return
    uow.session.execute(insert(BRANDS).values(code=code, name=name))
    uow.commit()


def create_spu(uow: UnitOfWork, spec: SpuSpec) -> str:
    """Create an SPU in an existing category (and brand, when named); commits; its id."""
    for what in ("id", "shop", "title"):
        _name(getattr(spec, what), what)
    if not isinstance(spec.description, str):
        raise InvalidInput("description: expected text")
    images = list(spec.images) if not isinstance(spec.images, str) else None
    if images is None or not all(isinstance(i, str) and i for i in images):
        raise InvalidInput("images: expected a list of image URLs")
    if not isinstance(spec.specs, Mapping):
        raise InvalidInput("specs: expected {spec name: [values]}")
    specs: dict[str, list[str]] = {}
    for key, values in spec.specs.items():
        options = _names(values, f"specs.{key}")
        if not options:
            raise InvalidInput(f"specs.{key}: a spec needs at least one value")
        specs[_name(key, "spec name")] = options
    write_lock(uow.session.connection())
    if not _exists(uow, CATEGORIES.c.code, spec.category):
        raise NotFound(f"category: {spec.category!r} does not exist", code="catalog.category.unknown")
    if spec.brand is not None and not _exists(uow, BRANDS.c.code, spec.brand):
        raise NotFound(f"brand: {spec.brand!r} does not exist", code="catalog.brand.unknown")
    if _exists(uow, SPUS.c.id, spec.id):
        raise Conflict(f"spu {spec.id!r} exists already", code="catalog.spu.exists")
    uow.session.execute(insert(SPUS).values(
        id=spec.id, shop=spec.shop, title=spec.title, category=spec.category, brand=spec.brand,
        description=spec.description, images=json.dumps(images, ensure_ascii=False),
        specs=json.dumps(specs, sort_keys=True, ensure_ascii=False)))
    uow.commit()
    return spec.id


def _prices(spec: SkuSpec) -> str:
    for what in ("list_price", "sale_price", "cost"):
        value = getattr(spec, what)
        if not isinstance(value, Money):
            raise InvalidInput(f"{what}: expected Money, got {type(value).__name__}")
        exact(value.amount, what)
    currencies = {spec.list_price.currency, spec.sale_price.currency, spec.cost.currency}
    if len(currencies) != 1:
        raise InvalidInput(f"prices: list price, sale price and cost must share one currency, got "
                           f"{', '.join(sorted(currencies))}")
    if spec.list_price.amount <= 0 or spec.sale_price.amount <= 0:
        raise InvalidInput(f"prices: list price {spec.list_price} and sale price {spec.sale_price} "
                           "must both be more than zero")
    if spec.cost.amount < 0:
        raise InvalidInput(f"cost: {spec.cost} must not be negative")
    if spec.sale_price > spec.list_price:
        raise InvalidInput(f"sale_price: {spec.sale_price} is above the list price {spec.list_price}")
    return spec.list_price.currency


def _spec_values(definition: Mapping[str, list[str]], values: object) -> dict[str, str]:
    if not isinstance(values, Mapping):
        raise InvalidInput("specs: expected {spec name: value}")
    unknown = sorted(set(values) - set(definition))
    if unknown:
        raise InvalidInput(f"specs: {', '.join(map(str, unknown))} not defined by the SPU "
                           f"(it defines {', '.join(sorted(definition)) or 'none'})")
    missing = sorted(set(definition) - set(values))
    if missing:
        raise InvalidInput(f"specs: a value is needed for {', '.join(missing)}")
    for key, value in values.items():
        if value not in definition[key]:
            raise InvalidInput(f"specs.{key}: {value!r} is not one of {', '.join(definition[key])}")
    return {str(k): str(v) for k, v in values.items()}


def create_sku(uow: UnitOfWork, spec: SkuSpec) -> str:
    """Create a draft SKU of an existing SPU; commits; its code. Checked: prices positive and
    in one currency, sale price not above list price, cost not negative, spec values among
    the SPU's, a supplier for dropship goods, a positive per-user limit."""
    _name(spec.sku, "sku")
    currency = _prices(spec)
    if spec.is_dropship and spec.supplier is None:
        raise InvalidInput("supplier: dropship goods need the supplier that ships them")
    if spec.supplier is not None:
        _name(spec.supplier, "supplier")
    limit = spec.max_per_user
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidInput(f"max_per_user: {limit!r} is not a whole number of 1 or more (or None)")
    tags, regions = _names(spec.tags, "tags"), _names(spec.allowed_regions, "allowed_regions")
    write_lock(uow.session.connection())
    spu = uow.session.execute(select(SPUS).where(SPUS.c.id == spec.spu)).first()
    if spu is None:
        raise NotFound(f"spu: {spec.spu!r} does not exist", code="catalog.spu.unknown")
    if not _exists(uow, CATEGORIES.c.code, spu.category):
        raise NotFound(f"category: {spu.category!r} of spu {spec.spu!r} does not exist",
                       code="catalog.category.unknown")
    if spec.shop is not None and spec.shop != spu.shop:
        raise InvalidInput(f"shop: {spec.shop!r} is not the shop of spu {spec.spu!r} ({spu.shop!r})")
    values = _spec_values(json.loads(spu.specs), spec.specs)
    if _exists(uow, SKUS.c.sku, spec.sku):
        raise Conflict(f"sku {spec.sku!r} exists already", code="catalog.sku.exists")
    uow.session.execute(insert(SKUS).values(
        sku=spec.sku, spu=spec.spu, shop=spu.shop, specs=json.dumps(values, sort_keys=True, ensure_ascii=False),
        currency=currency, list_price=spec.list_price.amount, sale_price=spec.sale_price.amount,
        cost=spec.cost.amount, is_virtual=bool(spec.is_virtual), is_dropship=bool(spec.is_dropship),
        supplier=spec.supplier, tags=json.dumps(tags, ensure_ascii=False), status=DRAFT,
        max_per_user=limit, allowed_regions=json.dumps(regions, ensure_ascii=False), sales=0))
    uow.commit()
    return spec.sku


def _move(uow: UnitOfWork, sku: str, to: str, allowed: tuple[str, ...], values: dict[str, Any]) -> None:
    write_lock(uow.session.connection())
    moved = uow.session.execute(update(SKUS).where(SKUS.c.sku == sku, SKUS.c.status.in_(allowed))
                                .values(status=to, **values))
    if moved.rowcount == 1:  # type: ignore[attr-defined]
        uow.commit()
        return
    row = uow.session.execute(select(SKUS.c.status).where(SKUS.c.sku == sku)).first()
    if row is None:
        raise NotFound(f"sku {sku!r} does not exist", code="catalog.sku.unknown")
    if row.status != to:  # already there: a repeat changes nothing
        raise Conflict(f"sku {sku!r} is {row.status}: it cannot become {to}", code="catalog.sku.state")


def publish(uow: UnitOfWork, sku: str, now: datetime) -> None:
    """Put a draft or unpublished SKU on sale (上架); commits; a repeat changes nothing."""
    _move(uow, sku, PUBLISHED, (DRAFT, UNPUBLISHED), {"published_at": utc(now)})


def unpublish(uow: UnitOfWork, sku: str, now: datetime) -> None:
    """Take a published SKU off sale (下架); commits; a repeat changes nothing."""
    _move(uow, sku, UNPUBLISHED, (PUBLISHED,), {"unpublished_at": utc(now)})


def approve_below_cost(uow: UnitOfWork, sku: str, by: str, why: str, now: datetime) -> None:
    """Allow `sku` to be paid below its cost after promotions (who and why are kept);
    commits. Approving again replaces who and why."""
    _name(by, "by")
    if not isinstance(why, str) or not why.strip():
        raise InvalidInput("why: an approval to sell below cost needs a reason")
    write_lock(uow.session.connection())
    moved = uow.session.execute(update(SKUS).where(SKUS.c.sku == sku).values(
        below_cost_approved_by=by, below_cost_approved_why=why, below_cost_approved_at=utc(now)))
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound(f"sku {sku!r} does not exist", code="catalog.sku.unknown")
    uow.commit()
