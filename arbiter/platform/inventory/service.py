"""Stock use cases: receiving stock, which warehouses serve a region, what is free to sell,
and the life of an order's stock: lock (order placed) -> release (cancelled before shipment)
or deduct (shipped) -> restock (a return received back).

Only `add_warehouse` commits; every other movement joins the caller's unit of work, which
commits once. Each movement is idempotent: receive and restock by the caller's key, lock by
the order id, release and deduct by the lock's state. Stock moves by conditional UPDATEs
(`locked = locked + n WHERE on_hand - locked >= n`), never read then written; on SQLite the
write lock is taken first so that writers queue. An order's lines are handled in (SKU, line)
order, the same everywhere, so that racing transactions queue instead of deadlocking.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, select, update

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.platform.columns import NAME_LENGTH, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.inventory.models import LOCKS, MOVEMENTS, STOCK, WAREHOUSES
from arbiter.platform.sql import insert_if_absent, upsert, write_lock

LOCKED = "locked"
RELEASED = "released"
DEDUCTED = "deducted"
RETURNED = "returned"
EVERYWHERE = "*"  # in `serves`: every region

Line = tuple[str, str, int]  # line id, sku, quantity


@dataclass(frozen=True)
class LockResult:
    """The outcome of locking an order's stock: every line locked (`warehouses` says where
    each line's units are held) or none, with the `reason`. `replayed` is True when the
    order was locked before and this is that result again."""

    ok: bool
    reason: str | None
    warehouses: dict[str, str] = field(default_factory=dict)
    replayed: bool = False


@dataclass(frozen=True)
class StockLock:
    order_id: str
    line_id: str
    sku: str
    warehouse: str
    quantity: int
    returned: int
    state: str


@dataclass(frozen=True)
class Movement:
    key: str
    kind: str
    sku: str
    warehouse: str
    quantity: int
    order_id: str | None
    line_id: str | None


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > NAME_LENGTH:
        raise InvalidInput(f"{what}: {value!r} is not a non-empty name of at most {NAME_LENGTH} characters")
    return value


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{what}: {value!r} is not a whole number of 1 or more")
    return value


def _rows(result: Any) -> int:
    return int(result.rowcount)


def _at(now: datetime | None) -> datetime | None:
    return None if now is None else utc(now)


def add_warehouse(uow: UnitOfWork, code: str, name: str, region: str, serves: list[str],
                  priority: int = 0) -> None:
    """Add a warehouse; commits. The same warehouse again changes nothing; the same code
    with other details is a conflict."""
    for value, what in ((code, "code"), (name, "name"), (region, "region")):
        _name(value, what)
    if isinstance(serves, str) or not isinstance(serves, Sequence):
        raise InvalidInput("serves: expected a list of regions")
    regions = sorted({_name(r, "serves item") for r in serves})
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidInput(f"priority: {priority!r} is not a whole number")
    write_lock(uow.session.connection())
    values = {"code": code, "name": name, "region": region, "serves": json.dumps(regions), "priority": priority}
    row = uow.session.execute(select(WAREHOUSES).where(WAREHOUSES.c.code == code)).first()
    if row is not None:
        if {k: getattr(row, k) for k in values} != values:
            raise Conflict(f"warehouse {code!r} exists already with other details", code="inventory.warehouse.exists")
        return
    uow.session.execute(insert(WAREHOUSES).values(**values))
    uow.commit()


@dataclass(frozen=True)
class Warehouse:
    code: str
    name: str
    region: str
    serves: tuple[str, ...]
    priority: int


def get_warehouse(uow: UnitOfWork, code: str) -> Warehouse | None:
    row = uow.session.execute(select(WAREHOUSES).where(WAREHOUSES.c.code == code)).first()
    if row is None:
        return None
    return Warehouse(row.code, row.name, row.region, tuple(json.loads(row.serves)), row.priority)


def serving(uow: UnitOfWork, region: str) -> list[str]:
    """The warehouses that deliver to `region`, in the order they are tried (priority
    descending, then code); empty when none does."""
    rows = uow.session.execute(select(WAREHOUSES)).all()
    found = [r for r in rows if region in (serves := json.loads(r.serves)) or EVERYWHERE in serves]
    return [r.code for r in sorted(found, key=lambda r: (-r.priority, r.code))]


def available_many(uow: UnitOfWork, skus: Iterable[str], region: str | None = None) -> dict[str, int]:
    """Units free to sell (on hand less locked) per SKU, over the warehouses serving
    `region` (all warehouses when None); SKUs with no stock are 0."""
    wanted = sorted(set(skus))
    result = dict.fromkeys(wanted, 0)
    if not wanted:
        return result
    query = (select(STOCK.c.sku, func.sum(STOCK.c.on_hand - STOCK.c.locked))
             .where(STOCK.c.sku.in_(wanted)).group_by(STOCK.c.sku))
    if region is not None:
        query = query.where(STOCK.c.warehouse.in_(serving(uow, region)))
    for sku, free in uow.session.execute(query):
        result[sku] = int(free or 0)
    return result


def available(uow: UnitOfWork, sku: str, region: str | None = None) -> int:
    """Units of `sku` free to sell over the warehouses serving `region` (all when None)."""
    return available_many(uow, [sku], region)[sku]


def stock_of(uow: UnitOfWork, sku: str) -> dict[str, tuple[int, int]]:
    """`{warehouse: (on_hand, locked)}` for `sku`."""
    rows = uow.session.execute(select(STOCK).where(STOCK.c.sku == sku).order_by(STOCK.c.warehouse))
    return {r.warehouse: (r.on_hand, r.locked) for r in rows}


def _journal(uow: UnitOfWork, key: str, kind: str, sku: str, warehouse: str, quantity: int,
             now: datetime | None, order_id: str | None = None, line_id: str | None = None) -> bool:
    """Record a movement; False when its key was recorded before (then nothing may move),
    or a Conflict when that key was used for another movement."""
    values = {"key": key, "kind": kind, "sku": sku, "warehouse": warehouse, "quantity": quantity,
              "order_id": order_id, "line_id": line_id, "at": _at(now)}
    inserted = insert_if_absent(MOVEMENTS, uow.engine.dialect.name, values).returning(MOVEMENTS.c.id)
    if uow.session.execute(inserted).first() is not None:
        return True
    row = uow.session.execute(select(MOVEMENTS).where(MOVEMENTS.c.key == key)).one()
    if (row.kind, row.sku, row.warehouse, row.quantity) != (kind, sku, warehouse, quantity):
        raise Conflict(f"key {key!r} was used for another movement ({row.kind} of {row.quantity} "
                       f"{row.sku} at {row.warehouse})", code="inventory.key.reused")
    return False


def receive(uow: UnitOfWork, sku: str, warehouse: str, quantity: int, key: str, *,
            now: datetime | None = None) -> bool:
    """Put `quantity` units of `sku` into `warehouse`, once per `key`. True when they went
    in now, False when the key was received before."""
    _name(sku, "sku")
    _count(quantity, "quantity")
    _name(key, "key")
    write_lock(uow.session.connection())
    if get_warehouse(uow, warehouse) is None:
        raise NotFound(f"warehouse {warehouse!r} does not exist", code="inventory.warehouse.unknown")
    if not _journal(uow, f"receive:{key}", "receive", sku, warehouse, quantity, now):
        return False
    uow.session.execute(upsert(
        STOCK, uow.engine.dialect.name, {"sku": sku, "warehouse": warehouse, "on_hand": quantity, "locked": 0},
        [STOCK.c.sku, STOCK.c.warehouse], {"on_hand": STOCK.c.on_hand + quantity}))
    return True


def locks_of(uow: UnitOfWork, order_id: str) -> list[StockLock]:
    """The stock locks of an order, in (SKU, line) order."""
    rows = uow.session.execute(select(LOCKS).where(LOCKS.c.order_id == order_id)
                               .order_by(LOCKS.c.sku, LOCKS.c.line_id))
    return [StockLock(r.order_id, r.line_id, r.sku, r.warehouse, r.quantity, r.returned, r.state) for r in rows]


def _replay(uow: UnitOfWork, order_id: str) -> LockResult | None:
    held = locks_of(uow, order_id)
    if not held:
        return None
    return LockResult(True, None, {h.line_id: h.warehouse for h in held}, replayed=True)


def _lines(lines: Sequence[Line]) -> list[Line]:
    if isinstance(lines, str) or not isinstance(lines, Sequence) or not lines:
        raise InvalidInput("lines: expected a non-empty list of (line id, sku, quantity)")
    checked: list[Line] = []
    for index, line in enumerate(lines):
        if not isinstance(line, tuple | list) or len(line) != 3:
            raise InvalidInput(f"lines[{index}]: expected (line id, sku, quantity), got {line!r}")
        line_id, sku, quantity = line
        checked.append((_name(line_id, f"lines[{index}] line id"), _name(sku, f"lines[{index}] sku"),
                        _count(quantity, f"lines[{index}] quantity")))
    ids = [line[0] for line in checked]
    if len(set(ids)) != len(ids):
        raise InvalidInput("lines: each line id may appear once")
    return sorted(checked, key=lambda line: (line[1], line[0]))


def lock(uow: UnitOfWork, order_id: str, lines: Sequence[Line], region: str, *,
         now: datetime | None = None) -> LockResult:
    """Lock stock for every line of an order, or for none. Each line is held whole in the
    first warehouse serving `region` that has enough free; a refusal undoes the lines locked
    before it (a savepoint) and records nothing, so a later attempt is decided afresh. An
    order locked before gets that result again and nothing moves."""
    _name(order_id, "order_id")
    _name(region, "region")
    checked = _lines(lines)
    write_lock(uow.session.connection())
    if (replayed := _replay(uow, order_id)) is not None:
        return replayed
    warehouses = serving(uow, region)
    if not warehouses:
        return LockResult(False, f"no warehouse serves {region}")
    savepoint = uow.session.begin_nested()
    chosen: dict[str, str] = {}
    for line_id, sku, quantity in checked:
        for warehouse in warehouses:
            took = uow.session.execute(
                update(STOCK).where(STOCK.c.sku == sku, STOCK.c.warehouse == warehouse,
                                    STOCK.c.on_hand - STOCK.c.locked >= quantity)
                .values(locked=STOCK.c.locked + quantity))
            if _rows(took) == 1:
                chosen[line_id] = warehouse
                break
        else:
            savepoint.rollback()
            return LockResult(False, f"{sku} is out of stock in the warehouses serving {region}")
        record = {"order_id": order_id, "line_id": line_id, "sku": sku, "warehouse": chosen[line_id],
                  "region": region, "quantity": quantity, "returned": 0, "state": LOCKED,
                  "locked_at": _at(now), "updated_at": _at(now)}
        inserted = insert_if_absent(LOCKS, uow.engine.dialect.name, record).returning(LOCKS.c.id)
        if uow.session.execute(inserted).first() is None:
            savepoint.rollback()  # another caller locked this order meanwhile: theirs stands
            replayed = _replay(uow, order_id)
            assert replayed is not None
            return replayed
        _journal(uow, f"lock:{order_id}:{line_id}", "lock", sku, chosen[line_id], quantity, now, order_id, line_id)
    savepoint.commit()
    return LockResult(True, None, chosen)


def _settle(uow: UnitOfWork, held: StockLock, to: str, now: datetime | None) -> bool:
    """Move one locked line to `to` (released or deducted) and its stock with it."""
    moved = uow.session.execute(update(LOCKS).where(
        LOCKS.c.order_id == held.order_id, LOCKS.c.line_id == held.line_id, LOCKS.c.state == LOCKED)
        .values(state=to, updated_at=_at(now)))
    if _rows(moved) != 1:
        return False  # another caller settled it first
    values: dict[str, Any] = {"locked": STOCK.c.locked - held.quantity}
    if to == DEDUCTED:
        values["on_hand"] = STOCK.c.on_hand - held.quantity
    stock = uow.session.execute(update(STOCK).where(
        STOCK.c.sku == held.sku, STOCK.c.warehouse == held.warehouse, STOCK.c.locked >= held.quantity)
        .values(**values))
    if _rows(stock) != 1:
        raise Conflict(f"stock of {held.sku} at {held.warehouse} holds less locked than order "
                       f"{held.order_id} line {held.line_id}", code="inventory.stock.inconsistent")
    kind = "release" if to == RELEASED else "deduct"
    _journal(uow, f"{kind}:{held.order_id}:{held.line_id}", kind, held.sku, held.warehouse,
             held.quantity, now, held.order_id, held.line_id)
    return True


def release(uow: UnitOfWork, order_id: str, *, line_prefix: str = "", now: datetime | None = None) -> list[str]:
    """Give back the stock an order still holds locked (cancelled before shipment); lines
    already deducted stay so. With `line_prefix`, only the lines whose ids start with it (one
    shop's part of a checkout). The line ids released now (none on a repeat)."""
    write_lock(uow.session.connection())
    return [h.line_id for h in locks_of(uow, order_id)
            if h.state == LOCKED and h.line_id.startswith(line_prefix) and _settle(uow, h, RELEASED, now)]


def deduct(uow: UnitOfWork, order_id: str, line_id: str | None = None, *,
           now: datetime | None = None) -> list[str]:
    """Take an order's locked stock out of the warehouse (shipped): on hand and locked both
    drop. One line, or every line when `line_id` is None. The line ids deducted now (none on
    a repeat); a released line cannot be shipped (Conflict)."""
    write_lock(uow.session.connection())
    held = locks_of(uow, order_id)
    if line_id is not None:
        held = [h for h in held if h.line_id == line_id]
        if not held:
            raise NotFound(f"order {order_id!r} holds no stock for line {line_id!r}", code="inventory.lock.unknown")
    released = [h.line_id for h in held if h.state == RELEASED]
    if released:
        raise Conflict(f"order {order_id!r} released line(s) {', '.join(released)}: nothing to ship",
                       code="inventory.lock.released")
    return [h.line_id for h in held if h.state == LOCKED and _settle(uow, h, DEDUCTED, now)]


def restock(uow: UnitOfWork, order_id: str, line_id: str, quantity: int, key: str, *,
            now: datetime | None = None) -> bool:
    """Receive `quantity` returned units of a shipped line back into the warehouse it left,
    once per `key`. True when they went in now, False when the key was restocked before.
    More units than were shipped and not yet returned is refused, and nothing moves."""
    _count(quantity, "quantity")
    _name(key, "key")
    write_lock(uow.session.connection())
    row = uow.session.execute(select(LOCKS).where(LOCKS.c.order_id == order_id, LOCKS.c.line_id == line_id)).first()
    if row is None:
        raise NotFound(f"order {order_id!r} holds no stock for line {line_id!r}", code="inventory.lock.unknown")
    savepoint = uow.session.begin_nested()
    if not _journal(uow, f"restock:{key}", "restock", row.sku, row.warehouse, quantity, now, order_id, line_id):
        savepoint.commit()
        return False
    moved = uow.session.execute(update(LOCKS).where(
        LOCKS.c.id == row.id, LOCKS.c.state.in_((DEDUCTED, RETURNED)), LOCKS.c.returned + quantity <= LOCKS.c.quantity)
        .values(returned=LOCKS.c.returned + quantity, updated_at=_at(now),
                state=case((LOCKS.c.returned + quantity == LOCKS.c.quantity, RETURNED), else_=DEDUCTED)))
    if _rows(moved) != 1:
        savepoint.rollback()
        if row.state not in (DEDUCTED, RETURNED):
            raise Conflict(f"order {order_id!r} line {line_id!r} was not shipped ({row.state})",
                           code="inventory.lock.not_shipped")
        raise InvalidInput(f"quantity: {quantity} is more than the {row.quantity - row.returned} unit(s) of "
                           f"order {order_id!r} line {line_id!r} shipped and not yet returned")
    uow.session.execute(update(STOCK).where(STOCK.c.sku == row.sku, STOCK.c.warehouse == row.warehouse)
                        .values(on_hand=STOCK.c.on_hand + quantity))
    savepoint.commit()
    return True


def movements(uow: UnitOfWork, *, sku: str | None = None, order_id: str | None = None) -> list[Movement]:
    """The journal, oldest first, of one SKU and/or one order."""
    query = select(MOVEMENTS).order_by(MOVEMENTS.c.id)
    if sku is not None:
        query = query.where(MOVEMENTS.c.sku == sku)
    if order_id is not None:
        query = query.where(MOVEMENTS.c.order_id == order_id)
    return [Movement(r.key, r.kind, r.sku, r.warehouse, r.quantity, r.order_id, r.line_id)
            for r in uow.session.execute(query)]
