"""Settlement reads the order and after-sales events (`order.paid`, `order.completed`,
`aftersales.refunded`) after its stored cursor and applies each once, in the same
transaction as what it changed.

An event id is taken when its transaction writes it, so on PostgreSQL an event can commit
after one with a higher id: `consume` reads again the last REREAD ids behind its cursor and
applies what it has not applied yet (it keeps the ids applied within that window). `order.paid`
carries no funding by line, so the paid order is read from the order records: the lines'
payable and their promotions' allocations with their funders.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, insert, select, update

from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.orders import records
from arbiter.platform.settlement.intake import (
    PaidLine,
    PaidOrder,
    RefundedLine,
    record_completed,
    record_paid,
    record_refund,
)
from arbiter.platform.settlement.models import APPLIED, CURSORS
from arbiter.platform.settlement.rates import find_shop
from arbiter.platform.sql import insert_if_absent, write_lock

CURSOR = "settlement"
KINDS = ("order.paid", "order.completed", "aftersales.refunded")
REREAD = 1000


def paid_order(uow: UnitOfWork, order_id: str) -> PaidOrder | None:
    """The order as settlement takes it in, from the order records."""
    order = records.order(uow, order_id)
    if order is None:
        return None
    parent = records.parent(uow, order.parent_id)
    credit = parent is not None and parent.payment_method == "credit"
    return PaidOrder(order.id, order.shop, order.payable.currency, tuple(
        PaidLine(x.line_id, x.sku, x.category, x.quantity, x.payable.amount, x.allocations) for x in order.lines),
        credit=credit)


def apply(uow: UnitOfWork, event: events.Event) -> None:
    """Apply one event (does not commit); every use case it calls is idempotent."""
    if event.kind == "order.paid":
        if find_shop(uow, str(event.payload.get("shop", ""))) is None:
            return
        paid = paid_order(uow, event.subject)
        if paid is not None:
            record_paid(uow, paid, event.at)
    elif event.kind == "order.completed":
        record_completed(uow, event.subject, event.at)
    elif event.kind == "aftersales.refunded":
        if find_shop(uow, str(event.payload.get("shop", ""))) is None:
            return
        lines = [RefundedLine(str(x["line_id"]), int(x["units"]), Decimal(str(x["amount"])),
                              dict(x.get("promotions") or {})) for x in event.payload.get("lines", [])]
        record_refund(uow, f"ev{event.id}", event.subject, lines, event.at)


def consume(uow: UnitOfWork, *, batch: int = 500) -> int:
    """Apply every order and after-sales event not applied yet, in id order, and move the
    cursor past them in the same transaction. Commits; the number of events applied. Two at
    once serialise on the cursor row."""
    write_lock(uow.session.connection())
    uow.session.execute(insert_if_absent(CURSORS, uow.engine.dialect.name, {"name": CURSOR, "after": 0}))
    after = uow.session.execute(select(CURSORS.c.after).where(CURSORS.c.name == CURSOR).with_for_update()).scalar_one()
    start = max(0, after - REREAD)
    applied = set(uow.session.execute(select(APPLIED.c.event_id).where(APPLIED.c.event_id > start)).scalars())
    position, count = start, 0
    while True:
        found = events.read(uow, KINDS, after=position, limit=batch)
        for event in found:
            position = event.id
            if event.id in applied:
                continue
            apply(uow, event)
            uow.session.execute(insert(APPLIED).values(event_id=event.id, kind=event.kind))
            count += 1
        if len(found) < batch:
            break
    after = max(after, position)
    uow.session.execute(delete(APPLIED).where(APPLIED.c.event_id <= after - REREAD))
    uow.session.execute(update(CURSORS).where(CURSORS.c.name == CURSOR).values(after=after))
    uow.commit()
    return count


def cursor(uow: UnitOfWork) -> int:
    """The id of the last event settlement has read."""
    found = uow.session.execute(select(CURSORS.c.after).where(CURSORS.c.name == CURSOR)).scalar()
    return int(found or 0)
