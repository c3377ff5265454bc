"""What an order holds of promotions, and moving it: the `promotion_order` record, its holds
(a budget reservation and/or a coupon per applied promotion), and the priced result kept so
that a repeated place returns it again.

A hold is written to the record (state `intent`) before its budget or coupon moves, and marked
`held` after; so whoever comes next (a retry whose lease took the order over, or a cancel)
finds every move that may have happened and gives it back. Each hold carries its own key, the
order id it reserves under in the stores: the order id itself the first time a promotion is
held, `ORDER#n` when a re-price had to give the earlier hold back (stores are idempotent by
order id, so a released key can never hold again). Writes to the record are conditional on
the caller's `token`: a caller that lost the order to another learns it from a refused write.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from arbiter.engine.pricing.model import (
    Allocation,
    Applied,
    Gift,
    Hint,
    NotApplied,
    PresaleSplit,
    PricedLine,
    TrialResult,
)
from arbiter.money import Money
from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.promotions import service
from arbiter.platform.promotions.budgets import BudgetStore, BudgetTerms, SqlBudgets
from arbiter.platform.promotions.models import ORDERS
from arbiter.platform.sql import insert_if_absent, write_lock

# order statuses
PLACING = "placing"
PLACED = "placed"
CONFIRMED = "confirmed"
CANCELLED = "cancelled"

# hold states
INTENT = "intent"  # written, about to move (or moved, if the writer stopped right after)
HELD = "held"
RELEASED = "released"

# what opening an order for placing found
NEW = "new"
TAKEN_OVER = "taken over"  # a placing whose lease ran out: this caller continues it
BUSY = "busy"  # another caller is placing it now
DONE = "done"  # placed, confirmed or cancelled already


@dataclass(frozen=True, slots=True)
class Hold:
    """What one applied promotion holds for the order: `amount` of its budget `budget` (the
    promotion's own, when it has one) and/or the coupon `coupon`, which moves with the budget
    its template draws on (`coupon_budget`), all under `key`."""

    promotion: str
    key: str
    amount: Decimal
    currency: str
    budget: str | None = None
    coupon: int | None = None
    coupon_budget: str | None = None
    state: str = INTENT

    @property
    def live(self) -> bool:
        return self.state != RELEASED

    def money(self) -> Money:
        return Money(self.amount, self.currency)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "amount": str(self.amount)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Hold:
        return cls(**{**data, "amount": Decimal(data["amount"])})


@dataclass(frozen=True, slots=True)
class OrderRecord:
    order_id: str
    user: str
    device: str | None
    status: str
    token: str
    lease_until: datetime
    holds: tuple[Hold, ...]
    result: TrialResult | None
    placed_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None

    def live_holds(self) -> list[Hold]:
        return [h for h in self.holds if h.live]


def next_key(holds: Sequence[Hold], promotion: str, order_id: str) -> str:
    """The key of a new hold of `promotion`: the order id, then ORDER#1, ORDER#2, ..."""
    used = sum(1 for h in holds if h.promotion == promotion)
    return order_id if used == 0 else f"{order_id}#{used}"


# -- the priced result as JSON ---------------------------------------------------------------


def _decimal_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__}")


def encode_result(result: TrialResult) -> str:
    data = asdict(result)
    # Keep the kind of a hint's gap: an amount (Decimal) or a number of items (int).
    for hint, original in zip(data["hints"], result.hints, strict=True):
        hint["missing"] = {"amount": str(original.missing)} if isinstance(original.missing, Decimal) else {"items": original.missing}
    return json.dumps(data, default=_decimal_default, sort_keys=True)


def decode_result(text: str) -> TrialResult:
    data = json.loads(text)
    d = Decimal

    def pairs(items: list[list[str]]) -> tuple[tuple[str, Decimal], ...]:
        return tuple((name, d(amount)) for name, amount in items)

    return TrialResult(
        currency=data["currency"], list_total=d(data["list_total"]), payable=d(data["payable"]),
        savings=d(data["savings"]),
        lines=tuple(
            PricedLine(
                line["id"], line["sku"], line["shop"], line["quantity"], d(line["list_total"]),
                d(line["payable"]),
                tuple(Allocation(a["promotion"], d(a["amount"]), tuple(d(u) for u in a["units"]),
                                 pairs(a["funding"])) for a in line["allocations"]),
            )
            for line in data["lines"]
        ),
        applied=tuple(Applied(a["promotion"], a["display"], a["stage"], d(a["discount"]), a["threshold_base"],
                              a["amount_base"], a["note"]) for a in data["applied"]),
        not_applied=tuple(NotApplied(x["promotion"], x["display"], x["reason"], x["detail"])
                          for x in data["not_applied"]),
        hints=tuple(Hint(h["promotion"], d(h["missing"]["amount"]) if "amount" in h["missing"] else int(h["missing"]["items"]),
                         h["text"]) for h in data["hints"]),
        gifts=tuple(Gift(g["promotion"], g["sku"], d(g["value"]), pairs(g["funding"])) for g in data["gifts"]),
        # results stored before presale phases were recorded are all from the deposit phase
        presale=tuple(PresaleSplit(p["promotion"], p["line"], d(p["deposit"]), d(p["balance"]),
                                   p.get("phase", "deposit"))
                      for p in data["presale"]),
        combinations=data["combinations"],
    )


