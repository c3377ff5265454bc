"""Asset disposal (资产处置): overdue assets go to collections (催收), are packaged and sold.

An asset with a bill more than N days past due goes to collections; when a funder holds it,
the platform first buys it back at its outstanding principal with self-held funds (资产回购,
beyond their capital if need be: the obligation stands). The user may still repay it while in
collections. Assets in collections are then packaged (a package's face value is what the
users still owe on them, penalties included) and sold to a buyer: the proceeds are spread
over the assets in proportion to what each owes (floored to the cent, the leftover cents to
the first), and count first as recovered principal, then as fees. The rest is written off:
unpaid fees and penalties off the revenue, unrecovered principal to `platform:credit_losses`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import select, update

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import CENT, Money
from arbiter.platform.columns import utc
from arbiter.platform.credit import books as credit_books
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.funding import bills, books, funders
from arbiter.platform.funding.models import ASSETS, BILLS, PACKAGES
from arbiter.platform.funding.routing import asset_of
from arbiter.platform.ledger import accounts as acc
from arbiter.platform.ledger.service import Transfer
from arbiter.platform.sql import insert_if_absent, write_lock


@dataclass(frozen=True, slots=True)
class Package:
    id: str
    face_value: Money
    orders: tuple[str, ...]
    status: str
    buyer: str | None = None
    proceeds: Money | None = None


def send_to_collections(uow: UnitOfWork, *, now: datetime, after_days: int) -> list[str]:
    """Move every financed asset more than `after_days` overdue to collections, repurchasing
    those a funder holds. Returns their order ids. Commits."""
    if isinstance(after_days, bool) or not isinstance(after_days, int) or after_days < 0:
        raise InvalidInput(f"after_days: {after_days!r} must be a whole number of days, 0 or more")
    write_lock(uow.session.connection())
    held_funds = funders.self_held(uow)
    if held_funds is None:
        raise NotFound("no self-held funder is defined to take assets into collections")
    bills.assess_overdue(uow, now=now)
    moved = []
    at = utc(now)
    for order_id in bills.overdue_assets(uow, now=now, days=after_days):
        held = asset_of(uow, order_id, lock=True)
        assert held is not None
        outstanding = sum((b.principal_due for b in bills.bills_of(uow, order_id) if b.stored_status == bills.OPEN),
                          Money.zero(held.principal.currency))
        holder = funders.funder(uow, held.funder)
        values: dict[str, object] = {"status": "collections", "updated_at": at}
        if not holder.self_held and outstanding.amount:
            credit_books.post(uow, [
                books.principal_back(f"collect:{order_id}:repurchase", order_id, holder.code, False, outstanding,
                                     "funding.repurchase"),
                Transfer(f"collect:{order_id}:self_held", acc.SELF_HELD_FUNDS, acc.funder_capital(held_funds.code),
                         outstanding, "funding.self_held", order_id),
            ], now, batch=f"collect:{order_id}")
            funders.give_back(uow, holder.code, outstanding, now=now)
            funders.take(uow, held_funds.code, outstanding, now=now, beyond_capital=True)
            values |= {"funder": held_funds.code, "repurchased_at": at, "repurchase_price": outstanding.amount}
        uow.session.execute(update(ASSETS).where(ASSETS.c.order_id == order_id).values(**values))
        events.emit(uow, "credit_collections", order_id, {"user_id": held.user_id, "from": holder.code,
                                                          "principal": str(outstanding.amount)}, now)
        moved.append(order_id)
    uow.commit()
    return moved


def package_assets(uow: UnitOfWork, *, package_id: str, order_ids: Sequence[str], now: datetime) -> Package:
    """Put assets in collections into a package for sale. Commits."""
    if not order_ids:
        raise InvalidInput("order_ids: a package needs at least one asset")
    write_lock(uow.session.connection())
    if uow.session.execute(select(PACKAGES.c.id).where(PACKAGES.c.id == package_id)).first() is not None:
        found = package(uow, package_id)
        if sorted(found.orders) != sorted(order_ids):
            raise Conflict(f"package {package_id!r} holds other assets")
        return found
    face = None
    for order_id in sorted(set(order_ids)):
        held = asset_of(uow, order_id, lock=True)
        if held is None or held.status != "collections":
            raise InvalidInput(f"order {order_id}: only assets in collections can be packaged")
        owed = sum((b.owed for b in bills.bills_of(uow, order_id) if b.stored_status == bills.OPEN),
                   Money.zero(held.principal.currency))
        face = owed if face is None else face + owed
    assert face is not None
    uow.session.execute(insert_if_absent(PACKAGES, uow.engine.dialect.name, dict(
        id=package_id, currency=face.currency, face_value=face.amount, status="open", created_at=utc(now))))
    uow.session.execute(update(ASSETS).where(ASSETS.c.order_id.in_(sorted(set(order_ids))))
                        .values(status="packaged", package_id=package_id, updated_at=utc(now)))
    uow.commit()
    return package(uow, package_id)


def sell_package(uow: UnitOfWork, *, package_id: str, buyer: str, proceeds: Money, now: datetime) -> Package:
    """Sell a package for `proceeds` (at most its face value) and record them. Selling it
    again to the same buyer for the same proceeds changes nothing. Commits."""
    if not buyer:
        raise InvalidInput("buyer: who buys the package?")
    write_lock(uow.session.connection())
    found = package(uow, package_id)
    if found.status == "sold":
        if (found.buyer, found.proceeds) != (buyer, proceeds):
            raise Conflict(f"package {package_id!r} was sold to {found.buyer} for {found.proceeds}")
        return found
    if proceeds.currency != found.face_value.currency or proceeds.amount < 0 or proceeds > found.face_value \
            or proceeds.amount != proceeds.amount.quantize(CENT):
        raise InvalidInput(f"proceeds: {proceeds} must be whole cents between 0 and the face value {found.face_value}")
    held_funds = funders.self_held(uow)
    assert held_funds is not None
    shares = _shares(uow, found, proceeds)
    at = utc(now)
    for order_id, (share, owed_bills) in shares.items():
        held = asset_of(uow, order_id)
        assert held is not None
        zero = Money.zero(proceeds.currency)
        principal = sum((b.principal_due for b in owed_bills), zero)
        fees = sum((b.fee_due + b.penalty_due for b in owed_bills), zero)
        recovered = share if share <= principal else principal
        lost = principal - recovered
        p = f"dispose:{package_id}:{order_id}"
        credit_books.post(uow, [
            books.received(f"{p}:proceeds", order_id, held.user_id, share, "funding.disposal.proceeds"),
            books.principal_back(f"{p}:recovered", order_id, held_funds.code, True, recovered, "funding.disposal"),
            Transfer(f"{p}:loss", credit_books.CREDIT_LOSSES, acc.credit_receivable(held.user_id), lost,
                     "funding.disposal.loss", order_id),
            books.principal_back(f"{p}:written_off", order_id, held_funds.code, True, lost, "funding.disposal"),
            books.waived(f"{p}:fees", order_id, held.user_id, fees - (share - recovered), "funding.disposal.fees"),
        ], now, batch=p)
        funders.give_back(uow, held_funds.code, principal, now=now)
        uow.session.execute(update(BILLS).where(BILLS.c.order_id == order_id, BILLS.c.status == bills.OPEN)
                            .values(status=bills.CLOSED, closed_at=at))
        uow.session.execute(update(ASSETS).where(ASSETS.c.order_id == order_id).values(status="sold", updated_at=at))
        bills.refresh_overdue(uow, held.user_id, now=now)
    uow.session.execute(update(PACKAGES).where(PACKAGES.c.id == package_id).values(
        status="sold", buyer=buyer, proceeds=proceeds.amount, sold_at=at))
    events.emit(uow, "credit_package_sold", package_id, {"buyer": buyer, "proceeds": str(proceeds.amount),
                                                        "face_value": str(found.face_value.amount)}, now)
    uow.commit()
    return package(uow, package_id)


def package(uow: UnitOfWork, package_id: str) -> Package:
    row = uow.session.execute(select(PACKAGES).where(PACKAGES.c.id == package_id)).first()
    if row is None:
        raise NotFound(f"no package {package_id!r}")
    orders = tuple(uow.session.execute(select(ASSETS.c.order_id).where(ASSETS.c.package_id == package_id)
                                       .order_by(ASSETS.c.order_id)).scalars())
    c = row.currency
    return Package(row.id, Money(row.face_value, c), orders, row.status, row.buyer,
                   None if row.proceeds is None else Money(row.proceeds, c))


def _shares(uow: UnitOfWork, found: Package, proceeds: Money) -> dict[str, tuple[Money, list[bills.Bill]]]:
    """Each asset's part of the proceeds, in proportion to what it owes."""
    owing = {o: [b for b in bills.bills_of(uow, o) if b.stored_status == bills.OPEN] for o in found.orders}
    owed = {o: sum((b.owed for b in bs), Money.zero(proceeds.currency)) for o, bs in owing.items()}
    face = found.face_value.amount
    parts = {o: (proceeds.amount * owed[o].amount / face).quantize(CENT, rounding=ROUND_DOWN) if face else Decimal(0)
             for o in found.orders}
    if found.orders:
        parts[found.orders[0]] += proceeds.amount - sum(parts.values(), Decimal(0))
    return {o: (Money(parts[o], proceeds.currency), owing[o]) for o in found.orders}

