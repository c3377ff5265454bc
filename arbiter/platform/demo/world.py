"""The demo world: the platform's own shop (自营) selling a phone from the Shanghai warehouse
and the same phone's 256 GB model dropshipped by its maker, a 100-yuan phone top-up bought in
real time from a top-up supplier, and the promotions of the demo rules made live. Built with
the modules' own use cases, as an operator would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from arbiter.money import Money
from arbiter.platform.catalog import service as catalog
from arbiter.platform.catalog.service import SkuSpec, SpuSpec
from arbiter.platform.db import UnitOfWork
from arbiter.platform.inventory import service as inventory
from arbiter.platform.promotions import lifecycle
from arbiter.platform.promotions import service as promotions
from arbiter.platform.promotions.coupons import NEW_USER, PLATFORM, TemplateSpec
from arbiter.platform.promotions.pricing import define_budgets
from arbiter.platform.runtime import SELF_OPERATED_SHOP, Platform
from arbiter.platform.suppliers import service as suppliers

PHONE = "SKU-PHONE-X1-128"  # ships from our warehouse (入仓)
PHONE_DROPSHIP = "SKU-PHONE-X1-256"  # the maker ships it (代发)
TOP_UP = "SKU-TOPUP-100"  # virtual: a real-time purchase (实时采购)
EARBUDS = "SKU-EARBUDS-1"  # the phone's gift
WAREHOUSE = "WH-SH"
STOCK_SUPPLIER, DROPSHIP_SUPPLIER, TOPUP_SUPPLIER = "sup-phone-stock", "sup-phone-direct", "sup-topup"
PHONE_STOCK = 100
EARBUDS_STOCK = 500


@dataclass(frozen=True)
class World:
    shop: str
    warehouse: str
    purchase_order: str


def _m(amount: str) -> Money:
    return Money.of(amount)


def build(uow: UnitOfWork, platform: Platform, now: datetime) -> World:
    """Create the demo world in an empty database. Commits."""
    shop = SELF_OPERATED_SHOP
    for code, name in (("digital", "数码"), ("phone", "手机"), ("accessory", "配件"), ("top_up", "话费充值")):
        catalog.add_category(uow, code, name, None if code == "digital" else "digital")
    catalog.add_brand(uow, "arbiter-mobile", "阿比特手机")
    catalog.create_spu(uow, SpuSpec("SPU-PHONE-X1", shop, "X1 手机", "phone", "arbiter-mobile",
                                    "a 6.1-inch phone", ("x1.jpg",), {"storage": ["128G", "256G"]}))
    catalog.create_spu(uow, SpuSpec("SPU-EARBUDS", shop, "无线耳机", "accessory", "arbiter-mobile"))
    catalog.create_spu(uow, SpuSpec("SPU-TOPUP", shop, "话费充值", "top_up"))
    catalog.create_sku(uow, SkuSpec(PHONE, "SPU-PHONE-X1", _m("4299.00"), _m("3999.00"), _m("3100.00"),
                                    {"storage": "128G"}, max_per_user=2))
    catalog.create_sku(uow, SkuSpec(PHONE_DROPSHIP, "SPU-PHONE-X1", _m("4799.00"), _m("4599.00"), _m("3600.00"),
                                    {"storage": "256G"}, is_dropship=True, supplier=DROPSHIP_SUPPLIER))
    catalog.create_sku(uow, SkuSpec(EARBUDS, "SPU-EARBUDS", _m("199.00"), _m("199.00"), _m("60.00")))
    catalog.create_sku(uow, SkuSpec(TOP_UP, "SPU-TOPUP", _m("100.00"), _m("100.00"), _m("98.50"),
                                    is_virtual=True, supplier=TOPUP_SUPPLIER))
    for sku in (PHONE, PHONE_DROPSHIP, EARBUDS, TOP_UP):
        catalog.publish(uow, sku, now)

    inventory.add_warehouse(uow, WAREHOUSE, "上海仓", "上海", ["上海", "江苏", "浙江", "安徽"], priority=10)
    suppliers.onboard(uow, STOCK_SUPPLIER, "X1 手机总代", "stock_purchase", now=now)
    suppliers.onboard(uow, DROPSHIP_SUPPLIER, "X1 手机厂商直发", "dropship", now=now)
    suppliers.onboard(uow, TOPUP_SUPPLIER, "话费充值服务商", "realtime_api", settlement_days=7, now=now)
    po = suppliers.create_purchase_order(uow, STOCK_SUPPLIER, WAREHOUSE, [
        (PHONE, PHONE_STOCK, _m("3100.00")), (EARBUDS, EARBUDS_STOCK, _m("60.00"))], now)
    suppliers.receive_purchase_order(uow, po, now)
    uow.commit()

    program = platform.ruleset.program
    define_budgets(platform.budgets, program)
    lifecycle.approve_all(uow, program, "demo", "the demo's promotions are live", now)
    promotions.define_template(uow, TemplateSpec(
        code="newbie_30", display="新人券 满99减30", kind=NEW_USER, threshold=_m("99.00"), value=_m("30.00"),
        days_after_claim=7, claim_limit=1, device_limit=1, promotion="newbie_coupon"), now)
    promotions.define_template(uow, TemplateSpec(
        code="platform_40", display="平台券 满280减40", kind=PLATFORM, threshold=_m("280.00"), value=_m("40.00"),
        days_after_claim=3, claim_limit=1), now)  # platform_coupon_40 declares no budget
    uow.commit()
    return World(shop, WAREHOUSE, po)
