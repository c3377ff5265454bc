"""The `shop.*` facts the rules read (rules/tags.rules): a shop's id, its type, when it
opened and its latest score. Read from this module's own tables only, so that the pricing
and checkout code may ask for them without pulling the rest of the module in.

    shop.type    self_operated (the platform's own shop), flagship (a brand's flagship
                 merchant) or marketplace (any other merchant); absent for a shop no
                 merchant opened, so that the rules' default applies
    shop.score   the score last computed (`scores.compute_scores`), absent before the first
    shop.opened_at  when the deposit was paid and the shop opened
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select

from arbiter.platform.columns import as_utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.merchants.models import BRAND_FLAGSHIP, MERCHANTS, SCORES
from arbiter.platform.runtime import SELF_OPERATED_SHOP

SELF_OPERATED, FLAGSHIP, MARKETPLACE = "self_operated", "flagship", "marketplace"


def shop_type(merchant_type: str) -> str:
    """The `shop.type` of a merchant's shop."""
    return FLAGSHIP if merchant_type == BRAND_FLAGSHIP else MARKETPLACE


def shop_facts(uow: UnitOfWork, shop: str, *,
               self_operated: Collection[str] = (SELF_OPERATED_SHOP,)) -> dict[str, Any]:
    """The `shop` namespace of a decision's context for `shop`."""
    if shop in self_operated:
        return {"id": shop, "type": SELF_OPERATED}
    facts: dict[str, Any] = {"id": shop}
    row = uow.session.execute(select(MERCHANTS.c.type, MERCHANTS.c.opened_at).where(MERCHANTS.c.shop == shop)).first()
    if row is not None:
        facts["type"] = shop_type(row.type)
        if row.opened_at is not None:
            facts["opened_at"] = as_utc(row.opened_at)
    score = uow.session.execute(select(SCORES.c.score).where(SCORES.c.shop == shop)).scalar()
    if score is not None:
        facts["score"] = score
    return facts
