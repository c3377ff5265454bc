"""Dropship (代发): after payment an order's lines are pushed to the supplier that ships them
(one request per order and supplier; pushing again returns the same request). The supplier
uploads the carrier and tracking number; that marks the request shipped, records the
supplier's cost of each line for its statement, and emits `supplier.dropship_shipped` about
the order (payload: carrier, tracking_no, supplier, request_id, lines) for fulfilment.

A line is (line id, sku, quantity) with the unit cost taken from the catalog, or (line id,
sku, quantity, unit cost) with the cost agreed for this order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.catalog import service as catalog
from arbiter.platform.columns import exact, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.sql import insert_if_absent, write_lock
from arbiter.platform.suppliers.contracts import (
    DROPSHIP,
    active_supplier,
    check_count,
    check_name,
    mask,
)
from arbiter.platform.suppliers.costs import DROPSHIP_COST, record_cost
from arbiter.platform.suppliers.models import DROPSHIPS

PUSHED = "pushed"
SHIPPED = "shipped"
SHIPPED_EVENT = "supplier.dropship_shipped"
PREFIX = "DS-"
PHONE_FIELDS = ("phone", "mobile")


@dataclass(frozen=True)
class DropshipLine:
    line_id: str
    sku: str
    quantity: int
    unit_cost: Money


@dataclass(frozen=True)
class DropshipRequest:
    id: str
    order_id: str
    supplier: str
    lines: tuple[DropshipLine, ...]
    address: dict[str, str]  # as kept: the phone masked
    status: str
    carrier: str | None
    tracking_no: str | None


def _line(uow: UnitOfWork, index: int, line: Any) -> DropshipLine:
    if not isinstance(line, tuple | list) or len(line) not in (3, 4):
        raise InvalidInput(f"lines[{index}]: expected (line id, sku, quantity[, unit cost]), got {line!r}")
    line_id = check_name(line[0], f"lines[{index}] line id")
    sku = check_name(line[1], f"lines[{index}] sku")
    quantity = check_count(line[2], f"lines[{index}] quantity")
    if len(line) == 4:
        cost = line[3]
        if not isinstance(cost, Money) or cost.amount < 0:
            raise InvalidInput(f"lines[{index}] unit cost: expected Money of zero or more, got {cost!r}")
        exact(cost.amount, f"lines[{index}] unit cost")
    else:
        view = catalog.get_sku(uow, sku)
        if view is None:
            raise NotFound(f"lines[{index}] sku: {sku!r} does not exist", code="catalog.sku.unknown")
        cost = view.cost
    return DropshipLine(line_id, sku, quantity, cost)


def _address(address: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(address, Mapping) or not address:
        raise InvalidInput("address: expected the delivery address as {field: text}")
    kept: dict[str, str] = {}
    for key, value in address.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidInput(f"address.{key}: expected text, got {value!r}")
        kept[key] = mask(value) if key in PHONE_FIELDS else value
    return kept


def _request(row: Any) -> DropshipRequest:
    lines = tuple(DropshipLine(x["line_id"], x["sku"], x["quantity"], Money.of(x["unit_cost"], x["currency"]))
                  for x in json.loads(row.lines))
    return DropshipRequest(f"{PREFIX}{row.id}", row.order_id, row.supplier, lines, json.loads(row.address),
                           row.status, row.carrier, row.tracking_no)


def push_dropship(uow: UnitOfWork, supplier: str, order_id: str, lines: Sequence[Any],
                  address: Mapping[str, str], now: datetime) -> str:
    """Push an order's lines to a dropship supplier; the request id. Joins the caller's
    transaction; pushing the same order to the same supplier again returns the same id."""
    check_name(order_id, "order_id")
    if isinstance(lines, str) or not isinstance(lines, Sequence) or not lines:
        raise InvalidInput("lines: expected a non-empty list of (line id, sku, quantity[, unit cost])")
    checked = [_line(uow, i, line) for i, line in enumerate(lines)]
    if len({line.line_id for line in checked}) != len(checked):
        raise InvalidInput("lines: each line id may appear once")
    kept = _address(address)
    write_lock(uow.session.connection())
    active_supplier(uow, supplier, DROPSHIP)
    stored = [{"line_id": x.line_id, "sku": x.sku, "quantity": x.quantity, "unit_cost": str(x.unit_cost.amount),
               "currency": x.unit_cost.currency} for x in checked]
    uow.session.execute(insert_if_absent(DROPSHIPS, uow.engine.dialect.name, {
        "order_id": order_id, "supplier": supplier, "lines": json.dumps(stored), "status": PUSHED,
        "address": json.dumps(kept, sort_keys=True, ensure_ascii=False), "pushed_at": utc(now)}))
    row = uow.session.execute(select(DROPSHIPS.c.id).where(
        DROPSHIPS.c.order_id == order_id, DROPSHIPS.c.supplier == supplier)).one()
    return f"{PREFIX}{row.id}"


def _number(request_id: str) -> int:
    digits = request_id[len(PREFIX):] if isinstance(request_id, str) and request_id.startswith(PREFIX) else ""
    if not digits.isdigit() or len(digits) > 18:
        raise NotFound(f"dropship request {request_id!r} does not exist", code="suppliers.dropship.unknown")
    return int(digits)


def get_dropship(uow: UnitOfWork, request_id: str) -> DropshipRequest | None:
    try:
        number = _number(request_id)
    except NotFound:
        return None
    row = uow.session.execute(select(DROPSHIPS).where(DROPSHIPS.c.id == number)).first()
    return None if row is None else _request(row)


def dropships_of(uow: UnitOfWork, order_id: str) -> list[DropshipRequest]:
    rows = uow.session.execute(select(DROPSHIPS).where(DROPSHIPS.c.order_id == order_id).order_by(DROPSHIPS.c.id))
    return [_request(row) for row in rows]


def upload_tracking(uow: UnitOfWork, request_id: str, carrier: str, tracking_no: str,
                    now: datetime) -> DropshipRequest:
    """The supplier shipped: keep the carrier and tracking number, record the cost of each
    line and emit `supplier.dropship_shipped`; commits. The same upload again changes
    nothing; another tracking number for a shipped request is a conflict."""
    number = _number(request_id)
    check_name(carrier, "carrier")
    check_name(tracking_no, "tracking_no")
    write_lock(uow.session.connection())
    moved = uow.session.execute(update(DROPSHIPS).where(DROPSHIPS.c.id == number, DROPSHIPS.c.status == PUSHED)
                                .values(status=SHIPPED, carrier=carrier, tracking_no=tracking_no, shipped_at=utc(now)))
    found = get_dropship(uow, request_id)
    if found is None:
        raise NotFound(f"dropship request {request_id!r} does not exist", code="suppliers.dropship.unknown")
    if int(moved.rowcount) != 1:  # type: ignore[attr-defined]
        if (found.carrier, found.tracking_no) != (carrier, tracking_no):
            raise Conflict(f"dropship request {request_id!r} shipped already with {found.carrier} "
                           f"{found.tracking_no}", code="suppliers.dropship.shipped")
        return found
    for line in found.lines:
        record_cost(uow, f"dropship:{request_id}:{line.line_id}", found.supplier, DROPSHIP_COST, found.order_id,
                    line.sku, line.quantity, line.unit_cost, now)
    events.emit(uow, SHIPPED_EVENT, found.order_id, {
        "carrier": carrier, "tracking_no": tracking_no, "supplier": found.supplier, "request_id": request_id,
        "lines": [line.line_id for line in found.lines]}, now, key=f"{SHIPPED_EVENT}:{request_id}")
    uow.commit()
    return found
