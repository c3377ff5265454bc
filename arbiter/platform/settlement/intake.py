"""What settlement takes in: paid orders become settlement lines (rates read then and kept),
completed orders start their lines' cycle (T+N), refunds reduce the lines and claw back
what reached the merchant. The `record_*` functions take these facts directly and are
idempotent by their keys; `stream.consume` feeds them from the order and after-sales events.
Orders of shops settlement does not know (the platform's own shop) are passed over.

A line refunded in full before its order completed is owed nothing: it becomes due at once,
so that the next cycle puts it on a statement with nothing left (every paid line appears on
one statement, and a shop waits for none of its lines forever).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from arbiter.errors import ArbiterError, Conflict, InvalidInput
from arbiter.money import CENT
from arbiter.platform.columns import utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import service as ledger
from arbiter.platform.ledger.service import Posting, Transfer
from arbiter.platform.ledger.values import check_name
from arbiter.platform.settlement import books, figures
from arbiter.platform.settlement.models import (
    EARLY_REFUND,
    ENTRIES,
    LINES,
    OPEN,
    PENDING,
    REFUND,
    SETTLED,
    SHOPS,
)
from arbiter.platform.settlement.rates import find_shop, rate_for
from arbiter.platform.sql import insert_if_absent, write_lock

ZERO = Decimal(0)


class SettlementRefused(ArbiterError):
    """A posting settlement needs was refused by an account's floor, or the clearing
    institution refused an instruction; nothing was changed."""

    code = "settlement.refused"


@dataclass(frozen=True)
class PaidLine:
    line_id: str
    sku: str
    category: str
    quantity: int
    paid: Decimal  # what the user paid for the line
    allocations: tuple[Mapping[str, Any], ...] = ()  # {promotion, amount, funding: {funder: amount}}


@dataclass(frozen=True)
class PaidOrder:
    order_id: str
    shop: str
    currency: str
    lines: tuple[PaidLine, ...]
    credit: bool = False  # paid on installment credit


@dataclass(frozen=True)
class RefundedLine:
    line_id: str
    units: int
    amount: Decimal  # what the user gets back
    promotions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # {promotion: {amount, funding}}


def post(uow: UnitOfWork, transfers: Sequence[Transfer], now: datetime, batch: str) -> Posting | None:
    """Post a batch (does not commit); a floor refusal raises SettlementRefused."""
    if not transfers:
        return None
    posting = ledger.post(uow, transfers, now, batch=batch)
    if not posting.ok:
        raise SettlementRefused(f"ledger refused {batch}: {posting.reason}", code="settlement.ledger.refused")
    return posting


def _cents(value: object, what: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0 or value != value.quantize(CENT):
        raise InvalidInput(f"{what}: {value!r} is not an amount of whole cents, zero or more")
    return value


def _units(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{what}: {value!r} is not a whole number of units, at least 1")
    return value


def lock_shop(uow: UnitOfWork, shop: str) -> None:
    """Serialise with the shop's cycle and withdrawals (its settlement row, FOR UPDATE; the
    write lock on SQLite)."""
    write_lock(uow.session.connection())
    uow.session.execute(select(SHOPS.c.shop).where(SHOPS.c.shop == shop).with_for_update())


def _planned_lines(uow: UnitOfWork, order: PaidOrder) -> list[dict[str, Any]]:
    seen: set[str] = set()
    planned = []
    for index, line in enumerate(order.lines):
        where = f"order {order.order_id} lines[{index}]"
        check_name(line.line_id, f"{where}.line_id")
        if line.line_id in seen:
            raise InvalidInput(f"{where}: line {line.line_id!r} appears twice")
        seen.add(line.line_id)
        check_name(line.sku, f"{where}.sku")
        check_name(line.category, f"{where}.category")
        _units(line.quantity, f"{where}.quantity")
        paid = _cents(line.paid, f"{where}.paid")
        funding = figures.funding_totals(line.allocations, f"{where}.allocations")
        rate = rate_for(uow, line.category, line.sku)
        got = figures.line_terms(paid, funding, rate)
        planned.append(dict(
            id=f"{order.order_id}/{line.line_id}", shop=order.shop, order_id=order.order_id, line_id=line.line_id,
            sku=line.sku, category=line.category, quantity=line.quantity, currency=order.currency,
            credit_paid=order.credit, rate=rate, base=got.base, commission=got.commission, paid=got.paid,
            subsidy=got.subsidy, channel=got.channel))
    if not planned:
        raise InvalidInput(f"order {order.order_id}: lines: an order has at least one line")
    return planned


_SAME = ("shop", "sku", "quantity", "currency", "credit_paid", "paid", "subsidy", "channel")


def record_paid(uow: UnitOfWork, order: PaidOrder, now: datetime) -> bool:
    """Take a paid order in (does not commit); False when its shop is not settled here. A
    repeat with the same figures changes nothing; other figures for a line taken in before
    are a Conflict (the rate is the one read the first time)."""
    check_name(order.order_id, "order_id")
    terms = find_shop(uow, order.shop)
    if terms is None:
        return False
    if order.currency != terms.currency:
        raise InvalidInput(f"order {order.order_id}: {order.currency} is not the shop's currency {terms.currency}")
    write_lock(uow.session.connection())
    planned = _planned_lines(uow, order)
    stored = {row.id: row for row in uow.session.execute(select(LINES).where(LINES.c.order_id == order.order_id))}
    for line in planned:
        before = stored.get(line["id"])
        if before is not None:
            changed = [key for key in _SAME if getattr(before, key) != line[key]]
            if changed:
                raise Conflict(f"order line {line['id']} was taken in before with other {', '.join(changed)}",
                               code="settlement.line.conflict")
    if stored:
        if len(stored) != len(planned) or set(stored) != {x["id"] for x in planned}:
            raise Conflict(f"order {order.order_id} was taken in before with other lines ({', '.join(sorted(stored))})",
                           code="settlement.line.conflict")
        return True
    for line in planned:
        uow.session.execute(insert_if_absent(LINES, uow.engine.dialect.name, dict(
            line, status=OPEN, paid_at=utc(now), refunded_units=0, refunded_base=ZERO, refunded_commission=ZERO,
            refunded_subsidy=ZERO, refunded_paid=ZERO, refunded_channel=ZERO)))
    paid = sum((x["paid"] for x in planned), ZERO)
    channel = sum((x["channel"] for x in planned), ZERO)
    post(uow, books.paid_in(order.order_id, paid, channel, order.currency, credit=order.credit), now,
         f"stl:{order.order_id}:paid")
    return True


def left(row: Any) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(user and channel money, subsidy, commission, base) of a line not refunded yet."""
    money = (row.paid - row.refunded_paid) + (row.channel - row.refunded_channel)
    return (money, row.subsidy - row.refunded_subsidy, row.commission - row.refunded_commission,
            row.base - row.refunded_base)


