"""Refunds: which units, how much, and whose discount comes back.

A refund covers whole units of order lines, newest unit first: refunding 1 of 3 units pays
back that unit's payable exactly (the trial split every line to units, `unit_payables`). Each
promotion's allocation on those units is reversed too, and split by funder: for every funder
but the last, the cumulative share of the units refunded so far is rounded to the cent
(ROUND_HALF_UP), and the last funder takes the rest of each unit. So a line refunded unit by
unit gives back exactly what it carried, to every funder, and every refund's shares sum to its
amount. Settlement and credit read these reversals from the `aftersales.refunded` event.

Coupons and budgets come back when every order of the checkout is closed (refunded in full
before it completed): a partial refund keeps the promotions the order earned.

An order paid on credit is refunded whole: funding first closes its bills, restores the
line, returns what the user repaid as overpayment (溢缴款) and repurchases the asset
(`orders.credit_payment.refund`), then the payment is refunded through the line's channel.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import insert, select, update

from arbiter.errors import InvalidInput
from arbiter.money import CENT, Money
from arbiter.platform.aftersales.models import Refund
from arbiter.platform.columns import utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.inventory import service as inventory
from arbiter.platform.orders import credit_payment, records, states
from arbiter.platform.orders.records import LINES, ORDERS, LineView, OrderView
from arbiter.platform.payments import service as payments
from arbiter.platform.promotions import pricing
from arbiter.platform.runtime import Platform

REFUNDS = Refund.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class RefundLine:
    line_id: str
    sku: str
    units: int
    amount: Decimal
    promotions: dict[str, dict[str, Any]]  # promotion -> {"amount": str, "funding": {funder: str}}

    def to_json(self) -> dict[str, Any]:
        return {"line_id": self.line_id, "sku": self.sku, "units": self.units, "amount": str(self.amount),
                "promotions": self.promotions}


@dataclass(frozen=True)
class RefundOutcome:
    order_id: str
    amount: Money
    lines: tuple[RefundLine, ...]
    replayed: bool = False
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def unit_funding(units: Sequence[Decimal], funding: dict[str, Decimal]) -> list[dict[str, Decimal]]:
    """Split each unit's share of one allocation between its funders, so that each unit's
    shares sum to the unit and each funder's shares sum to its funding (see the module doc)."""
    total = sum(units, Decimal(0))
    funders = sorted(funding)
    shares: list[dict[str, Decimal]] = []
    running = Decimal(0)
    before = {f: Decimal(0) for f in funders}
    for unit in units:
        running += unit
        row: dict[str, Decimal] = {}
        for funder in funders[:-1]:
            upto = (funding[funder] * running / total).quantize(CENT, rounding=ROUND_HALF_UP) if total else Decimal(0)
            row[funder] = upto - before[funder]
            before[funder] = upto
        if funders:
            row[funders[-1]] = unit - sum(row.values(), Decimal(0))
        shares.append(row)
    return shares


def _line_plan(line: LineView, units: int) -> RefundLine:
    first = line.quantity - line.refunded_units - units  # refund the newest units first
    picked = range(first, line.quantity - line.refunded_units)
    promotions: dict[str, dict[str, Any]] = {}
    for allocation in line.allocations:
        unit_amounts = [Decimal(u) for u in allocation["units"]]
        split = unit_funding(unit_amounts, {f: Decimal(a) for f, a in allocation["funding"].items()})
        amount = sum((unit_amounts[i] for i in picked), Decimal(0))
        funding: dict[str, Decimal] = {}
        for i in picked:
            for funder, share in split[i].items():
                funding[funder] = funding.get(funder, Decimal(0)) + share
        promotions[allocation["promotion"]] = {"amount": str(amount),
                                               "funding": {f: str(a) for f, a in sorted(funding.items())}}
    amount = sum((line.unit_payables[i] for i in picked), Decimal(0))
    return RefundLine(line.line_id, line.sku, units, amount, promotions)


def plan(order: OrderView, wanted: Sequence[tuple[str, int]]) -> list[RefundLine]:
    """What refunding `wanted` (line id, units) of `order` pays back, line by line."""
    lines = {line.line_id: line for line in order.lines}
    if not wanted:
        raise InvalidInput("lines: name at least one line and its units")
    out = []
    seen = set()
    for line_id, units in wanted:
        line = lines.get(line_id)
        if line is None:
            raise InvalidInput(f"lines: order {order.id} has no line {line_id!r}")
        if line_id in seen:
            raise InvalidInput(f"lines: line {line_id} is named twice")
        seen.add(line_id)
        left = line.quantity - line.refunded_units
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise InvalidInput(f"lines: units of {line_id} must be a whole number of at least 1")
        if units > left:
            raise InvalidInput(f"lines: line {line_id} has {left} unit(s) left to refund, not {units}")
        out.append(_line_plan(line, units))
    return out


def remaining(order: OrderView) -> list[tuple[str, int]]:
    return [(line.line_id, line.quantity - line.refunded_units) for line in order.lines
            if line.quantity > line.refunded_units]


def _stored(uow: UnitOfWork, key: str) -> Any:
    return uow.session.execute(select(REFUNDS).where(REFUNDS.c.key == key)).first()


