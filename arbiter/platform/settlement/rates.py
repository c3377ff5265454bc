"""Commission rates (扣点) per category with per-goods overrides, and each shop's settlement
terms (cycle T+N days, policy for a negative available balance). Rates are read when an
order is paid and kept on its settlement lines, so a later change never alters them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.columns import exact, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger.values import check_name
from arbiter.platform.settlement.models import POLICIES, RATES, SHOPS
from arbiter.platform.sql import insert_if_absent, upsert, write_lock

DEFAULT = "category:*"  # the rate of categories without one of their own


@dataclass(frozen=True)
class ShopTerms:
    shop: str
    cycle_days: int
    policy: str
    currency: str


def _rate(rate: object) -> Decimal:
    if not isinstance(rate, Decimal) or not Decimal(0) <= rate < 1:
        raise InvalidInput(f"rate: {rate!r} must be a Decimal at least 0 and below 1 (0.05 is 5%)")
    return exact(rate, "rate")


def set_rate(uow: UnitOfWork, *, rate: Decimal, now: datetime, category: str | None = None,
             sku: str | None = None) -> None:
    """Set the commission rate of a category (`"*"` for the default) or one SKU's override;
    does not commit."""
    if (category is None) == (sku is None):
        raise InvalidInput("give exactly one of category and sku")
    key = f"category:{check_name(category, 'category')}" if category is not None else f"sku:{check_name(sku, 'sku')}"
    value = _rate(rate)
    statement = upsert(RATES, uow.engine.dialect.name, {"key": key, "rate": value, "updated_at": utc(now)},
                       [RATES.c.key], {"rate": value, "updated_at": utc(now)})
    uow.session.execute(statement)


def rate_for(uow: UnitOfWork, category: str, sku: str) -> Decimal:
    """The SKU's override, else its category's rate, else the default; 0 when none is set."""
    rows = {r.key: Decimal(r.rate) for r in uow.session.execute(
        select(RATES).where(RATES.c.key.in_([f"sku:{sku}", f"category:{category}", DEFAULT])))}
    for key in (f"sku:{sku}", f"category:{category}", DEFAULT):
        if key in rows:
            return rows[key]
    return Decimal(0)


def configure_shop(uow: UnitOfWork, shop: str, *, cycle_days: int, policy: str, currency: str = "CNY",
                   now: datetime) -> ShopTerms:
    """Settle `shop` from now on, T+`cycle_days` after each order completes, and open its
    ledger accounts; again with new terms changes them for the orders completed from then on
    (a line's due date is fixed when its order completes). Does not commit."""
    check_name(shop, "shop")
    accounts.merchant_account(shop, accounts.PENDING)  # a shop code the ledger can name
    if isinstance(cycle_days, bool) or not isinstance(cycle_days, int) or not 0 <= cycle_days <= 90:
        raise InvalidInput(f"cycle_days: {cycle_days!r} is not a whole number of days from 0 to 90")
    if policy not in POLICIES:
        raise InvalidInput(f"policy: {policy!r} is not one of {', '.join(POLICIES)}")
    Money.zero(currency)
    write_lock(uow.session.connection())
    values = dict(shop=shop, cycle_days=cycle_days, policy=policy, currency=currency, created_at=utc(now))
    inserted = uow.session.execute(insert_if_absent(SHOPS, uow.engine.dialect.name, values)
                                   .returning(SHOPS.c.shop)).first()
    if inserted is None:
        before = shop_terms(uow, shop)
        if before.currency != currency:
            raise Conflict(f"shop {shop} is settled in {before.currency}, not {currency}",
                           code="settlement.shop.currency")
        uow.session.execute(update(SHOPS).where(SHOPS.c.shop == shop).values(cycle_days=cycle_days, policy=policy))
    open_books(uow, shop, currency, now)
    return shop_terms(uow, shop)


def open_books(uow: UnitOfWork, shop: str, currency: str, now: datetime) -> None:
    """The shop's four accounts and the platform accounts settlement posts to (idempotent)."""
    for code in (*(accounts.merchant_account(shop, kind) for kind in accounts.MERCHANT_KINDS),
                 accounts.COMMISSION_REVENUE, accounts.SUBSIDY_EXPENSE, accounts.USER_FUNDS_IN_TRANSIT,
                 accounts.CLEARING):
        accounts.open_standard(uow, code, currency=currency, now=now)


def find_shop(uow: UnitOfWork, shop: str) -> ShopTerms | None:
    row = uow.session.execute(select(SHOPS).where(SHOPS.c.shop == shop)).first()
    return None if row is None else ShopTerms(row.shop, row.cycle_days, row.policy, row.currency)


def shop_terms(uow: UnitOfWork, shop: str) -> ShopTerms:
    found = find_shop(uow, shop)
    if found is None:
        raise NotFound(f"shop {shop!r} is not settled by the platform", code="settlement.shop.unknown")
    return found
