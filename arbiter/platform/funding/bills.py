"""Bills (账单): one per period of a financed asset, due monthly, and the overdue penalty.

Each bill carries the period's principal and fee from the schedule and a due date: the same
day of the month as the financing, k months later (the month's last day when shorter), in
Beijing time (UTC+8). Statuses: `open` (not yet due, or due today), `overdue` (an open bill
past its due date, read off the date), `paid`, `closed` (by a refund or a sale).

The overdue penalty (罚息) is PENALTY_RATE a day (0.05%, 万分之五) of the bill's unpaid
principal for each day past the due date, assessed once a day per bill (`assess_overdue`)
and rounded half up to the cent per assessment; a repayment first assesses up to its day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import or_, select, update

from arbiter.engine.installments import Schedule, due_dates
from arbiter.money import CENT, Money
from arbiter.platform.columns import as_utc
from arbiter.platform.credit import books as credit_books
from arbiter.platform.credit import lines as credit_lines
from arbiter.platform.db import UnitOfWork
from arbiter.platform.funding import books
from arbiter.platform.funding.models import ASSETS, BILLS

BEIJING = timezone(timedelta(hours=8))
PENALTY_RATE = Decimal("0.0005")
OPEN, OVERDUE, PAID, CLOSED = "open", "overdue", "paid", "closed"


def business_day(at: datetime) -> date:
    return at.astimezone(BEIJING).date()


@dataclass(frozen=True, slots=True)
class Bill:
    id: int
    order_id: str
    number: int
    due_on: date
    principal: Money
    fee: Money
    penalty: Money
    principal_paid: Money
    fee_paid: Money
    fee_waived: Money
    penalty_paid: Money
    stored_status: str
    paid_at: datetime | None
    penalty_through: date | None = None

    @property
    def principal_due(self) -> Money:
        return self.principal - self.principal_paid

    @property
    def fee_due(self) -> Money:
        return self.fee - self.fee_paid - self.fee_waived

    @property
    def penalty_due(self) -> Money:
        return self.penalty - self.penalty_paid

    @property
    def owed(self) -> Money:
        return self.principal_due + self.fee_due + self.penalty_due

    @property
    def total(self) -> Money:
        return self.principal + self.fee

    def status(self, now: datetime) -> str:
        if self.stored_status != OPEN:
            return self.stored_status
        return OVERDUE if business_day(now) > self.due_on else OPEN

    def pending_penalty(self, now: datetime) -> Money:
        """The penalty `assess_overdue` would add today (nothing when assessed already)."""
        today = business_day(now)
        if self.stored_status != OPEN or today <= self.due_on:
            return Money.zero(self.principal.currency)
        days = (today - (self.penalty_through or self.due_on)).days
        return penalty_for(self.principal_due, days)

    def days_overdue(self, now: datetime) -> int:
        return max(0, (business_day(now) - self.due_on).days) if self.stored_status == OPEN else 0


def penalty_for(unpaid: Money, days: int) -> Money:
    """PENALTY_RATE a day of `unpaid` over `days`, rounded half up to the cent."""
    amount = (unpaid.amount * PENALTY_RATE * max(days, 0)).quantize(CENT, rounding=ROUND_HALF_UP)
    return Money(amount, unpaid.currency)


def create_bills(uow: UnitOfWork, order_id: str, user_id: str, schedule: Schedule, *, now: datetime) -> None:
    """One bill per period of `schedule`. Does not commit."""
    dates = due_dates(business_day(now), schedule.term)
    currency = schedule.principal.currency
    rows = [dict(order_id=order_id, user_id=user_id, number=p.number, due_on=due, currency=currency,
                 principal=p.principal.amount, fee=p.fee.amount, penalty=Decimal(0), principal_paid=Decimal(0),
                 fee_paid=Decimal(0), fee_waived=Decimal(0), penalty_paid=Decimal(0), status=OPEN)
            for p, due in zip(schedule.periods, dates, strict=True)]
    uow.session.execute(BILLS.insert(), rows)


def bills_of(uow: UnitOfWork, order_id: str) -> list[Bill]:
    rows = uow.session.execute(select(BILLS).where(BILLS.c.order_id == order_id).order_by(BILLS.c.number))
    return [bill(row) for row in rows]


def user_bills(uow: UnitOfWork, user_id: str) -> list[Bill]:
    rows = uow.session.execute(select(BILLS).where(BILLS.c.user_id == user_id)
                               .order_by(BILLS.c.due_on, BILLS.c.order_id, BILLS.c.number))
    return [bill(row) for row in rows]


def assess_overdue(uow: UnitOfWork, *, now: datetime, order_id: str | None = None) -> Money:
    """Add the penalty each overdue open bill has earned up to today (of one order, or all),
    post it, and update each user's overdue days on their line. Running it twice on a day
    adds nothing. Returns the penalty added. Does not commit (the daily job commits)."""
    today = business_day(now)
    query = select(BILLS).where(BILLS.c.status == OPEN, BILLS.c.due_on < today,
                                or_(BILLS.c.penalty_through.is_(None), BILLS.c.penalty_through < today))
    if order_id is not None:
        query = query.where(BILLS.c.order_id == order_id)
    added = Decimal(0)
    users: set[str] = set()
    currency = None
    for row in uow.session.execute(query).all():
        users.add(row.user_id)
        currency = row.currency
        since = row.penalty_through or row.due_on
        amount = penalty_for(Money(row.principal - row.principal_paid, row.currency), (today - since).days).amount
        guard = BILLS.c.penalty_through.is_(None) if row.penalty_through is None else BILLS.c.penalty_through == since
        moved = uow.session.execute(update(BILLS).where(BILLS.c.id == row.id, guard)
                                    .values(penalty=BILLS.c.penalty + amount, penalty_through=today)
                                    .returning(BILLS.c.id)).first()
        if moved is None or amount == 0:
            continue  # assessed meanwhile, or nothing unpaid
        added += amount
        credit_books.post(uow, [books.penalty(row.id, today.isoformat(), row.order_id, row.user_id,
                                              Money(amount, row.currency))], now, batch=f"penalty:{row.id}:{today}")
    for user in sorted(users):
        refresh_overdue(uow, user, now=now)
    return Money(added, currency or Money.zero().currency)


def refresh_overdue(uow: UnitOfWork, user_id: str, *, now: datetime) -> int:
    """Set the user's `overdue_days` to their oldest open bill's days past due. Does not commit."""
    days = max((b.days_overdue(now) for b in user_bills(uow, user_id) if b.owed.amount > 0), default=0)
    credit_lines.set_overdue(uow, user_id, days, now=now)
    return days


def overdue_assets(uow: UnitOfWork, *, now: datetime, days: int) -> list[str]:
    """Orders whose assets (still financed) have an open bill more than `days` past due."""
    limit = business_day(now) - timedelta(days=days)
    rows = uow.session.execute(
        select(BILLS.c.order_id).distinct().join(ASSETS, ASSETS.c.order_id == BILLS.c.order_id)
        .where(BILLS.c.status == OPEN, BILLS.c.due_on < limit, ASSETS.c.status == "financed")
        .order_by(BILLS.c.order_id))
    return [r.order_id for r in rows]


def bill(row: Any) -> Bill:
    c = row.currency
    return Bill(row.id, row.order_id, row.number, row.due_on, Money(row.principal, c), Money(row.fee, c),
                Money(row.penalty, c), Money(row.principal_paid, c), Money(row.fee_paid, c), Money(row.fee_waived, c),
                Money(row.penalty_paid, c), row.status, as_utc(row.paid_at), row.penalty_through)
