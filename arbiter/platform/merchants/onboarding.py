"""Onboarding (入驻) and the lifecycle of a merchant and its shop.

    apply -> applied --review(approve)--> approved --pay_deposit--> active (the shop opens)
                     --review(reject)---> rejected (the reasons kept; the merchant may apply again)
    active <-> restricted (cannot publish)      active | restricted <-> suspended (cannot sell)
    active | restricted | suspended --close--> closed (settled out, deposit back net of claims)

Every change is recorded with its reason and who made it. The deposit (保证金) is money the
merchant pays in to the clearing institution; the ledger holds it on the shop's deposit
account, the one settlement also reads (`merchant:SHOP:deposit`, accounts.DEPOSIT):

    platform:clearing <- merchant:SHOP:deposit        (paid, once per shop)

Paying it opens the shop for settlement (T+N days after an order completes, N by the
merchant's type). Closing takes the claims against the shop from the deposit, returns the
rest to the shop's available balance and pays that out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.aftersales import service as aftersales
from arbiter.platform.catalog import service as catalog
from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.ledger.service import Transfer, TransferConflict
from arbiter.platform.ledger.values import check_name
from arbiter.platform.merchants.models import (
    ACTIVE,
    APPLIED,
    APPROVED,
    BRAND_FLAGSHIP,
    CHANGES,
    CLOSED,
    ENTERPRISE,
    INDIVIDUAL,
    MERCHANTS,
    REJECTED,
    RESTRICTED,
    SUSPENDED,
    TYPES,
)
from arbiter.platform.runtime import SELF_OPERATED_SHOP
from arbiter.platform.settlement import service as settlement
from arbiter.platform.sql import insert_if_absent, write_lock

DEPOSITS = {INDIVIDUAL: Decimal("2000.00"), ENTERPRISE: Decimal("10000.00"), BRAND_FLAGSHIP: Decimal("50000.00")}
REQUIRED = {INDIVIDUAL: ("identity",), ENTERPRISE: ("business_license",),
            BRAND_FLAGSHIP: ("business_license", "trademark")}  # the qualifications each type must show
# Settlement T+N days after an order completes: a brand's flagship is trusted soonest. Each
# is shorter than the after-sales window, so that a refund may still follow settlement.
CYCLE_DAYS = {INDIVIDUAL: 5, ENTERPRISE: 3, BRAND_FLAGSHIP: 1}
MOVES = {ACTIVE: (RESTRICTED, SUSPENDED), RESTRICTED: (ACTIVE, SUSPENDED), SUSPENDED: (ACTIVE, RESTRICTED)}
OPEN = (ACTIVE, RESTRICTED, SUSPENDED)
PLATFORM = "platform"


@dataclass(frozen=True)
class MerchantView:
    id: str
    name: str
    type: str
    status: str
    shop: str
    shop_name: str
    categories: tuple[str, ...]
    qualifications: dict[str, str]
    deposit: Money  # the deposit its type requires
    opened_at: datetime | None

    @property
    def open(self) -> bool:
        return self.status in OPEN


@dataclass(frozen=True)
class Change:
    from_status: str | None
    to_status: str
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Closing:
    """The outcome of closing a shop; `reason` says why it could not close (nothing moved)."""

    merchant: str
    claims: Money  # taken from the deposit
    deposit_returned: Money
    paid_out: Money
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def _view(row: Any) -> MerchantView:
    return MerchantView(row.id, row.name, row.type, row.status, row.shop, row.shop_name,
                        tuple(json.loads(row.categories)), json.loads(row.qualifications),
                        Money(row.deposit, row.currency), as_utc(row.opened_at))


def find(uow: UnitOfWork, merchant_id: str) -> MerchantView | None:
    row = uow.session.execute(select(MERCHANTS).where(MERCHANTS.c.id == merchant_id)).first()
    return None if row is None else _view(row)


def merchant(uow: UnitOfWork, merchant_id: str) -> MerchantView:
    found = find(uow, merchant_id)
    if found is None:
        raise NotFound(f"merchant {merchant_id!r} does not exist", code="merchants.merchant.unknown")
    return found


def merchant_of_shop(uow: UnitOfWork, shop: str) -> MerchantView | None:
    row = uow.session.execute(select(MERCHANTS).where(MERCHANTS.c.shop == shop)).first()
    return None if row is None else _view(row)


def merchants(uow: UnitOfWork, *, status: str | None = None) -> list[MerchantView]:
    query = select(MERCHANTS).order_by(MERCHANTS.c.id)
    if status is not None:
        query = query.where(MERCHANTS.c.status == status)
    return [_view(r) for r in uow.session.execute(query)]


def history(uow: UnitOfWork, merchant_id: str) -> list[Change]:
    """Every status change of the merchant, oldest first."""
    rows = uow.session.execute(select(CHANGES).where(CHANGES.c.merchant == merchant_id).order_by(CHANGES.c.id))
    return [Change(r.from_status, r.to_status, r.reason, r.by, utc(r.at)) for r in rows]


def _reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("reason: every change of a merchant's status needs a reason")
    if len(reason) > 200:
        raise InvalidInput(f"reason: at most 200 characters, got {len(reason)}")
    return reason.strip()


def _record(uow: UnitOfWork, merchant_id: str, before: str | None, after: str, reason: str, by: str,
            now: datetime) -> None:
    uow.session.execute(insert(CHANGES).values(merchant=merchant_id, from_status=before, to_status=after,
                                               reason=reason, by=by, at=utc(now)))


def _move(uow: UnitOfWork, current: MerchantView, to: str, reason: str, by: str, now: datetime,
          **values: Any) -> MerchantView:
    """Compare-and-set the status and record the change (does not commit)."""
    why, who = _reason(reason), check_name(by, "by")
    done = uow.session.execute(update(MERCHANTS).where(MERCHANTS.c.id == current.id,
                                                       MERCHANTS.c.status == current.status)
                               .values(status=to, **values))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"merchant {current.id} moved on meanwhile; look at it again", code="merchants.moved")
    _record(uow, current.id, current.status, to, why, who, now)
    return merchant(uow, current.id)


def _categories(categories: object) -> list[str]:
    if isinstance(categories, str) or not isinstance(categories, Sequence | set | frozenset):
        raise InvalidInput("categories: expected a list of category codes")
    scope = sorted({check_name(c, "categories item") for c in categories})
    if not scope:
        raise InvalidInput("categories: name at least one category the shop will sell in")
    return scope


def _qualifications(type: str, qualifications: object) -> dict[str, str]:
    if not isinstance(qualifications, Mapping):
        raise InvalidInput("qualifications: expected {name: document reference}")
    shown = {check_name(k, "qualification"): check_name(v, f"qualifications.{k}") for k, v in qualifications.items()}
    missing = [q for q in REQUIRED[type] if q not in shown]
    if missing:
        raise InvalidInput(f"qualifications: a {type} merchant must show {', '.join(missing)}")
    return dict(sorted(shown.items()))


def apply(uow: UnitOfWork, merchant_id: str, *, name: str, type: str, shop: str, shop_name: str,
          categories: Sequence[str], qualifications: Mapping[str, str], now: datetime,
          currency: str = "CNY") -> MerchantView:
    """A merchant applies to open `shop` selling in `categories`, showing its
    `qualifications` (document references). Commits. The same application again returns it;
    a rejected merchant may apply again (with new details); otherwise other details conflict."""
    for value, what in ((merchant_id, "merchant_id"), (name, "name"), (shop_name, "shop_name")):
        check_name(value, what)
    accounts.merchant_account(shop, accounts.DEPOSIT)  # the shop code names its ledger accounts
    if shop == SELF_OPERATED_SHOP:
        raise InvalidInput(f"shop: {shop!r} is the platform's own shop")
    if type not in TYPES:
        raise InvalidInput(f"type: {type!r} is not one of {', '.join(TYPES)}")
    Money.zero(currency)
    details = dict(name=name, type=type, shop=shop, shop_name=shop_name, categories=json.dumps(_categories(categories)),
                   qualifications=json.dumps(_qualifications(type, qualifications), sort_keys=True),
                   deposit=DEPOSITS[type], currency=currency)
    write_lock(uow.session.connection())
    taken = merchant_of_shop(uow, shop)
    if taken is not None and taken.id != merchant_id:
        raise Conflict(f"shop {shop!r} is taken", code="merchants.shop.taken")
    row = uow.session.execute(select(MERCHANTS).where(MERCHANTS.c.id == merchant_id)).first()
    if row is None:
        inserted = uow.session.execute(insert_if_absent(MERCHANTS, uow.engine.dialect.name, dict(
            id=merchant_id, status=APPLIED, created_at=utc(now), **details)).returning(MERCHANTS.c.id)).first()
        if inserted is None:  # a racing application took the id or the shop first
            raise Conflict(f"merchant {merchant_id!r} or shop {shop!r} was just taken", code="merchants.shop.taken")
        _record(uow, merchant_id, None, APPLIED, "applied", merchant_id, now)
        uow.commit()
        return merchant(uow, merchant_id)
    same = all(getattr(row, k) == v for k, v in details.items())
    if row.status == REJECTED:
        uow.session.execute(update(MERCHANTS).where(MERCHANTS.c.id == merchant_id).values(**details))
        _move(uow, _view(row), APPLIED, "applied again", merchant_id, now)
        uow.commit()
        return merchant(uow, merchant_id)
    uow.session.rollback()
    if not same:
        raise Conflict(f"merchant {merchant_id} applied before with other details (it is {row.status})",
                       code="merchants.application.conflict")
    return _view(row)


def review(uow: UnitOfWork, merchant_id: str, *, approve: bool, reasons: Sequence[str], by: str,
           now: datetime) -> MerchantView:
    """The platform reviews the application: approved (the deposit is due next) or rejected
    with its reasons (at least one). Commits."""
    current = merchant(uow, merchant_id)
    if current.status != APPLIED:
        raise Conflict(f"merchant {merchant_id} is {current.status}: only an application is reviewed",
                       code="merchants.state")
    if isinstance(reasons, str):
        raise InvalidInput("reasons: expected a list of reasons")
    reason = "; ".join(r.strip() for r in reasons if isinstance(r, str) and r.strip())
    if not reason and not approve:
        raise InvalidInput("reasons: a rejection says why")
    done = _move(uow, current, APPROVED if approve else REJECTED, reason or "approved", by, now)
    uow.commit()
    return done


def pay_deposit(uow: UnitOfWork, merchant_id: str, *, amount: Money, reference: str, now: datetime) -> MerchantView:
    """The approved merchant's deposit arrived at the clearing institution (`reference` is its
    receipt): it is held on the shop's deposit account and the shop opens, settled T+N from
    now on. The amount must be the deposit its type requires. Commits; a repeat with the same
    receipt changes nothing, another receipt is a Conflict (the deposit is paid once)."""
    current = merchant(uow, merchant_id)
    check_name(reference, "reference")
    if current.open or current.status == CLOSED:
        paid = ledger.transfer(uow, _deposit_id(current.shop))
        if paid is not None and paid.ref != reference:
            raise Conflict(f"the deposit of {current.shop} was paid already, under receipt {paid.ref}",
                           code="merchants.deposit.paid")
        return current
    if current.status != APPROVED:
        raise Conflict(f"merchant {merchant_id} is {current.status}: the deposit follows approval",
                       code="merchants.state")
    if not isinstance(amount, Money) or amount != current.deposit:
        raise InvalidInput(f"amount: the deposit of a {current.type} merchant is {current.deposit}, not {amount}")
    settlement.configure_shop(uow, current.shop, cycle_days=CYCLE_DAYS[current.type], policy="net_next_cycle",
                              currency=current.deposit.currency, now=now)
    try:
        posted = ledger.post(uow, [Transfer(_deposit_id(current.shop), accounts.CLEARING,
                                            accounts.merchant_account(current.shop, accounts.DEPOSIT),
                                            current.deposit, "merchant.deposit.paid", reference)],
                             now, batch=f"deposit:{current.shop}")
    except TransferConflict as exc:  # another receipt won a race for it
        raise Conflict(f"the deposit of {current.shop} was paid already, under another receipt",
                       code="merchants.deposit.paid") from exc
    if not posted.ok:
        raise Conflict(f"the deposit of {current.shop} could not be posted: {posted.reason}")
    opened = _move(uow, current, ACTIVE, f"deposit {current.deposit} paid ({reference}): the shop opens", PLATFORM,
                   now, opened_at=utc(now))
    uow.commit()
    return opened


def _deposit_id(shop: str) -> str:
    return f"merchant:{shop}:deposit:paid"


def change_status(uow: UnitOfWork, merchant_id: str, to: str, *, reason: str, by: str,
                  now: datetime) -> MerchantView:
    """Restrict (no publishing), suspend (no selling: its goods go off sale) or reactivate an
    open shop, with the reason. Commits; asking for the status it has changes nothing."""
    current = merchant(uow, merchant_id)
    if to == current.status:
        return current
    if to not in MOVES.get(current.status, ()):
        raise Conflict(f"merchant {merchant_id} is {current.status}: it cannot become {to}", code="merchants.state")
    moved = _move(uow, current, to, reason, by, now)
    uow.commit()
    if to == SUSPENDED:
        _off_sale(uow, current.shop, now)
    return moved


def _off_sale(uow: UnitOfWork, shop: str, now: datetime) -> None:
    for sku in catalog.list_skus(uow, shop=shop, status=catalog.PUBLISHED):
        catalog.unpublish(uow, sku.sku, now)


def close(uow: UnitOfWork, merchant_id: str, *, reason: str, by: str, now: datetime,
          clearing: settlement.ClearingInstitution, claims: Money | None = None) -> Closing:
    """Close the shop once nothing waits for it: every order line settled, no after-sales
    case open. Its goods go off sale, the `claims` against it are paid from the deposit, the
    rest of the deposit goes to its available balance and the whole balance is paid out.
    Refused (a value, nothing moved) while something waits, or when the claims are more than
    the deposit and the balance together. Commits."""
    current = merchant(uow, merchant_id)
    _reason(reason)
    zero = Money.zero(current.deposit.currency)
    claims = zero if claims is None else claims
    if not isinstance(claims, Money) or claims.currency != zero.currency or claims.amount < 0:
        raise InvalidInput(f"claims: expected a non-negative amount in {zero.currency}")
    if not current.open:
        return Closing(merchant_id, zero, zero, zero, f"merchant {merchant_id} is {current.status}, not open")
    waiting = [x.id for x in settlement.lines_of(uow, shop=current.shop) if x.status != "settled"]
    if waiting:
        return Closing(merchant_id, zero, zero, zero, f"{len(waiting)} order line(s) wait for settlement")
    cases = [c.id for c in aftersales.cases(uow, shop=current.shop) if c.status in aftersales.OPEN]
    if cases:
        return Closing(merchant_id, zero, zero, zero, f"{len(cases)} after-sales case(s) are open")
    _off_sale(uow, current.shop, now)
    taken, returned, refused = _settle_deposit(uow, current, claims, now)
    if refused is not None:
        return Closing(merchant_id, zero, zero, zero, refused)
    payout = settlement.balances(uow, current.shop).available
    if payout.amount > 0:
        done = settlement.withdraw(uow, current.shop, payout, key=f"close:{current.shop}:{utc(now):%Y%m%dT%H%M%S}",
                                   clearing=clearing, now=now)
        if not done.ok:
            return Closing(merchant_id, taken, returned, zero, f"the final payout was refused: {done.reason}")
    _move(uow, merchant(uow, merchant_id), CLOSED, reason, by, now)
    uow.commit()
    return Closing(merchant_id, taken, returned, payout if payout.amount > 0 else zero)


def _settle_deposit(uow: UnitOfWork, current: MerchantView, claims: Money,
                    now: datetime) -> tuple[Money, Money, str | None]:
    """Pay the claims from the deposit (then from the balance) and return the rest of the
    deposit to the available balance, once: a closing retried after a refused payout finds
    them done and reads them back. Commits; (claims taken, deposit returned, None), or the
    reason nothing moved last."""
    shop = current.shop
    ids = (f"merchant:{shop}:deposit:claims", f"merchant:{shop}:balance:claims", f"merchant:{shop}:deposit:returned")
    zero = Money.zero(current.deposit.currency)
    done = [ledger.transfer(uow, i) for i in ids]
    if any(t is not None for t in done):
        amounts = [zero if t is None else t.amount for t in done]
        return amounts[0] + amounts[1], amounts[2], None
    books = settlement.balances(uow, shop)
    if books.withdrawn.amount > 0:
        return zero, zero, f"a withdrawal of {books.withdrawn} is being paid"
    if claims > books.deposit + books.available:
        return zero, zero, (f"the claims {claims} are more than the deposit {books.deposit} and the balance "
                            f"{books.available} together")
    deposit_account = accounts.merchant_account(shop, accounts.DEPOSIT)
    available_account = accounts.merchant_account(shop, accounts.AVAILABLE)
    from_deposit = min(claims, books.deposit)
    returned = books.deposit - from_deposit
    moves = [t for t in (
        Transfer(ids[0], deposit_account, accounts.CLEARING, from_deposit, "merchant.deposit.claims", current.id),
        Transfer(ids[1], available_account, accounts.CLEARING, claims - from_deposit, "merchant.balance.claims",
                 current.id),
        Transfer(ids[2], deposit_account, available_account, returned, "merchant.deposit.returned", current.id),
    ) if t.amount.amount > 0]
    if moves:
        posted = ledger.post(uow, moves, now, batch=f"deposit:{shop}:closing")
        if not posted.ok:
            uow.session.rollback()
            return zero, zero, f"the ledger refused the closing: {posted.reason}"
    uow.commit()
    return claims, returned, None