def record_completed(uow: UnitOfWork, order_id: str, completed_at: datetime) -> int:
    """The order completed: its open lines go to the merchant's pending account, due T+N
    days later (does not commit). The number of lines moved; a repeat moves none."""
    check_name(order_id, "order_id")
    write_lock(uow.session.connection())
    moved = 0
    for row in uow.session.execute(select(LINES).where(LINES.c.order_id == order_id, LINES.c.status == OPEN)
                                   .order_by(LINES.c.id)).all():
        terms = find_shop(uow, row.shop)
        if terms is None:
            continue
        done = uow.session.execute(update(LINES).where(LINES.c.id == row.id, LINES.c.status == OPEN).values(
            status=PENDING, completed_at=utc(completed_at),
            due_at=utc(completed_at) + timedelta(days=terms.cycle_days)))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            continue
        money, subsidy, commission, _base = left(row)
        post(uow, books.completed(row.id, order_id, row.shop, money, subsidy, commission, row.currency),
             completed_at, f"stl:{row.id}:completed")
        moved += 1
    return moved


@dataclass(frozen=True)
class _Refund:
    row: Any
    line: RefundedLine
    subsidy: Decimal
    channel: Decimal
    base: Decimal
    back: Decimal  # commission given back
    whole: bool


def _plan_refund(uow: UnitOfWork, key: str, order_id: str, lines: Sequence[RefundedLine]) -> list[_Refund]:
    planned = []
    seen: set[str] = set()
    for index, line in enumerate(lines):
        where = f"refund {key} lines[{index}]"
        check_name(line.line_id, f"{where}.line_id")
        if line.line_id in seen:
            raise InvalidInput(f"{where}: line {line.line_id!r} appears twice")
        seen.add(line.line_id)
        row = uow.session.execute(select(LINES).where(LINES.c.id == f"{order_id}/{line.line_id}")).first()
        if row is None:
            continue  # not an order line of a settled shop
        if uow.session.execute(select(ENTRIES.c.id).where(ENTRIES.c.id == f"refund:{key}:{line.line_id}")).first():
            continue  # applied before
        units = _units(line.units, f"{where}.units")
        amount = _cents(line.amount, f"{where}.amount")
        units_left = row.quantity - row.refunded_units
        if units > units_left:
            raise InvalidInput(f"{where}: {units} unit(s) of {row.id}, which has {units_left} left")
        funding = figures.funding_totals(line.promotions.values(), f"{where}.promotions")
        subsidy, channel = funding[figures.PLATFORM], funding[figures.CHANNEL]
        paid_left = row.paid - row.refunded_paid
        subsidy_left, channel_left = row.subsidy - row.refunded_subsidy, row.channel - row.refunded_channel
        whole = units == units_left
        if whole:  # the last units take what is left, so that the pieces add up to the line
            if amount != paid_left:
                raise InvalidInput(f"{where}: the last unit(s) of {row.id} give back {paid_left}, not {amount}")
            subsidy, channel = subsidy_left, channel_left
        elif amount > paid_left or subsidy > subsidy_left or channel > channel_left or subsidy < 0 or channel < 0:
            raise InvalidInput(f"{where}: {amount} paid, {subsidy} platform-funded, {channel} channel-funded is more "
                               f"than {row.id} has left ({paid_left}, {subsidy_left}, {channel_left})")
        base = amount + subsidy + channel
        back = figures.commission_back(row.commission, row.base, row.refunded_base, base, row.refunded_commission,
                                       whole=whole)
        planned.append(_Refund(row, line, subsidy, channel, base, back, whole))
    return planned