# -- the record ------------------------------------------------------------------------------


def _record(row: Any) -> OrderRecord:
    lease_until = as_utc(row.lease_until)
    placed_at = as_utc(row.placed_at)
    assert lease_until is not None and placed_at is not None
    return OrderRecord(
        order_id=row.order_id, user=row.user, device=row.device, status=row.status, token=row.token,
        lease_until=lease_until, holds=tuple(Hold.from_json(h) for h in json.loads(row.holds)),
        result=None if row.result is None else decode_result(row.result), placed_at=placed_at,
        confirmed_at=as_utc(row.confirmed_at), cancelled_at=as_utc(row.cancelled_at),
    )


def load(uow: UnitOfWork, order_id: str) -> OrderRecord | None:
    row = uow.session.execute(select(ORDERS).where(ORDERS.c.order_id == order_id)).first()
    return None if row is None else _record(row)


def _holds_json(holds: Sequence[Hold]) -> str:
    return json.dumps([h.to_json() for h in holds], sort_keys=True)


def open_order(uow: UnitOfWork, order_id: str, user: str, device: str | None, now: datetime,
               lease: timedelta) -> tuple[str, OrderRecord]:
    """Start placing `order_id`, or find why not: (NEW | TAKEN_OVER | BUSY | DONE, record).
    Commits what it changed."""
    write_lock(uow.session.connection())
    at = utc(now)
    token = uuid.uuid4().hex
    inserted = uow.session.execute(insert_if_absent(ORDERS, uow.engine.dialect.name, dict(
        order_id=order_id, user=user, device=device, status=PLACING, token=token, lease_until=at + lease,
        holds="[]", result=None, placed_at=at,
    )).returning(ORDERS.c.order_id)).first()
    if inserted is None:
        row = uow.session.execute(select(ORDERS).where(ORDERS.c.order_id == order_id).with_for_update()).first()
        assert row is not None, "the insert conflicted with this row"
        found = _record(row)
        if found.status != PLACING or found.lease_until > at:
            uow.session.rollback()
            return (DONE if found.status != PLACING else BUSY), found
        uow.session.execute(update(ORDERS).where(ORDERS.c.order_id == order_id)
                            .values(token=token, lease_until=at + lease))
        uow.commit()
        return TAKEN_OVER, replace(found, token=token, lease_until=at + lease)
    uow.commit()
    return NEW, OrderRecord(order_id, user, device, PLACING, token, at + lease, (), None, at, None, None)


def save(uow: UnitOfWork, order_id: str, token: str, holds: Sequence[Hold], *, commit: bool = True,
         **values: Any) -> bool:
    """Write the holds (and `values`) if `token` still owns the order; False when it does not
    (nothing written, the transaction rolled back)."""
    write_lock(uow.session.connection())
    saved = uow.session.execute(
        update(ORDERS).where(ORDERS.c.order_id == order_id, ORDERS.c.token == token)
        .values(holds=_holds_json(holds), **values).returning(ORDERS.c.order_id)
    ).first()
    if saved is None:
        uow.session.rollback()
        return False
    if commit:
        uow.commit()
    return True


def finish(uow: UnitOfWork, order_id: str, token: str, holds: Sequence[Hold], result: TrialResult,
           now: datetime) -> bool:
    """The order is placed: its holds and priced result stay for confirm, cancel and replays."""
    return save(uow, order_id, token, holds, status=PLACED, result=encode_result(result),
                lease_until=utc(now))


def settle(uow: UnitOfWork, order_id: str, status: str, sources: Sequence[str],
           now: datetime) -> tuple[bool, OrderRecord | None]:
    """Move the order from one of `sources` to confirmed or cancelled, taking it from any
    placing caller (a new token); whether it moved, and the record after (None: no order)."""
    write_lock(uow.session.connection())
    stamp = {"confirmed_at": utc(now)} if status == CONFIRMED else {"cancelled_at": utc(now)}
    moved = uow.session.execute(
        update(ORDERS).where(ORDERS.c.order_id == order_id, ORDERS.c.status.in_(list(sources)))
        .values(status=status, token=uuid.uuid4().hex, **stamp).returning(ORDERS.c.order_id)
    ).first()
    found = load(uow, order_id)
    uow.commit()
    return moved is not None, found


