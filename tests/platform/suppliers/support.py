"""Suppliers for the tests: one of each kind, and a warehouse to buy into."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.engine import Engine

from arbiter.platform.db import UnitOfWork
from arbiter.platform.inventory import service as inventory
from arbiter.platform.suppliers import service as suppliers

from ..catalog.support import T0


def onboarded(db: Engine) -> None:
    """sup-phones (stock purchase, 30 days), sup-sofa (dropship, 15 days), sup-topup
    (real-time API, 7 days, a top-up costs 98.5% of its face value); warehouse WH-SH."""
    with UnitOfWork(db) as uow:
        suppliers.onboard(uow, "sup-phones", "Phones Trading", "stock_purchase", price_terms="unit cost per PO line",
                          now=T0)
        suppliers.onboard(uow, "sup-sofa", "Sofa Works", "dropship", settlement_days=15, now=T0)
        suppliers.onboard(uow, "sup-topup", "Top-up Hub", "realtime_api", settlement_days=7,
                          cost_rate=Decimal("0.985"), now=T0)
        inventory.add_warehouse(uow, "WH-SH", "Shanghai", "SH", ["SH", "JS"])