def record_refund(uow: UnitOfWork, key: str, order_id: str, lines: Sequence[RefundedLine], now: datetime) -> int:
    """A refund of `order_id` (does not commit): each line's refunded part leaves the
    merchant's pending account, or its available one when already settled (a claw-back,
    on the next statement, which may take available below zero), commission given back pro
    rata; the user's (and the channel's) money leaves through the clearing account.
    Idempotent by `key` and line; the number of lines it changed. Bad input changes nothing."""
    check_name(key, "key")
    check_name(order_id, "order_id")
    write_lock(uow.session.connection())
    planned = _plan_refund(uow, key, order_id, lines)
    for shop in sorted({p.row.shop for p in planned}):
        lock_shop(uow, shop)
    for p in planned:
        row, line = p.row, p.line
        settled = row.status == SETTLED
        entry = f"refund:{key}:{line.line_id}"
        uow.session.execute(insert_if_absent(ENTRIES, uow.engine.dialect.name, dict(
            id=entry, shop=row.shop, kind=REFUND if settled else EARLY_REFUND, order_id=order_id,
            line_id=line.line_id, sku=row.sku, units=line.units, base=p.base, commission=p.back,
            subsidy=p.subsidy, net=-(p.base - p.back) if settled else ZERO, currency=row.currency, at=utc(now))))
        values: dict[str, Any] = dict(
            refunded_units=row.refunded_units + line.units, refunded_base=row.refunded_base + p.base,
            refunded_commission=row.refunded_commission + p.back, refunded_subsidy=row.refunded_subsidy + p.subsidy,
            refunded_paid=row.refunded_paid + line.amount, refunded_channel=row.refunded_channel + p.channel)
        if row.status == OPEN and p.whole:
            values.update(status=PENDING, due_at=utc(now))  # nothing is owed: due at once, with nothing left
        done = uow.session.execute(update(LINES).where(
            LINES.c.id == row.id, LINES.c.status == row.status, LINES.c.refunded_units == row.refunded_units,
        ).values(**values))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"settlement line {row.id} moved meanwhile; apply the refund again",
                           code="settlement.line.moved")
        source = {OPEN: None, PENDING: "pending", SETTLED: "available"}[row.status]
        out = p.channel + (ZERO if row.credit_paid else line.amount)
        post(uow, books.refunded(f"{key}:{line.line_id}", order_id, row.shop, source, line.amount + p.channel,
                                 p.subsidy, p.back, out, row.currency), now, f"stl:{entry}")
    return len(planned)


def lines_of(uow: UnitOfWork, *, shop: str | None = None, order_id: str | None = None) -> list[Any]:
    """The settlement lines (rows), of one shop and/or one order, in the order they were paid."""
    query = select(LINES).order_by(LINES.c.paid_at, LINES.c.id)
    if shop is not None:
        query = query.where(LINES.c.shop == shop)
    if order_id is not None:
        query = query.where(LINES.c.order_id == order_id)
    return list(uow.session.execute(query).all())


def waiting(uow: UnitOfWork, shop: str) -> list[Any]:
    """The shop's lines not settled yet: open (the order not completed) or pending (in their
    cycle). A shop with none owes and is owed nothing for goods."""
    return [row for row in lines_of(uow, shop=shop) if row.status != SETTLED]
