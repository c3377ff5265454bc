"""Fulfilment use cases.

`start` runs when an order is paid: warehouse lines wait for the warehouse to ship them
(`ship`: stock deducted, a tracking number recorded, the order shipped); dropship lines are
pushed to their supplier, who uploads the tracking number (`supplier_shipped`, fed by the
`supplier.dropship_shipped` events through `sync_supplier_events`); a virtual order is
bought from its supplier in real time, which recharges the account: success fulfils and completes
the order, a failure after the supplier's retries refunds it in full automatically.
`logistics` records a carrier's event; delivery moves the order to delivered, and the user's
`confirm_receipt` (or `complete_delivered` after the confirmation window) completes it.

An order paid on credit is financed once it has shipped when the funding policy finances
after shipment: pass the `platform` to `ship`, `supplier_shipped` or `sync_supplier_events`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.platform.catalog import service as catalog
from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.fulfillment.models import Shipment, ShipmentEvent
from arbiter.platform.fulfillment.routing import DROPSHIP, REALTIME, WAREHOUSE
from arbiter.platform.inventory import service as inventory
from arbiter.platform.orders import credit_payment, records, states
from arbiter.platform.orders.records import OrderView
from arbiter.platform.runtime import Platform
from arbiter.platform.sql import insert_if_absent
from arbiter.platform.suppliers import service as suppliers

SHIPMENTS = Shipment.__table__  # type: ignore[attr-defined]
SHIPMENT_EVENTS = ShipmentEvent.__table__  # type: ignore[attr-defined]
CONFIRM_WINDOW = timedelta(days=7)  # delivered orders complete by themselves after this
SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class ShipmentView:
    id: int
    order_id: str
    route: str
    purpose: str
    lines: tuple[tuple[str, int], ...]
    status: str
    carrier: str | None
    tracking_no: str | None
    events: tuple[tuple[str, str], ...]  # (status, note)


def _view(uow: UnitOfWork, row: Any) -> ShipmentView:
    found = uow.session.execute(select(SHIPMENT_EVENTS).where(SHIPMENT_EVENTS.c.shipment_id == row.id)
                                .order_by(SHIPMENT_EVENTS.c.id))
    return ShipmentView(row.id, row.order_id, row.route, row.purpose,
                        tuple((a, int(b)) for a, b in json.loads(row.lines)), row.status, row.carrier,
                        row.tracking_no, tuple((e.status, e.note) for e in found))


def shipments(uow: UnitOfWork, order_id: str) -> list[ShipmentView]:
    rows = uow.session.execute(select(SHIPMENTS).where(SHIPMENTS.c.order_id == order_id).order_by(SHIPMENTS.c.id))
    return [_view(uow, row) for row in rows]


def _shipment(uow: UnitOfWork, order_id: str, route: str, purpose: str = "order") -> ShipmentView | None:
    row = uow.session.execute(select(SHIPMENTS).where(
        SHIPMENTS.c.order_id == order_id, SHIPMENTS.c.route == route, SHIPMENTS.c.purpose == purpose)).first()
    return None if row is None else _view(uow, row)


def _open(uow: UnitOfWork, order_id: str, route: str, lines: list[tuple[str, int]], now: datetime,
          purpose: str = "order") -> None:
    uow.session.execute(insert_if_absent(SHIPMENTS, uow.engine.dialect.name, dict(
        order_id=order_id, route=route, purpose=purpose, lines=json.dumps(lines), status="pending",
        created_at=utc(now), updated_at=utc(now))))


def _set(uow: UnitOfWork, shipment_id: int, now: datetime, **values: Any) -> None:
    uow.session.execute(update(SHIPMENTS).where(SHIPMENTS.c.id == shipment_id)
                        .values(updated_at=utc(now), **values))


def _event(uow: UnitOfWork, shipment_id: int, key: str, status: str, note: str, now: datetime) -> None:
    uow.session.execute(insert_if_absent(SHIPMENT_EVENTS, uow.engine.dialect.name, dict(
        shipment_id=shipment_id, key=key, status=status, note=note, at=utc(now))))


def start(uow: UnitOfWork, platform: Platform, order_id: str, now: datetime) -> list[ShipmentView]:
    """Open the shipments of a paid order; push dropship lines; buy virtual goods now."""
    order = records.require_order(uow, order_id)
    by_route: dict[str, list[tuple[str, int]]] = {}
    for line in order.lines:
        by_route.setdefault(line.route or WAREHOUSE, []).append((line.line_id, line.quantity))
    for route, lines in by_route.items():
        _open(uow, order_id, route, lines, now)
    uow.commit()
    if DROPSHIP in by_route:
        _push_dropship(uow, order, by_route[DROPSHIP], now)
    if REALTIME in by_route:
        fulfil_virtual(uow, platform, order_id, now)
    return shipments(uow, order_id)


def _push_dropship(uow: UnitOfWork, order: OrderView, lines: list[tuple[str, int]], now: datetime) -> None:
    by_supplier: dict[str, list[tuple[str, str, int]]] = {}
    for line in order.lines:
        if (line.line_id, line.quantity) not in lines:
            continue
        view = catalog.get_sku(uow, line.sku)
        if view is None or view.supplier is None:
            raise InvalidInput(f"sku {line.sku} is routed to dropship but has no supplier")
        by_supplier.setdefault(view.supplier, []).append((line.line_id, line.sku, line.quantity))
    for supplier, supplier_lines in sorted(by_supplier.items()):
        suppliers.push_dropship(uow, supplier, order.id, supplier_lines, order.address or {}, now)
    uow.commit()


def ship(uow: UnitOfWork, order_id: str, *, carrier: str, tracking_no: str, by: str, now: datetime,
         shop: str | None = None, purpose: str = "order", platform: Platform | None = None) -> ShipmentView:
    """The warehouse (or the merchant, for its own shop: pass `shop`) ships the order's
    warehouse lines — or an exchange's replacement (`purpose`): stock deducted, the tracking
    number recorded, the order shipped (and, with `platform`, financed if it was paid on
    credit and the policy finances after shipment). Commits."""
    if not carrier.strip() or not tracking_no.strip():
        raise InvalidInput("carrier and tracking_no are required to ship")
    order = records.require_order(uow, order_id)
    if shop is not None and order.shop != shop:
        raise NotFound(f"order {order_id!r} does not exist")
    if purpose == "order" and order.status == states.CREATED:
        raise Conflict(f"order {order_id} is {order.status}: only a paid order ships")
    shipment = _shipment(uow, order_id, WAREHOUSE, purpose)
    if shipment is None:
        raise InvalidInput(f"order {order_id} has nothing to ship from a warehouse")
    if shipment.status != "pending":
        if shipment.tracking_no == tracking_no:
            return shipment  # a repeat
        raise Conflict(f"order {order_id} was already shipped with {shipment.carrier} {shipment.tracking_no}")
    if purpose == "order" and order.status != states.PAID:
        raise Conflict(f"order {order_id} is {order.status}: only a paid order ships")
    lock_owner = order.parent_id if purpose == "order" else _lock_owner(order.parent_id, purpose)
    for line_id, _units in shipment.lines:
        inventory.deduct(uow, lock_owner, f"{order_id}/{line_id}")
    _set(uow, shipment.id, now, status="shipped", carrier=carrier, tracking_no=tracking_no)
    _event(uow, shipment.id, "shipped", "shipped", f"handed to {carrier}", now)
    shipped = purpose == "order" and _order_shipped(uow, order, carrier, tracking_no, by, now)
    uow.commit()
    if shipped and platform is not None:
        _finance_shipped(uow, platform, order.parent_id, now)
    found = _shipment(uow, order_id, WAREHOUSE, purpose)
    assert found is not None
    return found


def _lock_owner(parent_id: str, purpose: str) -> str:
    return f"{parent_id}:{purpose}"


def reship(uow: UnitOfWork, platform: Platform, order_id: str, lines: list[tuple[str, int]], *, purpose: str,
           now: datetime) -> ShipmentView:
    """Send replacement units (an exchange): their stock is locked now and the warehouse
    ships them with `ship(..., purpose=purpose)`. Does not commit."""
    order = records.require_order(uow, order_id)
    skus = {line.line_id: line.sku for line in order.lines}
    locked = inventory.lock(uow, _lock_owner(order.parent_id, purpose),
                            [(f"{order_id}/{line_id}", skus[line_id], units) for line_id, units in lines],
                            order.region or "")
    if not locked.ok:
        raise Conflict(f"the replacement cannot be sent: {locked.reason}")
    _open(uow, order_id, WAREHOUSE, lines, now, purpose)
    found = _shipment(uow, order_id, WAREHOUSE, purpose)
    assert found is not None
    return found


def _order_shipped(uow: UnitOfWork, order: OrderView, carrier: str, tracking_no: str, by: str, now: datetime) -> bool:
    """The order is shipped once every parcel of it is; True when it became shipped now."""
    pending = [s for s in shipments(uow, order.id) if s.purpose == "order" and s.status == "pending"]
    if pending or order.status != states.PAID:
        return False
    if not records.move(uow, order, states.SHIPPED, reason=f"shipped: {carrier} {tracking_no}", by=by, now=now):
        raise Conflict(f"order {order.id} moved while it was being shipped; try again")
    events.emit(uow, "order.shipped", order.id, {"carrier": carrier, "tracking_no": tracking_no,
                                                  "shop": order.shop}, now)
    return True


def _finance_shipped(uow: UnitOfWork, platform: Platform, parent_id: str, now: datetime) -> None:
    """Finance a shipped order paid on credit (the policy may finance after shipment; the
    goods are gone, so an asset nobody takes stays on self-held funds). Commits."""
    financed = credit_payment.finance(uow, platform, records.require_parent(uow, parent_id),
                                      stage=credit_payment.SHIPMENT, now=now)
    if financed is not None:
        uow.commit()


def supplier_shipped(uow: UnitOfWork, order_id: str, carrier: str, tracking_no: str, now: datetime, *,
                     platform: Platform | None = None) -> None:
    """The supplier of dropship lines shipped them (代发); with `platform`, an order paid on
    credit is then financed if the policy finances after shipment. Commits."""
    shipment = _shipment(uow, order_id, DROPSHIP)
    if shipment is None:
        raise NotFound(f"order {order_id!r} has no dropship lines")
    shipped = False
    if shipment.status == "pending":
        _set(uow, shipment.id, now, status="shipped", carrier=carrier, tracking_no=tracking_no)
        _event(uow, shipment.id, "shipped", "shipped", f"the supplier handed it to {carrier}", now)
        order = records.require_order(uow, order_id)
        shipped = _order_shipped(uow, order, carrier, tracking_no, "supplier", now)
    uow.commit()
    if shipped and platform is not None:
        _finance_shipped(uow, platform, order.parent_id, now)


def sync_supplier_events(uow: UnitOfWork, now: datetime, *, after: int = 0, platform: Platform | None = None) -> int:
    """Apply the suppliers' `supplier.dropship_shipped` events after id `after`; returns the
    last id applied (the caller keeps it as its cursor)."""
    last = after
    for event in events.read(uow, ("supplier.dropship_shipped",), after=after):
        supplier_shipped(uow, event.subject, event.payload["carrier"], event.payload["tracking_no"], now,
                         platform=platform)
        last = event.id
    return last


def logistics(uow: UnitOfWork, *, carrier: str, tracking_no: str, key: str, status: str, note: str,
              now: datetime) -> ShipmentView:
    """A carrier's event for a tracking number; `delivered` moves the order to delivered
    once all its parcels are. A repeated event (same key) is recorded once. Commits."""
    row = uow.session.execute(select(SHIPMENTS).where(SHIPMENTS.c.carrier == carrier,
                                                      SHIPMENTS.c.tracking_no == tracking_no)).first()
    if row is None:
        raise NotFound(f"no shipment {carrier} {tracking_no}")
    if status not in ("picked_up", "in_transit", "out_for_delivery", "delivered", "exception"):
        raise InvalidInput(f"status: {status!r} is not a logistics status")
    _event(uow, row.id, key, status, note, now)
    if status == "delivered" and row.status == "shipped":
        _set(uow, row.id, now, status="delivered")
        order = records.require_order(uow, row.order_id)
        rest = [s for s in shipments(uow, order.id) if s.purpose == "order" and s.id != row.id
                and s.status not in ("delivered",)]
        if row.purpose == "order" and not rest and order.status == states.SHIPPED:
            records.move(uow, order, states.DELIVERED, reason=f"delivered: {carrier} {tracking_no}", by=carrier,
                         now=now)
            events.emit(uow, "order.delivered", order.id, {"shop": order.shop}, now)
    uow.commit()
    return _view(uow, uow.session.execute(select(SHIPMENTS).where(SHIPMENTS.c.id == row.id)).one())


def _complete(uow: UnitOfWork, order: OrderView, reason: str, by: str, now: datetime) -> None:
    if records.move(uow, order, states.COMPLETED, reason=reason, by=by, now=now):
        done = records.require_order(uow, order.id)
        events.emit(uow, "order.completed", order.id, records.event_payload(done), now)


def confirm_receipt(uow: UnitOfWork, order_id: str, *, user_id: str, now: datetime) -> OrderView:
    """The user confirms the goods arrived: the order completes. Commits."""
    order = records.require_order(uow, order_id, user_id)
    if order.status == states.COMPLETED:
        return order
    if order.status not in (states.SHIPPED, states.DELIVERED):
        raise Conflict(f"order {order_id} is {order.status}: nothing to confirm")
    if order.status == states.SHIPPED:
        records.move(uow, order, states.DELIVERED, reason="the user confirmed receipt", by=user_id, now=now)
        order = records.require_order(uow, order_id)
    _complete(uow, order, "the user confirmed receipt", user_id, now)
    uow.commit()
    return records.require_order(uow, order_id)


def complete_delivered(uow: UnitOfWork, now: datetime) -> list[str]:
    """Complete the orders delivered more than CONFIRM_WINDOW ago. Commits."""
    done = []
    for order in records.orders_of(uow, status=states.DELIVERED):
        delivered = [at for (_f, to, _r, _b), at in _transition_times(uow, order.id) if to == states.DELIVERED]
        if delivered and utc(now) - delivered[-1] >= CONFIRM_WINDOW:
            _complete(uow, order, "confirmed automatically after the window", SYSTEM, now)
            done.append(order.id)
    uow.commit()
    return done


def _transition_times(uow: UnitOfWork, order_id: str) -> list[tuple[tuple[str, str, str, str], datetime]]:
    rows = uow.session.execute(select(records.TRANSITIONS).where(records.TRANSITIONS.c.order_id == order_id)
                               .order_by(records.TRANSITIONS.c.id))
    out = []
    for r in rows:
        at = as_utc(r.at)
        assert at is not None
        out.append(((r.from_status, r.to_status, r.reason, r.by), at))
    return out


def fulfil_virtual(uow: UnitOfWork, platform: Platform, order_id: str, now: datetime) -> ShipmentView:
    """Buy a paid virtual order from its supplier in real time. Success: the order is
    fulfilled, then completed (nothing to deliver). Failure after the retries: refunded in
    full automatically and closed. Commits."""
    from arbiter.platform.aftersales import refunds  # after-sales reads fulfilment's results

    order = records.require_order(uow, order_id)
    shipment = _shipment(uow, order_id, REALTIME)
    if shipment is None or shipment.status != "pending" or order.status != states.PAID:
        raise Conflict(f"order {order_id} has no pending real-time purchase")
    [line] = order.lines  # a top-up order is one line
    view = catalog.get_sku(uow, line.sku)
    if view is None or view.supplier is None or order.recharge_account is None:
        raise InvalidInput(f"order {order_id}: {line.sku} has no real-time supplier or no recharge account")
    face_value = view.list_price * line.quantity
    bought = suppliers.purchase_realtime(uow, platform.topup, view.supplier, order_id, order.recharge_account,
                                         face_value, now)
    if bought.ok:
        _set(uow, shipment.id, now, status="fulfilled", carrier=view.supplier, tracking_no=bought.reference)
        _event(uow, shipment.id, "fulfilled", "fulfilled", f"recharged {order.recharge_account}", now)
        records.move(uow, order, states.FULFILLED, reason=f"recharged by {view.supplier}", by=SYSTEM, now=now)
        _complete(uow, records.require_order(uow, order_id), "virtual goods delivered", SYSTEM, now)
        uow.commit()
    else:
        _set(uow, shipment.id, now, status="failed")
        _event(uow, shipment.id, "failed", "failed", bought.reason or "the supplier failed", now)
        uow.commit()
        refunds.refund_in_full(uow, platform, order_id, reason=f"top-up failed: {bought.reason}",
                               key=f"auto-refund:{order_id}", by=SYSTEM, now=now)
    found = _shipment(uow, order_id, REALTIME)
    assert found is not None
    return found
