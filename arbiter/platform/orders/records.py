"""Reading and moving orders: views of the stored rows, and the one way an order changes
state (`move`: a compare-and-set on its status, recorded as a transition)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update

from arbiter.errors import NotFound
from arbiter.money import Money
from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.orders import states
from arbiter.platform.orders.models import Order as OrderRow
from arbiter.platform.orders.models import OrderLine, OrderTransition, ParentOrder

PARENTS = ParentOrder.__table__  # type: ignore[attr-defined]
ORDERS = OrderRow.__table__  # type: ignore[attr-defined]
LINES = OrderLine.__table__  # type: ignore[attr-defined]
TRANSITIONS = OrderTransition.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class LineView:
    line_id: str
    sku: str
    title: str
    category: str
    quantity: int
    unit_price: Money
    list_total: Money
    payable: Money
    unit_payables: tuple[Decimal, ...]
    allocations: tuple[dict[str, Any], ...]  # {promotion, amount, units, funding: {funder: amount}}
    route: str | None
    refunded_units: int


@dataclass(frozen=True, slots=True)
class OrderView:
    id: str
    parent_id: str
    user_id: str
    shop: str
    kind: str
    status: str
    version: int
    list_total: Money
    discount: Money
    payable: Money
    refunded: Money
    address: dict[str, Any] | None
    region: str | None
    recharge_account: str | None
    created_at: datetime
    paid_at: datetime | None
    lines: tuple[LineView, ...]

    def discount_by_funder(self) -> dict[str, Decimal]:
        """Each funder's share of this order's discounts, summed over its lines."""
        totals: dict[str, Decimal] = {}
        for line in self.lines:
            for allocation in line.allocations:
                for funder, amount in allocation["funding"].items():
                    totals[funder] = totals.get(funder, Decimal(0)) + Decimal(amount)
        return dict(sorted(totals.items()))


@dataclass(frozen=True, slots=True)
class ParentView:
    id: str
    user_id: str
    kind: str
    payable: Money
    payment_method: str
    created_at: datetime
    expires_at: datetime
    orders: tuple[OrderView, ...]
    installments: int | None = None  # the term, when paid on credit

    @property
    def status(self) -> str:
        """The parent's status: its orders', when they agree; else the least advanced."""
        found = {o.status for o in self.orders}
        return found.pop() if len(found) == 1 else "mixed"


def _line(row: Any, currency: str) -> LineView:
    return LineView(
        row.line_id, row.sku, row.title, row.category, row.quantity, Money(row.unit_price, currency),
        Money(row.list_total, currency), Money(row.payable, currency),
        tuple(Decimal(u) for u in json.loads(row.unit_payables)), tuple(json.loads(row.allocations)),
        row.route, row.refunded_units)


def _order(uow: UnitOfWork, row: Any) -> OrderView:
    lines = uow.session.execute(select(LINES).where(LINES.c.order_id == row.id).order_by(LINES.c.id))
    created = as_utc(row.created_at)
    assert created is not None
    c = row.currency
    return OrderView(
        row.id, row.parent_id, row.user_id, row.shop, row.kind, row.status, row.version,
        Money(row.list_total, c), Money(row.discount, c), Money(row.payable, c), Money(row.refunded, c),
        None if row.address is None else json.loads(row.address), row.region, row.recharge_account,
        created, as_utc(row.paid_at), tuple(_line(x, c) for x in lines))


def order(uow: UnitOfWork, order_id: str) -> OrderView | None:
    row = uow.session.execute(select(ORDERS).where(ORDERS.c.id == order_id)).first()
    return None if row is None else _order(uow, row)


def require_order(uow: UnitOfWork, order_id: str, user_id: str | None = None) -> OrderView:
    """The order, or NotFound — also when it is not `user_id`'s (no hint that it exists)."""
    found = order(uow, order_id)
    if found is None or (user_id is not None and found.user_id != user_id):
        raise NotFound(f"order {order_id!r} does not exist")
    return found


def parent(uow: UnitOfWork, parent_id: str) -> ParentView | None:
    row = uow.session.execute(select(PARENTS).where(PARENTS.c.id == parent_id)).first()
    if row is None:
        return None
    orders = uow.session.execute(select(ORDERS).where(ORDERS.c.parent_id == parent_id).order_by(ORDERS.c.id))
    created, expires = as_utc(row.created_at), as_utc(row.expires_at)
    assert created is not None and expires is not None
    return ParentView(row.id, row.user_id, row.kind, Money(row.payable, row.currency), row.payment_method,
                      created, expires, tuple(_order(uow, o) for o in orders), row.installments)


def require_parent(uow: UnitOfWork, parent_id: str, user_id: str | None = None) -> ParentView:
    found = parent(uow, parent_id)
    if found is None or (user_id is not None and found.user_id != user_id):
        raise NotFound(f"order {parent_id!r} does not exist")
    return found


def orders_of(uow: UnitOfWork, *, user_id: str | None = None, shop: str | None = None,
              status: str | None = None) -> list[OrderView]:
    query = select(ORDERS).order_by(ORDERS.c.created_at, ORDERS.c.id)
    if user_id is not None:
        query = query.where(ORDERS.c.user_id == user_id)
    if shop is not None:
        query = query.where(ORDERS.c.shop == shop)
    if status is not None:
        query = query.where(ORDERS.c.status == status)
    return [_order(uow, row) for row in uow.session.execute(query)]


def transitions(uow: UnitOfWork, order_id: str) -> list[tuple[str, str, str, str]]:
    """(from, to, reason, by) of every transition, oldest first."""
    rows = uow.session.execute(select(TRANSITIONS).where(TRANSITIONS.c.order_id == order_id)
                               .order_by(TRANSITIONS.c.id))
    return [(r.from_status, r.to_status, r.reason, r.by) for r in rows]


def move(uow: UnitOfWork, current: OrderView, target: str, *, reason: str, by: str, now: datetime,
         **values: Any) -> bool:
    """Move `current` to `target` if nobody moved it meanwhile (compare-and-set on its
    version); False when it had moved. An illegal transition raises. Does not commit."""
    states.check(current.kind, current.id, current.status, target)
    done = uow.session.execute(
        update(ORDERS).where(ORDERS.c.id == current.id, ORDERS.c.version == current.version)
        .values(status=target, version=current.version + 1, updated_at=utc(now), **values))
    if done.rowcount == 0:  # type: ignore[attr-defined]
        return False
    uow.session.execute(insert(TRANSITIONS).values(
        order_id=current.id, from_status=current.status, to_status=target, reason=reason, by=by, at=utc(now)))
    return True


def line_facts(order: OrderView) -> list[dict[str, Any]]:
    return [{"sku": line.sku, "category": line.category, "quantity": line.quantity,
             "amount": str(line.payable.amount)} for line in order.lines]


def event_payload(order: OrderView) -> dict[str, Any]:
    """What `order.*` events carry: enough for users' tags, settlement and data."""
    return {"user": order.user_id, "shop": order.shop, "parent": order.parent_id, "kind": order.kind,
            "amount": str(order.payable.amount), "currency": order.payable.currency,
            "lines": line_facts(order)}


def ensure(found: OrderView | None, order_id: str) -> OrderView:
    if found is None:
        raise NotFound(f"order {order_id!r} does not exist")
    return found