# -- moving one hold ---------------------------------------------------------------------------


def joined(uow: UnitOfWork, budgets: BudgetStore) -> tuple[BudgetStore, bool]:
    """The budget store to use inside this unit of work, and whether it joined its transaction:
    a SQL store on the same database moves in it and commits with the order's record."""
    if isinstance(budgets, SqlBudgets) and budgets.connection is None and (
        budgets.engine.url.render_as_string(hide_password=False)
        == uow.engine.url.render_as_string(hide_password=False)
    ):
        return budgets.joined(uow.session.connection()), True
    return budgets, False


@contextmanager
def budget_move(uow: UnitOfWork, budgets: BudgetStore) -> Iterator[BudgetStore]:
    """A budget store to move with: inside the unit of work's transaction when it can join it
    (it takes the write lock; the caller commits), else on its own."""
    uow.session.rollback()  # end any read: a store on its own must not wait behind it
    store, _ = joined(uow, budgets)
    yield store


@dataclass(frozen=True, slots=True)
class Taken:
    """What taking a hold got: the amount granted (less than asked under a partial budget) or
    why it was refused."""

    hold: Hold
    granted: Decimal
    reason: str | None = None


def take(uow: UnitOfWork, budgets: BudgetStore, hold: Hold, *, user: str, device: str | None,
         terms: BudgetTerms, day: date, now: datetime) -> Taken:
    """Reserve the hold's coupon (with its template's budget) and its own budget; on a refusal,
    give back what moved. The budget's move is left uncommitted when it joined the unit of work:
    the caller commits it with the record."""
    granted = hold.amount
    if hold.coupon is not None:
        uow.session.rollback()
        use = service.reserve_with_budget(uow, budgets, hold.coupon, hold.key, user, hold.money(), now,
                                          terms=terms, day=day, device=device)
        if not use.ok:
            return Taken(hold, Decimal(0), use.reason)
        if use.granted is not None:
            granted = min(granted, use.granted.amount)
    if hold.budget is not None:
        with budget_move(uow, budgets) as store:
            reservation = store.reserve(
                hold.budget, hold.key, hold.money(), user=user, device=device, policy=terms.policy,
                per_user=terms.per_user, per_user_per_day=terms.per_user_per_day,
                per_device=terms.per_device, day=day)
        if not reservation.ok or reservation.status != "reserved":
            uow.session.rollback()
            if hold.coupon is not None:
                service.return_with_budget(uow, budgets, hold.coupon, hold.key, now)
            return Taken(hold, Decimal(0), reservation.reason or "budget already released")
        granted = min(granted, reservation.granted.amount)
    return Taken(hold, granted)


@dataclass(frozen=True, slots=True)
class Move:
    """One budget or coupon move made for an order by confirm or cancel."""

    promotion: str
    target: str  # "budget NAME" or "coupon ID"
    status: str | None
    reason: str | None = None
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.reason is None


def give_back(uow: UnitOfWork, budgets: BudgetStore, hold: Hold, now: datetime) -> list[Move]:
    """Release the hold's budget and return its coupon (even after payment), once however
    often it is asked; commits."""
    moves: list[Move] = []
    if hold.coupon is not None:
        uow.session.rollback()
        use = service.return_with_budget(uow, budgets, hold.coupon, hold.key, now)
        moves.append(Move(hold.promotion, f"coupon {hold.coupon}", use.coupon.status,
                          None if use.coupon.reason == "not used by this order" else use.coupon.reason,
                          use.coupon.replayed))
    if hold.budget is not None:
        with budget_move(uow, budgets) as store:
            released = store.release(hold.budget, hold.key, after_confirm=True)
        uow.commit()
        moves.append(Move(hold.promotion, f"budget {hold.budget}", released.status,
                          None if released.reason == "no reservation" else released.reason, released.replayed))
    return moves


def confirm_hold(uow: UnitOfWork, budgets: BudgetStore, hold: Hold, now: datetime) -> list[Move]:
    """Spend the hold's coupon and confirm its budget (the order is paid); commits."""
    moves: list[Move] = []
    if hold.coupon is not None:
        uow.session.rollback()
        use = service.redeem_with_budget(uow, budgets, hold.coupon, hold.key, now)
        moves.append(Move(hold.promotion, f"coupon {hold.coupon}", use.coupon.status, use.reason,
                          use.coupon.replayed))
    if hold.budget is not None:
        with budget_move(uow, budgets) as store:
            confirmed = store.confirm(hold.budget, hold.key)
        uow.commit()
        moves.append(Move(hold.promotion, f"budget {hold.budget}", confirmed.status, confirmed.reason,
                          confirmed.replayed))
    return moves
