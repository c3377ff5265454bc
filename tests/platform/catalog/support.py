"""A small catalog for the tests: a phone SPU with two SKUs, a dropshipped sofa, a top-up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from arbiter.money import Money
from arbiter.platform.catalog import service as catalog
from arbiter.platform.catalog.service import SkuSpec, SpuSpec
from arbiter.platform.db import UnitOfWork

T0 = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)
SELF = "arbiter-self"


def cny(amount: str) -> Money:
    return Money.of(amount)


def run(db: Engine, fn: Any, *args: Any, **kwargs: Any) -> Any:
    with UnitOfWork(db) as uow:
        return fn(uow, *args, **kwargs)


def phone_sku(sku: str = "SKU-PHONE-X1-128", storage: str = "128G", **changes: Any) -> SkuSpec:
    values: dict[str, Any] = dict(
        sku=sku, spu="SPU-PHONE-X1", list_price=cny("4299.00"), sale_price=cny("3999.00"), cost=cny("3500.00"),
        specs={"colour": "black", "storage": storage}, tags=("new", "5g"))
    values.update(changes)
    return SkuSpec(**values)


def build(db: Engine, *, publish: bool = True) -> None:
    """Categories digital > phone and home > sofa and top-up, brands, four SKUs."""
    with UnitOfWork(db) as uow:
        catalog.add_category(uow, "digital", "数码")
        catalog.add_category(uow, "phone", "手机", parent="digital")
        catalog.add_category(uow, "home", "家居")
        catalog.add_category(uow, "sofa", "沙发", parent="home")
        catalog.add_category(uow, "topup", "话费充值")
        catalog.add_brand(uow, "apple", "Apple")
        catalog.add_brand(uow, "comfy", "Comfy")
        catalog.create_spu(uow, SpuSpec("SPU-PHONE-X1", SELF, "Phone X1", "phone", "apple",
                                        specs={"colour": ["black", "white"], "storage": ["128G", "256G"]}))
        catalog.create_spu(uow, SpuSpec("SPU-SOFA-3", "shop-home", "Sofa for three", "sofa", "comfy"))
        catalog.create_spu(uow, SpuSpec("SPU-TOPUP-100", SELF, "Top-up 100", "topup"))
        catalog.create_sku(uow, phone_sku())
        catalog.create_sku(uow, phone_sku("SKU-PHONE-X1-256", "256G", list_price=cny("4999.00"),
                                          sale_price=cny("4599.00"), cost=cny("4000.00"), max_per_user=2))
        catalog.create_sku(uow, SkuSpec("SKU-SOFA-3", "SPU-SOFA-3", cny("2999.00"), cny("2599.00"), cny("1800.00"),
                                        is_dropship=True, supplier="sup-sofa", allowed_regions=("GD", "SH")))
        catalog.create_sku(uow, SkuSpec("SKU-TOPUP-100", "SPU-TOPUP-100", cny("100.00"), cny("99.50"), cny("98.00"),
                                        is_virtual=True, supplier="sup-topup", tags=("topup",)))
        if publish:
            for sku in ("SKU-PHONE-X1-128", "SKU-PHONE-X1-256", "SKU-SOFA-3", "SKU-TOPUP-100"):
                catalog.publish(uow, sku, T0)
