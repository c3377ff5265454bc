"""Shared steps of the merchant tests: a shop opened (applied, approved, deposit paid) and
the clothing categories with their commission."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from arbiter.money import Money
from arbiter.platform.catalog import service as catalog
from arbiter.platform.db import UnitOfWork
from arbiter.platform.merchants import service as merchants
from arbiter.platform.merchants.onboarding import MerchantView
from arbiter.platform.settlement import service as settlement

T0 = datetime(2026, 11, 11, 10, 0, tzinfo=timezone(timedelta(hours=8)))
LICENCE = {"business_license": "91310000MA1FL8XQ2K"}


def apply(uow: UnitOfWork, merchant_id: str = "m-a", shop: str = "shop-a", *, type: str = "enterprise",
          categories: tuple[str, ...] = ("dress", "coat"), now: datetime = T0) -> MerchantView:
    qualifications = {"identity": "ID-310101"} if type == "individual" else dict(LICENCE)
    if type == "brand_flagship":
        qualifications["trademark"] = "TM-2026-001"
    return merchants.apply(uow, merchant_id, name=f"{merchant_id} 公司", type=type, shop=shop,
                           shop_name=f"{shop} 店", categories=list(categories), qualifications=qualifications,
                           now=now)


def open_shop(uow: UnitOfWork, merchant_id: str = "m-a", shop: str = "shop-a", *, type: str = "enterprise",
              now: datetime = T0) -> MerchantView:
    applied = apply(uow, merchant_id, shop, type=type, now=now)
    merchants.review(uow, merchant_id, approve=True, reasons=[], by="reviewer-1", now=now)
    return merchants.pay_deposit(uow, merchant_id, amount=applied.deposit, reference=f"DEP-{shop}", now=now)


def clothing(uow: UnitOfWork, now: datetime = T0) -> None:
    """The clothing categories, 5% commission on each."""
    catalog.add_category(uow, "apparel", "服装")
    for code, name in (("dress", "连衣裙"), ("coat", "大衣")):
        catalog.add_category(uow, code, name, "apparel")
        settlement.set_rate(uow, category=code, rate=Decimal("0.05"), now=now)
    uow.commit()


def m(amount: str) -> Money:
    return Money.of(amount)
