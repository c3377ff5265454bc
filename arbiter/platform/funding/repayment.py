"""Repayments (还款): full, partial and early payoff (提前还款) of a financed order's bills.

A repayment is spread over the open bills oldest first, and within a bill over the penalty,
then the fee, then the principal; it may run ahead into bills not yet due. It may not be
more than everything still owed. Early payoff settles the asset in one payment of: all the
unpaid principal, all penalties, the fees of the bills already due (due today or before) and
the fee of the current period (the first bill not yet due); the fees of the periods after it
are waived. `payoff_quote` says that amount; a payoff of any other amount is refused.

Each repaid principal gives the line back that much and returns to the asset's holder (the
funder's capital revolves). Once per key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, select, update

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.columns import utc
from arbiter.platform.credit import books as credit_books
from arbiter.platform.credit import lines as credit_lines
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.funding import bills, books, funders
from arbiter.platform.funding.bills import Bill, business_day
from arbiter.platform.funding.models import ASSETS, BILLS, REPAYMENTS
from arbiter.platform.funding.routing import asset_of
from arbiter.platform.sql import insert_if_absent, write_lock

MORE_THAN_OWED = "more_than_owed"
PAYOFF_MISMATCH = "payoff_amount_mismatch"
REPAYABLE = ("financed", "collections")


@dataclass(frozen=True, slots=True)
class Repayment:
    """A repayment's outcome: how the amount went to principal, fee and penalty, and the fees
    waived by a payoff; or why it was refused (`expected` then says what would be accepted)."""

    order_id: str
    amount: Money
    principal: Money
    fee: Money
    penalty: Money
    waived: Money
    reason: str | None = None
    expected: Money | None = None
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.reason is None


def owed(open_bills: list[Bill], now: datetime) -> Money:
    """Everything still owed on the open bills, penalties of today included."""
    total = Money.zero(open_bills[0].principal.currency) if open_bills else Money.zero()
    for b in open_bills:
        total = total + b.owed + b.pending_penalty(now)
    return total


def payoff_split(open_bills: list[Bill], now: datetime) -> tuple[Money, dict[int, Money]]:
    """(what an early payoff costs today, the fee waived per bill id)."""
    today = business_day(now)
    currency = open_bills[0].principal.currency if open_bills else Money.zero().currency
    total, waived = Money.zero(currency), {}
    current_seen = False
    for b in open_bills:
        total = total + b.principal_due + b.penalty_due + b.pending_penalty(now)
        if b.due_on <= today:
            total = total + b.fee_due
        elif not current_seen:
            current_seen = True
            total = total + b.fee_due
        elif b.fee_due.amount:
            waived[b.id] = b.fee_due
    return total, waived


def payoff_quote(uow: UnitOfWork, order_id: str, *, now: datetime) -> Money:
    """What paying the asset off today costs (reads only)."""
    return payoff_split([b for b in bills.bills_of(uow, order_id) if b.stored_status == bills.OPEN], now)[0]


def repay(uow: UnitOfWork, *, order_id: str, amount: Money, key: str, now: datetime,
          payoff: bool = False) -> Repayment:
    """Apply a repayment that arrived at the clearing account, once per key. Does not commit."""
    credit_lines.check_key(key)
    paying = credit_lines.positive_cents(amount, "amount")
    zero = Money.zero(amount.currency)
    write_lock(uow.session.connection())
    at = utc(now)
    claimed = uow.session.execute(insert_if_absent(REPAYMENTS, uow.engine.dialect.name, dict(
        key=key, order_id=order_id, user_id="", currency=amount.currency, amount=paying, payoff=payoff,
        allocation="{}", at=at)).returning(REPAYMENTS.c.key)).first()
    if claimed is None:
        return _replayed(uow, key, order_id, amount, payoff)
    held = asset_of(uow, order_id, lock=True)  # one repayment of an order at a time
    if held is None:
        raise NotFound(f"order {order_id} has no financed asset")

    def refuse(reason: str, expected: Money | None = None) -> Repayment:
        uow.session.execute(delete(REPAYMENTS).where(REPAYMENTS.c.key == key))
        return Repayment(order_id, amount, zero, zero, zero, zero, reason, expected)

    if held.status not in REPAYABLE:
        return refuse(f"asset_{held.status}")
    if held.principal.currency != amount.currency:
        raise InvalidInput(f"amount: order {order_id} is owed in {held.principal.currency}, not {amount.currency}")
    bills.assess_overdue(uow, now=now, order_id=order_id)
    open_bills = [b for b in bills.bills_of(uow, order_id) if b.stored_status == bills.OPEN]
    waived: dict[int, Money] = {}
    if payoff:
        expected, waived = payoff_split(open_bills, now)
        if amount != expected:
            return refuse(PAYOFF_MISMATCH, expected)
    elif amount > owed(open_bills, now):
        return refuse(MORE_THAN_OWED, owed(open_bills, now))
    shares = _allocate(open_bills, amount, waived)
    paid = {"principal": zero, "fee": zero, "penalty": zero}
    for b in open_bills:
        got = shares.get(b.id)
        if got is None:
            continue
        principal, fee, penalty = got
        done = (b.principal_due == principal and b.fee_due == fee + waived.get(b.id, zero)
                and b.penalty_due == penalty)
        uow.session.execute(update(BILLS).where(BILLS.c.id == b.id).values(
            principal_paid=BILLS.c.principal_paid + principal.amount, fee_paid=BILLS.c.fee_paid + fee.amount,
            penalty_paid=BILLS.c.penalty_paid + penalty.amount,
            fee_waived=BILLS.c.fee_waived + waived.get(b.id, zero).amount,
            status=bills.PAID if done else bills.OPEN, paid_at=at if done else None))
        paid = {"principal": paid["principal"] + principal, "fee": paid["fee"] + fee,
                "penalty": paid["penalty"] + penalty}
    waived_total = sum(waived.values(), zero)
    holder = funders.funder(uow, held.funder)
    credit_books.post(uow, [
        books.received(f"repay:{key}:received", order_id, held.user_id, amount),
        books.principal_back(f"repay:{key}:principal", order_id, holder.code, holder.self_held, paid["principal"]),
        books.waived(f"repay:{key}:waived", order_id, held.user_id, waived_total),
    ], now, batch=f"repay:{key}")
    if paid["principal"].amount:
        funders.give_back(uow, holder.code, paid["principal"], now=now)
        credit_lines.restore(uow, held.user_id, order_id, paid["principal"], f"repay:{key}:line", now=now)
    if all(b.stored_status == bills.PAID for b in bills.bills_of(uow, order_id)):
        uow.session.execute(update(ASSETS).where(ASSETS.c.order_id == order_id).values(status="repaid", updated_at=at))
    bills.refresh_overdue(uow, held.user_id, now=now)
    allocation = {k: str(v.amount) for k, v in paid.items()} | {"waived": str(waived_total.amount)}
    uow.session.execute(update(REPAYMENTS).where(REPAYMENTS.c.key == key).values(
        user_id=held.user_id, allocation=json.dumps(allocation, sort_keys=True)))
    events.emit(uow, "credit_repay", order_id, {"user_id": held.user_id, "amount": str(amount.amount), **allocation},
                now, key=f"credit_repay:{key}")
    return Repayment(order_id, amount, paid["principal"], paid["fee"], paid["penalty"], waived_total)


def _allocate(open_bills: list[Bill], amount: Money, waived: dict[int, Money]) -> dict[int, tuple[Money, Money, Money]]:
    """Per bill id: (principal, fee, penalty) taken from `amount`, oldest bill first and
    penalty, fee, principal within each."""
    zero = Money.zero(amount.currency)
    left = amount
    shares: dict[int, tuple[Money, Money, Money]] = {}
    for b in open_bills:
        if left.is_zero() and b.id not in waived:
            break
        parts = []
        for due in (b.penalty_due, b.fee_due - waived.get(b.id, zero), b.principal_due):
            take = due if due <= left else left
            parts.append(take)
            left = left - take
        penalty, fee, principal = parts
        shares[b.id] = (principal, fee, penalty)
    return shares


def _replayed(uow: UnitOfWork, key: str, order_id: str, amount: Money, payoff: bool) -> Repayment:
    first = uow.session.execute(select(REPAYMENTS).where(REPAYMENTS.c.key == key)).one()
    if first.order_id != order_id or first.amount != amount.amount or bool(first.payoff) != payoff:
        raise Conflict(f"repayment key {key!r} was used for {first.amount} on order {first.order_id}")
    parts = {k: Money(Decimal(v), amount.currency) for k, v in json.loads(first.allocation).items()}
    zero = Money.zero(amount.currency)
    return Repayment(order_id, amount, parts.get("principal", zero), parts.get("fee", zero),
                     parts.get("penalty", zero), parts.get("waived", zero), replayed=True)
