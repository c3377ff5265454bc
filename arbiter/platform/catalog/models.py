"""The catalog module's tables: the category tree, brands, SPUs (a product with its spec
definition), SKUs (one sellable variant with its prices, cost, flags and limits), selection
lists, and the sales records that rankings count.

JSON columns hold lists and objects as text; amounts use the exact `Amount` column type, with
one currency per SKU for its list price, sale price and cost.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Index, Table, Text
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import NAME_LENGTH, amount_column, time_column


class CatalogCategory(SQLModel, table=True):
    """A node of the category tree (类目); `parent` is None at the root."""

    __tablename__ = "catalog_category"

    code: str = Field(primary_key=True, max_length=NAME_LENGTH)
    name: str = Field(max_length=NAME_LENGTH)
    parent: str | None = Field(default=None, max_length=NAME_LENGTH, foreign_key="catalog_category.code")


class CatalogBrand(SQLModel, table=True):
    """A brand (品牌)."""

    __tablename__ = "catalog_brand"

    code: str = Field(primary_key=True, max_length=NAME_LENGTH)
    name: str = Field(max_length=NAME_LENGTH)


class CatalogSpu(SQLModel, table=True):
    """A product (SPU) of one shop: what its SKUs share. `specs` (JSON) defines the spec
    names and the values each may take, e.g. {"colour": ["black", "white"]}."""

    __tablename__ = "catalog_spu"
    __table_args__ = (Index("ix_catalog_spu_shop", "shop"),)

    id: str = Field(primary_key=True, max_length=NAME_LENGTH)
    shop: str = Field(max_length=NAME_LENGTH)
    title: str = Field(max_length=NAME_LENGTH)
    category: str = Field(max_length=NAME_LENGTH, foreign_key="catalog_category.code")
    brand: str | None = Field(default=None, max_length=NAME_LENGTH, foreign_key="catalog_brand.code")
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    images: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of URLs
    specs: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON definition


class CatalogSku(SQLModel, table=True):
    """A sellable variant (SKU): draft -> published <-> unpublished. `sales` counts units
    sold (moved only through `catalog_sale` records, idempotent by key)."""

    __tablename__ = "catalog_sku"
    __table_args__ = (
        CheckConstraint("status in ('draft', 'published', 'unpublished')", name="ck_catalog_sku_status"),
        CheckConstraint("sale_price > 0 AND list_price > 0 AND cost >= 0", name="ck_catalog_sku_prices"),
        CheckConstraint("sale_price <= list_price", name="ck_catalog_sku_sale_le_list"),
        CheckConstraint("max_per_user IS NULL OR max_per_user > 0", name="ck_catalog_sku_max_per_user"),
        CheckConstraint("sales >= 0", name="ck_catalog_sku_sales"),
        Index("ix_catalog_sku_shop_status", "shop", "status"),
        Index("ix_catalog_sku_spu", "spu"),
    )

    sku: str = Field(primary_key=True, max_length=NAME_LENGTH)
    spu: str = Field(max_length=NAME_LENGTH, foreign_key="catalog_spu.id")
    shop: str = Field(max_length=NAME_LENGTH)
    specs: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON values
    currency: str = Field(max_length=3)
    list_price: Decimal = amount_column()
    sale_price: Decimal = amount_column()
    cost: Decimal = amount_column()
    is_virtual: bool = Field(default=False)
    is_dropship: bool = Field(default=False)
    supplier: str | None = Field(default=None, max_length=NAME_LENGTH)
    tags: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    status: str = Field(default="draft", max_length=16)
    max_per_user: int | None = Field(default=None)
    allowed_regions: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON; [] = all
    below_cost_approved_by: str | None = Field(default=None, max_length=NAME_LENGTH)
    below_cost_approved_why: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    below_cost_approved_at: datetime | None = time_column()
    sales: int = Field(default=0)
    published_at: datetime | None = time_column()
    unpublished_at: datetime | None = time_column()


class CatalogSelection(SQLModel, table=True):
    """A selection list or ranking: a rule expression over `goods.*`, how to order the SKUs
    it picks and how many to keep."""

    __tablename__ = "catalog_selection"
    __table_args__ = (CheckConstraint("size > 0", name="ck_catalog_selection_size"),)

    name: str = Field(primary_key=True, max_length=NAME_LENGTH)
    expression: str = Field(sa_column=Column(Text, nullable=False))
    sort_by: str = Field(max_length=32)
    size: int


class CatalogSale(SQLModel, table=True):
    """Units of a SKU sold, recorded once per key (an order line, say)."""

    __tablename__ = "catalog_sale"

    key: str = Field(primary_key=True, max_length=NAME_LENGTH)
    sku: str = Field(max_length=NAME_LENGTH)
    quantity: int


def table(model: type[SQLModel]) -> Table:
    found: Table = getattr(model, "__table__")  # noqa: B009 - typed as a Table here
    return found


CATEGORIES = table(CatalogCategory)
BRANDS = table(CatalogBrand)
SPUS = table(CatalogSpu)
SKUS = table(CatalogSku)
SELECTIONS = table(CatalogSelection)
SALES = table(CatalogSale)
