"""After-sales cases (售后单) and invoices.

| kind | when | path |
|---|---|---|
| refund_before_shipment | paid, not shipped | approved at once: refunded in full, stock back, nothing ships |
| return | shipped or delivered, or completed within 7 days | approved → the user ships back → inspected: refunded and restocked, or rejected |
| exchange | as return | approved → shipped back → inspected: the same SKU reshipped, no refund |
| refund_only (仅退款) | delivered or completed within 7 days | approved by the shop or the platform → refunded |

Virtual goods have no after-sales. A case names whole units of lines; units already refunded
or under another open case cannot be asked for again. The shop (merchant) or an operator
reviews; a merchant reviews only its own shop's cases (`shop=`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.aftersales import refunds
from arbiter.platform.aftersales.models import AftersalesCase, AftersalesStep, Invoice
from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.fulfillment import service as fulfillment
from arbiter.platform.inventory import service as inventory
from arbiter.platform.orders import records, states
from arbiter.platform.runtime import Platform

CASES = AftersalesCase.__table__  # type: ignore[attr-defined]
STEPS = AftersalesStep.__table__  # type: ignore[attr-defined]
INVOICES = Invoice.__table__  # type: ignore[attr-defined]
KINDS = ("refund_before_shipment", "return", "exchange", "refund_only")
WINDOW = timedelta(days=7)  # returns, exchanges and refund-only after delivery
OPEN = ("requested", "approved", "returning", "inspecting")


@dataclass(frozen=True, slots=True)
class CaseView:
    id: str
    order_id: str
    user_id: str
    shop: str
    kind: str
    status: str
    lines: tuple[tuple[str, int], ...]
    amount: Money
    reason: str
    return_tracking: str | None
    steps: tuple[tuple[str, str, str, str], ...]  # (from, to, by, note)


def _view(uow: UnitOfWork, row: Any) -> CaseView:
    steps = uow.session.execute(select(STEPS).where(STEPS.c.case_id == row.id).order_by(STEPS.c.id))
    return CaseView(row.id, row.order_id, row.user_id, row.shop, row.kind, row.status,
                    tuple((a, int(b)) for a, b in json.loads(row.lines)), Money(row.amount, row.currency),
                    row.reason, row.return_tracking, tuple((s.from_status, s.to_status, s.by, s.note) for s in steps))


def case(uow: UnitOfWork, case_id: str, *, shop: str | None = None, user_id: str | None = None) -> CaseView:
    """The case; NotFound also when it is not the given shop's or user's."""
    row = uow.session.execute(select(CASES).where(CASES.c.id == case_id)).first()
    if row is None or (shop is not None and row.shop != shop) or (user_id is not None and row.user_id != user_id):
        raise NotFound(f"after-sales case {case_id!r} does not exist")
    return _view(uow, row)


def cases(uow: UnitOfWork, *, shop: str | None = None, order_id: str | None = None,
          status: str | None = None) -> list[CaseView]:
    query = select(CASES).order_by(CASES.c.created_at, CASES.c.id)
    for column, value in ((CASES.c.shop, shop), (CASES.c.order_id, order_id), (CASES.c.status, status)):
        if value is not None:
            query = query.where(column == value)
    return [_view(uow, row) for row in uow.session.execute(query)]


def _step(uow: UnitOfWork, current: CaseView, target: str, by: str, note: str, now: datetime, **values: Any) -> None:
    done = uow.session.execute(update(CASES).where(CASES.c.id == current.id, CASES.c.status == current.status)
                               .values(status=target, updated_at=utc(now), **values))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"case {current.id} moved on meanwhile; look at it again")
    uow.session.execute(insert(STEPS).values(case_id=current.id, from_status=current.status, to_status=target,
                                             by=by, note=note, at=utc(now)))


def _delivered_at(uow: UnitOfWork, order_id: str) -> datetime | None:
    rows = uow.session.execute(select(records.TRANSITIONS).where(
        records.TRANSITIONS.c.order_id == order_id, records.TRANSITIONS.c.to_status == states.DELIVERED))
    times = [as_utc(r.at) for r in rows]
    return max((t for t in times if t is not None), default=None)


def _allowed(uow: UnitOfWork, order: records.OrderView, kind: str, now: datetime) -> str | None:
    if order.kind == states.VIRTUAL:
        return "virtual goods have no after-sales: a top-up cannot be returned"
    if kind == "refund_before_shipment":
        return None if order.status == states.PAID else f"the order is {order.status}: refund before shipment needs a paid, unshipped order"
    if order.status == states.SHIPPED and kind in ("return", "exchange"):
        return None
    if order.status in (states.DELIVERED, states.COMPLETED):
        delivered = _delivered_at(uow, order.id)
        if delivered is not None and utc(now) - delivered > WINDOW:
            return f"the {WINDOW.days}-day after-sales window closed on {(delivered + WINDOW).date()}"
        return None
    return f"the order is {order.status}: {kind.replace('_', ' ')} is not possible"


def _claimed(uow: UnitOfWork, order_id: str) -> dict[str, int]:
    """Units under open cases, per line."""
    taken: dict[str, int] = {}
    for c in cases(uow, order_id=order_id):
        if c.status in OPEN:
            for line_id, units in c.lines:
                taken[line_id] = taken.get(line_id, 0) + units
    return taken


def request(uow: UnitOfWork, platform: Platform, order_id: str, *, user_id: str, kind: str,
            lines: Sequence[tuple[str, int]] | None = None, reason: str, key: str, now: datetime) -> CaseView:
    """The user asks for after-sales on their order. Commits. A refund before shipment is
    approved and refunded at once."""
    if kind not in KINDS:
        raise InvalidInput(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if not reason.strip() or len(reason) > 500:
        raise InvalidInput("reason: say why, in at most 500 characters")
    case_id = "AS" + hashlib.sha256(f"{order_id}\x00{key}".encode()).hexdigest()[:16].upper()
    existing = uow.session.execute(select(CASES).where(CASES.c.id == case_id)).first()
    if existing is not None:
        return _view(uow, existing)
    order = records.require_order(uow, order_id, user_id)
    refused = _allowed(uow, order, kind, now)
    if refused is not None:
        raise Conflict(refused)
    wanted = refunds.remaining(order) if kind == "refund_before_shipment" or not lines else list(lines)
    planned = refunds.plan(order, wanted)  # first: an unknown line or bad units is invalid input
    claimed = _claimed(uow, order_id)
    for line_id, units in wanted:
        left = next((x for l_id, x in refunds.remaining(order) if l_id == line_id), 0) - claimed.get(line_id, 0)
        if units > left:
            raise Conflict(f"line {line_id}: {left} unit(s) can still be asked for, not {units}")
    amount = Decimal(0) if kind == "exchange" else sum((x.amount for x in planned), Decimal(0))
    uow.session.execute(insert(CASES).values(
        id=case_id, key=key, order_id=order_id, user_id=user_id, shop=order.shop, kind=kind, status="requested",
        version=0, lines=json.dumps([[a, b] for a, b in wanted]), amount=amount, currency=order.payable.currency,
        reason=reason, created_at=utc(now), updated_at=utc(now)))
    uow.session.execute(insert(STEPS).values(case_id=case_id, from_status="", to_status="requested", by=user_id,
                                             note=reason, at=utc(now)))
    events.emit(uow, "aftersales.requested", case_id, {"order": order_id, "kind": kind, "shop": order.shop}, now)
    uow.commit()
    if kind == "refund_before_shipment":
        return approve(uow, platform, case_id, by="system", note="not shipped yet: approved automatically", now=now)
    return case(uow, case_id)


def approve(uow: UnitOfWork, platform: Platform, case_id: str, *, by: str, note: str = "", now: datetime,
            shop: str | None = None) -> CaseView:
    """The shop or the platform approves. Refunds happen now for a refund before shipment
    and refund-only; returns and exchanges wait for the goods. Commits."""
    current = case(uow, case_id, shop=shop)
    if current.status != "requested":
        raise Conflict(f"case {case_id} is {current.status}: only a requested case can be approved")
    if current.kind in ("return", "exchange"):
        _step(uow, current, "approved", by, note or "ship the goods back", now)
        uow.commit()
        return case(uow, case_id)
    _step(uow, current, "approved", by, note or "approved", now)
    uow.commit()
    return _refund(uow, platform, case(uow, case_id), by, now)


def _refund(uow: UnitOfWork, platform: Platform, current: CaseView, by: str, now: datetime) -> CaseView:
    order = records.require_order(uow, current.order_id)
    if current.kind == "refund_before_shipment":
        outcome = refunds.refund_in_full(uow, platform, current.order_id, reason=current.reason,
                                         key=f"case:{current.id}", by=by, now=now, case_id=current.id)
    else:
        outcome = refunds.refund_units(uow, platform, current.order_id, list(current.lines), reason=current.reason,
                                       key=f"case:{current.id}", by=by, now=now, case_id=current.id)
    if not outcome.ok:
        raise Conflict(f"case {current.id}: the refund failed ({outcome.reason}); approve again to retry")
    _step(uow, case(uow, current.id), "refunded", by, f"refunded {outcome.amount}", now)
    events.emit(uow, "aftersales.closed", current.id, {"order": order.id, "kind": current.kind,
                                                       "amount": str(outcome.amount.amount)}, now)
    uow.commit()
    return case(uow, current.id)


def reject(uow: UnitOfWork, case_id: str, *, by: str, note: str, now: datetime, shop: str | None = None) -> CaseView:
    current = case(uow, case_id, shop=shop)
    if current.status not in ("requested", "inspecting"):
        raise Conflict(f"case {case_id} is {current.status}: it cannot be rejected now")
    if not note.strip():
        raise InvalidInput("note: say why the case is rejected")
    _step(uow, current, "rejected", by, note, now)
    uow.commit()
    return case(uow, case_id)


def ship_back(uow: UnitOfWork, case_id: str, *, user_id: str, carrier: str, tracking_no: str,
              now: datetime) -> CaseView:
    """The user ships the goods of an approved return or exchange back."""
    current = case(uow, case_id, user_id=user_id)
    if current.status != "approved" or current.kind not in ("return", "exchange"):
        raise Conflict(f"case {case_id} is {current.status}: nothing to ship back")
    if not carrier.strip() or not tracking_no.strip():
        raise InvalidInput("carrier and tracking_no are required")
    _step(uow, current, "returning", user_id, f"{carrier} {tracking_no}", now,
          return_carrier=carrier, return_tracking=tracking_no)
    uow.commit()
    return case(uow, case_id)


def inspect(uow: UnitOfWork, platform: Platform, case_id: str, *, passed: bool, by: str, note: str = "",
            now: datetime, shop: str | None = None) -> CaseView:
    """The returned goods arrived and were inspected. Passed: a return is refunded and the
    units restocked; an exchange is reshipped. Failed: the case is rejected. Commits."""
    current = case(uow, case_id, shop=shop)
    if current.status != "returning":
        raise Conflict(f"case {case_id} is {current.status}: nothing arrived to inspect")
    _step(uow, current, "inspecting", by, note or "arrived", now)
    uow.commit()
    current = case(uow, case_id)
    if not passed:
        return reject(uow, case_id, by=by, note=note or "the inspection failed", now=now)
    order = records.require_order(uow, current.order_id)
    routes = {line.line_id: line.route for line in order.lines}
    for line_id, units in current.lines:
        if routes.get(line_id) == "warehouse":  # dropshipped goods go back to their supplier
            inventory.restock(uow, order.parent_id, f"{order.id}/{line_id}", units, f"case:{case_id}:{line_id}")
    uow.commit()
    if current.kind == "return":
        return _refund(uow, platform, current, by, now)
    fulfillment.reship(uow, platform, order.id, list(current.lines), purpose=f"exchange:{case_id}", now=now)
    _step(uow, case(uow, case_id), "reshipped", by, "a replacement was sent", now)
    uow.commit()
    return case(uow, case_id)


# -- invoices --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvoiceView:
    order_id: str
    number: str
    title: str
    tax_id: str | None
    amount: Money


def request_invoice(uow: UnitOfWork, order_id: str, *, user_id: str, title: str, tax_id: str | None,
                    now: datetime) -> InvoiceView:
    """Issue the invoice of a paid order for what was paid less refunds; one per order."""
    order = records.require_order(uow, order_id, user_id)
    found = uow.session.execute(select(INVOICES).where(INVOICES.c.order_id == order_id)).first()
    if found is not None:
        return InvoiceView(order_id, found.number, found.title, found.tax_id, Money(found.amount, found.currency))
    if order.status in (states.CREATED, states.CANCELLED):
        raise Conflict(f"order {order_id} is {order.status}: only a paid order has an invoice")
    if not title.strip() or len(title) > 200:
        raise InvalidInput("title: the invoice title is 1 to 200 characters")
    if tax_id is not None and not (len(tax_id) in (15, 18, 20) and tax_id.isalnum()):
        raise InvalidInput("tax_id: a taxpayer id has 15, 18 or 20 letters and digits")
    amount = order.payable - order.refunded
    if amount.is_zero():
        raise Conflict(f"order {order_id} was refunded in full: there is nothing to invoice")
    number = "INV" + hashlib.sha256(order_id.encode()).hexdigest()[:12].upper()
    uow.session.execute(insert(INVOICES).values(order_id=order_id, user_id=user_id, title=title, tax_id=tax_id,
                                                amount=amount.amount, currency=amount.currency, number=number,
                                                issued_at=utc(now)))
    uow.commit()
    return InvoiceView(order_id, number, title, tax_id, amount)