def refund_units(uow: UnitOfWork, platform: Platform, order_id: str, wanted: Sequence[tuple[str, int]], *,
                 reason: str, key: str, by: str, now: datetime, case_id: str | None = None) -> RefundOutcome:
    """Refund `wanted` units of `order_id` to the original payment method. Idempotent by
    `key`; refunding units already refunded is refused. Commits."""
    done = _stored(uow, key)
    if done is not None and done.status == "refunded":
        stored = tuple(RefundLine(x["line_id"], x["sku"], x["units"], Decimal(x["amount"]), x["promotions"])
                       for x in json.loads(done.lines))
        return RefundOutcome(order_id, Money(done.amount, done.currency), stored, replayed=True)
    order = records.require_order(uow, order_id)
    if order.status in (states.CREATED, states.CANCELLED):
        return RefundOutcome(order_id, Money.zero(order.payable.currency), (), reason=f"order {order_id} was never paid")
    lines = plan(order, wanted)
    amount = sum((x.amount for x in lines), Decimal(0))
    if amount > order.payable.amount - order.refunded.amount:
        return RefundOutcome(order_id, Money(amount, order.payable.currency), tuple(lines),
                             reason="the refund exceeds what is left of the order's payment")
    if credit_payment.paid_on_credit(uow, order.parent_id):
        refused = credit_payment.refund(uow, order.parent_id, Money(amount, order.payable.currency), key=key, now=now)
        if refused is not None:
            uow.session.rollback()
            return RefundOutcome(order_id, Money(amount, order.payable.currency), tuple(lines), reason=refused)
    paid_back = payments.refund(uow, platform.router, order_id=order.parent_id,
                                amount=Money(amount, order.payable.currency), key=key, reason=reason, now=now)
    if not paid_back.ok:
        uow.session.rollback()
        return RefundOutcome(order_id, Money(amount, order.payable.currency), tuple(lines),
                             reason=paid_back.reason or "the payment channel refused the refund")
    for line in lines:
        moved = uow.session.execute(update(LINES).where(
            LINES.c.order_id == order_id, LINES.c.line_id == line.line_id,
            LINES.c.refunded_units + line.units <= LINES.c.quantity,
        ).values(refunded_units=LINES.c.refunded_units + line.units))
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidInput(f"line {line.line_id} was refunded meanwhile; nothing was changed")
    uow.session.execute(update(ORDERS).where(ORDERS.c.id == order_id, ORDERS.c.refunded + amount <= ORDERS.c.payable)
                        .values(refunded=ORDERS.c.refunded + amount))
    uow.session.execute(insert(REFUNDS).values(
        key=key, order_id=order_id, case_id=case_id, amount=amount, currency=order.payable.currency,
        lines=json.dumps([x.to_json() for x in lines]), reason=reason, status="refunded", at=utc(now)))
    after = records.require_order(uow, order_id)
    events.emit(uow, "aftersales.refunded", order_id, {
        "user": order.user_id, "shop": order.shop, "parent": order.parent_id, "case": case_id,
        "amount": str(amount), "currency": order.payable.currency, "lines": [x.to_json() for x in lines],
        "in_full": not remaining(after)}, now, key=f"aftersales.refunded:{key}")
    if not remaining(after) and after.status not in (states.COMPLETED, states.CLOSED):
        records.move(uow, after, states.CLOSED, reason=f"refunded in full: {reason}", by=by, now=now)
    uow.commit()
    _return_promotions(uow, platform, order.parent_id, now)
    return RefundOutcome(order_id, Money(amount, order.payable.currency), tuple(lines))


def _return_promotions(uow: UnitOfWork, platform: Platform, parent_id: str, now: datetime) -> None:
    parent = records.require_parent(uow, parent_id)
    if all(o.status in (states.CLOSED, states.CANCELLED) for o in parent.orders):
        pricing.cancel(uow, parent_id, platform.budgets, now)
        uow.commit()


def refund_in_full(uow: UnitOfWork, platform: Platform, order_id: str, *, reason: str, key: str, by: str,
                   now: datetime, case_id: str | None = None) -> RefundOutcome:
    """Refund every unit not yet refunded; stock not yet shipped goes back to the shelf."""
    order = records.require_order(uow, order_id)
    left = remaining(order)
    if not left:
        done = _stored(uow, key)
        if done is not None:
            return refund_units(uow, platform, order_id, [], reason=reason, key=key, by=by, now=now)
        return RefundOutcome(order_id, Money.zero(order.payable.currency), (), reason="nothing is left to refund")
    outcome = refund_units(uow, platform, order_id, left, reason=reason, key=key, by=by, now=now, case_id=case_id)
    if outcome.ok and not outcome.replayed and order.status == states.PAID:
        inventory.release(uow, order.parent_id, line_prefix=f"{order_id}/")
        uow.commit()
    return outcome


def refunds_of(uow: UnitOfWork, order_id: str) -> list[RefundOutcome]:
    rows = uow.session.execute(select(REFUNDS).where(REFUNDS.c.order_id == order_id, REFUNDS.c.status == "refunded")
                               .order_by(REFUNDS.c.id))
    return [RefundOutcome(order_id, Money(r.amount, r.currency),
                          tuple(RefundLine(x["line_id"], x["sku"], x["units"], Decimal(x["amount"]), x["promotions"])
                                for x in json.loads(r.lines))) for r in rows]
