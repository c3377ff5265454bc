"""Promotion budgets (预算): the money and uses a promotion may spend, and the limits per user,
per user per day and per device. `BudgetStore` is the protocol; `SqlBudgets` keeps them in the
database, `RedisBudgets` (in `redis_budgets`) in Redis.

A discount is reserved when the order is placed, confirmed at payment and released on cancel
or timeout; all three are idempotent by order id (a repeat returns the first result and moves
nothing). Policy `strict` refuses what the remaining budget cannot cover; `partial` grants
what is left. A refusal is a value with a reason, never an exception, and is not recorded: a
later attempt with the same order id is decided afresh. A preview (the trial) reads only.
Usage counters are kept whether or not a call passes a limit, so that a limit introduced or
changed later counts the reservations already held.

In SQL every reservation is one transaction of conditional statements, locking rows always in
the same order (reservation, user, user-day, device counters, then the budget) so that racing
transactions queue instead of deadlocking:
`UPDATE promotion_budget SET used = used + :n ... WHERE name = :p AND used + :n <= total`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import and_, case, or_, select, type_coerce, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.sql.elements import ColumnElement

from arbiter.clock import Clock
from arbiter.errors import ArbiterError, CurrencyMismatch, InvalidInput
from arbiter.money import Money
from arbiter.platform.columns import Amount, exact, tidy, utc
from arbiter.platform.promotions.models import BUDGETS, RESERVATIONS, USAGE
from arbiter.platform.sql import insert_if_absent, upsert, write_lock

STRICT = "strict"
PARTIAL = "partial"
POLICIES = (STRICT, PARTIAL)

RESERVED = "reserved"
CONFIRMED = "confirmed"
RELEASED = "released"
REFUSED = "refused"  # nothing was reserved (or there was nothing to confirm or release)
PREVIEW = "preview"  # what a reservation would be granted now; nothing moved

BUDGET_EXHAUSTED = "budget exhausted"
USES_EXHAUSTED = "uses exhausted"
PER_USER = "per-user limit"
PER_USER_PER_DAY = "per-user daily limit"
PER_DEVICE = "per-device limit"
NO_RESERVATION = "no reservation"
ALREADY_RELEASED = "already released"
ALREADY_CONFIRMED = "already confirmed"


class UnknownBudget(ArbiterError):
    """The promotion has no budget defined: a configuration error, not a business outcome."""

    code = "promotions.budget.unknown"


class BudgetUnavailable(ArbiterError):
    """The store could not be reached; nothing is known to have moved."""

    code = "promotions.budget.unavailable"


@dataclass(frozen=True, slots=True)
class Reservation:
    """The outcome of reserve, confirm, release or preview for one promotion and order.

    `granted` is what the reservation holds (or held, once released; what a preview would
    get); `status` is the reservation's state after the call; `reason` says why the call did
    not do what it was asked (None when it did); `replayed` is True when the call had already
    been applied and this is its first result again."""

    promotion: str
    order_id: str
    requested: Money
    granted: Money
    status: str
    reason: str | None = None
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.reason is None

    @property
    def partial(self) -> bool:
        return self.ok and self.granted < self.requested


@dataclass(frozen=True, slots=True)
class BudgetState:
    promotion: str
    total: Money
    used: Money  # reserved and confirmed
    uses_total: int | None
    uses_used: int

    @property
    def remaining(self) -> Money:
        left = self.total - self.used
        return left if left.amount > 0 else Money(tidy(Decimal(0)), left.currency)


@dataclass(frozen=True, slots=True)
class BudgetTerms:
    """A promotion's budget policy and limits, as `reserve` takes them."""

    policy: str = STRICT
    per_user: int | None = None
    per_user_per_day: int | None = None
    per_device: int | None = None

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise InvalidInput(f"policy: {self.policy!r} is not one of {', '.join(POLICIES)}")
        for name in ("per_user", "per_user_per_day", "per_device"):
            limit = getattr(self, name)
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
                raise InvalidInput(f"{name}: {limit!r} is not a count (0 or more)")


@dataclass(frozen=True, slots=True)
class Usage:
    """Active reservations of one holder: per user, per user that day, per device."""

    user: int = 0
    user_day: int = 0
    device: int = 0


def decide(state: BudgetState, amount: Money, terms: BudgetTerms, usage: Usage, *,
           has_device: bool) -> tuple[Money, str | None]:
    """What a reservation of `amount` would be granted, and why not: the rule both stores
    apply atomically, written once in plain Python for previews and tests."""
    zero = Money(tidy(Decimal(0)), state.total.currency)
    if terms.per_user is not None and usage.user >= terms.per_user:
        return zero, PER_USER
    if terms.per_user_per_day is not None and usage.user_day >= terms.per_user_per_day:
        return zero, PER_USER_PER_DAY
    if has_device and terms.per_device is not None and usage.device >= terms.per_device:
        return zero, PER_DEVICE
    if state.uses_total is not None and state.uses_used >= state.uses_total:
        return zero, USES_EXHAUSTED
    left = state.total - state.used
    if left >= amount:
        return amount, None
    if terms.policy == PARTIAL and left.amount > 0:
        return left, None
    return zero, BUDGET_EXHAUSTED


def check_amount(amount: Money, what: str = "amount") -> Money:
    if not isinstance(amount, Money):
        raise InvalidInput(f"{what}: expected Money, got {type(amount).__name__}")
    if amount.amount <= 0:
        raise InvalidInput(f"{what}: {amount} must be more than zero")
    exact(amount.amount, what)
    return Money(tidy(amount.amount), amount.currency)


def check_total(total: Money, uses: int | None) -> None:
    if not isinstance(total, Money) or total.amount < 0:
        raise InvalidInput(f"total: {total} must be Money of zero or more")
    exact(total.amount, "total")
    if uses is not None and (isinstance(uses, bool) or not isinstance(uses, int) or uses < 0):
        raise InvalidInput(f"uses: {uses!r} is not a count (0 or more)")


class BudgetStore(Protocol):
    """Budgets and limits that move atomically across processes, idempotent by order id."""

    def define(self, promotion: str, total: Money, uses: int | None = None) -> BudgetState: ...

    def reserve(
        self, promotion: str, order_id: str, amount: Money, *, user: str, device: str | None = None,
        policy: str = STRICT, per_user: int | None = None, per_user_per_day: int | None = None,
        per_device: int | None = None, day: date,
    ) -> Reservation: ...

    def confirm(self, promotion: str, order_id: str) -> Reservation: ...

    def release(self, promotion: str, order_id: str, *, after_confirm: bool = False) -> Reservation: ...

    def remaining(self, promotion: str) -> Money: ...

    def state(self, promotion: str) -> BudgetState: ...

    def reservation(self, promotion: str, order_id: str) -> Reservation | None: ...

    def preview(
        self, promotion: str, amount: Money, *, user: str | None = None, device: str | None = None,
        policy: str = STRICT, per_user: int | None = None, per_user_per_day: int | None = None,
        per_device: int | None = None, day: date | None = None,
    ) -> Reservation: ...


class _Refused(Exception):
    """Rolls the reservation's transaction back; the reason becomes the returned value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reservation(row: Row[Any], *, replayed: bool = False, reason: str | None = None) -> Reservation:
    return Reservation(
        promotion=row.promotion, order_id=row.order_id,
        requested=Money(row.requested, row.currency), granted=Money(row.granted, row.currency),
        status=row.status, reason=reason, replayed=replayed,
    )


def _state(row: Row[Any]) -> BudgetState:
    return BudgetState(
        promotion=row.name, total=Money(row.total, row.currency), used=Money(row.used, row.currency),
        uses_total=row.uses_total, uses_used=row.uses_used,
    )


def _refused(promotion: str, order_id: str, requested: Money, reason: str) -> Reservation:
    zero = Money(tidy(Decimal(0)), requested.currency)
    return Reservation(promotion, order_id, requested, zero, REFUSED, reason)


def usage_periods(user: str, device: str | None, day: date) -> list[tuple[str, str, str]]:
    """(kind, subject, period) of the counters a reservation moves, in lock order."""
    periods = [("user", user, ""), ("user_day", user, day.isoformat())]
    if device is not None:
        periods.append(("device", device, ""))
    return periods


class SqlBudgets:
    """`BudgetStore` in the `promotion_budget`, `promotion_usage` and `promotion_reservation`
    tables, on SQLite or PostgreSQL. Each move is its own transaction, or, for a store
    `joined` to a caller's connection, a savepoint inside the caller's transaction: the
    caller's commit then makes its own writes and the budget's one atomic change (and on
    SQLite, where one writer holds the file, it is the only way both can write)."""

    def __init__(self, engine: Engine, clock: Clock, *, connection: Connection | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.connection = connection

    def joined(self, connection: Connection) -> SqlBudgets:
        """This store, moving inside `connection`'s transaction (committed by its owner)."""
        return SqlBudgets(self.engine, self.clock, connection=connection)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            if self.connection is not None:
                write_lock(self.connection)
                with self.connection.begin_nested():
                    yield self.connection
                return
            with self.engine.begin() as connection:
                write_lock(connection)
                yield connection
        except (OperationalError, InterfaceError) as exc:
            raise BudgetUnavailable(f"budgets: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc

    def _budget_row(self, connection: Connection, promotion: str) -> Row[Any]:
        row = connection.execute(select(BUDGETS).where(BUDGETS.c.name == promotion)).first()
        if row is None:
            raise UnknownBudget(f"promotion {promotion!r} has no budget defined")
        return row

    def define(self, promotion: str, total: Money, uses: int | None = None) -> BudgetState:
        """Create the budget, or change its total and uses; what is used stays as it is."""
        check_total(total, uses)
        now = utc(self.clock.now())
        with self._transaction() as connection:
            statement = upsert(
                BUDGETS, connection.dialect.name,
                values=dict(name=promotion, currency=total.currency, total=total.amount, used=Decimal(0),
                            last_grant=Decimal(0), uses_total=uses, uses_used=0, created_at=now,
                            updated_at=now),
                keys=[BUDGETS.c.name],
                update=dict(total=total.amount, uses_total=uses, updated_at=now),
                where=BUDGETS.c.currency == total.currency,
            ).returning(*BUDGETS.c)
            row = connection.execute(statement).first()
            if row is None:
                raise CurrencyMismatch(f"promotion {promotion!r} has a budget in another currency")
            return _state(row)

    def reserve(
        self, promotion: str, order_id: str, amount: Money, *, user: str, device: str | None = None,
        policy: str = STRICT, per_user: int | None = None, per_user_per_day: int | None = None,
        per_device: int | None = None, day: date,
    ) -> Reservation:
        amount = check_amount(amount)
        terms = BudgetTerms(policy, per_user, per_user_per_day, per_device)
        limits = {"user": terms.per_user, "user_day": terms.per_user_per_day, "device": terms.per_device}
        reasons = {"user": PER_USER, "user_day": PER_USER_PER_DAY, "device": PER_DEVICE}
        now = utc(self.clock.now())
        try:
            with self._transaction() as connection:
                dialect = connection.dialect.name
                inserted = connection.execute(insert_if_absent(RESERVATIONS, dialect, dict(
                    promotion=promotion, order_id=order_id, user=user, device=device, day=day,
                    currency=amount.currency, requested=amount.amount, granted=Decimal(0),
                    status=RESERVED, reserved_at=now,
                )).returning(RESERVATIONS.c.id)).first()
                if inserted is None:
                    return _reservation(self._reservation_row(connection, promotion, order_id), replayed=True)
                for kind, subject, period in usage_periods(user, device, day):
                    if not self._count(connection, promotion, kind, subject, period, limits[kind]):
                        raise _Refused(reasons[kind])
                granted = self._take(connection, promotion, amount, terms.policy, now)
                connection.execute(update(RESERVATIONS).where(RESERVATIONS.c.id == inserted.id)
                                   .values(granted=granted))
        except _Refused as refusal:
            return _refused(promotion, order_id, amount, refusal.reason)
        return Reservation(promotion, order_id, amount, Money(granted, amount.currency), RESERVED)

    def _reservation_row(self, connection: Connection, promotion: str, order_id: str) -> Row[Any]:
        row = connection.execute(select(RESERVATIONS).where(
            RESERVATIONS.c.promotion == promotion, RESERVATIONS.c.order_id == order_id)).first()
        assert row is not None, "a reservation whose insert conflicted must be there"
        return row

    def _count(self, connection: Connection, promotion: str, kind: str, subject: str, period: str,
               limit: int | None) -> bool:
        """Add one to a usage counter unless it already reached `limit`, in one statement."""
        if limit is not None and limit <= 0:
            return False
        statement = upsert(
            USAGE, connection.dialect.name,
            values=dict(promotion=promotion, kind=kind, subject=subject, period=period, count=1),
            keys=[USAGE.c.promotion, USAGE.c.kind, USAGE.c.subject, USAGE.c.period],
            update=dict(count=USAGE.c.count + 1),
            where=None if limit is None else USAGE.c.count < limit,
        ).returning(USAGE.c.count)
        return connection.execute(statement).first() is not None

    def _take(self, connection: Connection, promotion: str, amount: Money, policy: str,
              now: datetime) -> Decimal:
        """Move `used` in one conditional UPDATE; the grant comes back through RETURNING."""
        n = type_coerce(amount.amount, Amount())
        left = BUDGETS.c.total - BUDGETS.c.used
        grant: ColumnElement[Decimal]
        if policy == PARTIAL:
            grant = case((left < n, left), else_=n)
            enough = BUDGETS.c.used < BUDGETS.c.total
        else:
            grant = n
            enough = BUDGETS.c.used + n <= BUDGETS.c.total
        statement = (
            update(BUDGETS)
            .where(
                BUDGETS.c.name == promotion,
                BUDGETS.c.currency == amount.currency,
                or_(BUDGETS.c.uses_total.is_(None), BUDGETS.c.uses_used < BUDGETS.c.uses_total),
                enough,
            )
            .values(used=BUDGETS.c.used + grant, last_grant=grant, uses_used=BUDGETS.c.uses_used + 1,
                    updated_at=now)
            .returning(BUDGETS.c.last_grant)
        )
        row = connection.execute(statement).first()
        if row is not None:
            granted: Decimal = row.last_grant
            return granted
        # Refused: read the row only to say why (nothing is written after this read).
        budget = self._budget_row(connection, promotion)
        if budget.currency != amount.currency:
            raise CurrencyMismatch(f"promotion {promotion!r} budgets in {budget.currency}, not {amount.currency}")
        if budget.uses_total is not None and budget.uses_used >= budget.uses_total:
            raise _Refused(USES_EXHAUSTED)
        raise _Refused(BUDGET_EXHAUSTED)

    def confirm(self, promotion: str, order_id: str) -> Reservation:
        now = utc(self.clock.now())
        with self._transaction() as connection:
            row = connection.execute(
                update(RESERVATIONS)
                .where(RESERVATIONS.c.promotion == promotion, RESERVATIONS.c.order_id == order_id,
                       RESERVATIONS.c.status == RESERVED)
                .values(status=CONFIRMED, confirmed_at=now)
                .returning(*RESERVATIONS.c)
            ).first()
            if row is not None:
                return _reservation(row)
            return self._unchanged(connection, promotion, order_id, CONFIRMED)

    def release(self, promotion: str, order_id: str, *, after_confirm: bool = False) -> Reservation:
        """Give the reservation's amount, use and counters back, once. A confirmed (paid)
        reservation is released only with `after_confirm`: a late timeout must not undo a
        payment."""
        now = utc(self.clock.now())
        releasable = (RESERVED, CONFIRMED) if after_confirm else (RESERVED,)
        with self._transaction() as connection:
            row = connection.execute(
                update(RESERVATIONS)
                .where(RESERVATIONS.c.promotion == promotion, RESERVATIONS.c.order_id == order_id,
                       RESERVATIONS.c.status.in_(releasable))
                .values(status=RELEASED, released_at=now)
                .returning(*RESERVATIONS.c)
            ).first()
            if row is None:
                return self._unchanged(connection, promotion, order_id, RELEASED)
            for kind, subject, period in usage_periods(row.user, row.device, row.day):
                connection.execute(
                    update(USAGE)
                    .where(USAGE.c.promotion == promotion, USAGE.c.kind == kind,
                           USAGE.c.subject == subject, USAGE.c.period == period, USAGE.c.count > 0)
                    .values(count=USAGE.c.count - 1)
                )
            connection.execute(
                update(BUDGETS)
                .where(BUDGETS.c.name == promotion)
                .values(used=BUDGETS.c.used - type_coerce(row.granted, Amount()),
                        uses_used=BUDGETS.c.uses_used - 1, updated_at=now)
            )
            return _reservation(row)

    def _unchanged(self, connection: Connection, promotion: str, order_id: str, wanted: str) -> Reservation:
        """Why a confirm or release moved nothing: a replay, the other end state, or nothing."""
        row = connection.execute(select(RESERVATIONS).where(
            RESERVATIONS.c.promotion == promotion, RESERVATIONS.c.order_id == order_id)).first()
        if row is None:
            currency = connection.execute(
                select(BUDGETS.c.currency).where(BUDGETS.c.name == promotion)).scalar_one_or_none()
            zero = Money(tidy(Decimal(0)), currency or Money.zero().currency)
            return Reservation(promotion, order_id, zero, zero, REFUSED, NO_RESERVATION)
        if row.status == wanted:
            return _reservation(row, replayed=True)
        return _reservation(row, reason=ALREADY_RELEASED if row.status == RELEASED else ALREADY_CONFIRMED)

    def state(self, promotion: str) -> BudgetState:
        with self.engine.connect() as connection:
            return _state(self._budget_row(connection, promotion))

    def remaining(self, promotion: str) -> Money:
        return self.state(promotion).remaining

    def reservation(self, promotion: str, order_id: str) -> Reservation | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(RESERVATIONS).where(
                RESERVATIONS.c.promotion == promotion, RESERVATIONS.c.order_id == order_id)).first()
        return None if row is None else _reservation(row)

    def preview(
        self, promotion: str, amount: Money, *, user: str | None = None, device: str | None = None,
        policy: str = STRICT, per_user: int | None = None, per_user_per_day: int | None = None,
        per_device: int | None = None, day: date | None = None,
    ) -> Reservation:
        """What `reserve` would grant now; reads only (the trial)."""
        amount = check_amount(amount)
        terms = BudgetTerms(policy, per_user, per_user_per_day, per_device)
        with self.engine.connect() as connection:
            state = _state(self._budget_row(connection, promotion))
            counts: dict[str, int] = {}
            wanted = [] if user is None else usage_periods(user, device, day or date.min)
            for kind, subject, period in wanted:
                if kind == "user_day" and day is None:
                    continue
                counts[kind] = connection.execute(select(USAGE.c.count).where(and_(
                    USAGE.c.promotion == promotion, USAGE.c.kind == kind, USAGE.c.subject == subject,
                    USAGE.c.period == period))).scalar_one_or_none() or 0
        return previewed(promotion, amount, state, terms, Usage(**counts), has_device=device is not None)


def previewed(promotion: str, amount: Money, state: BudgetState, terms: BudgetTerms, usage: Usage,
              *, has_device: bool) -> Reservation:
    if state.total.currency != amount.currency:
        raise CurrencyMismatch(f"promotion {promotion!r} budgets in {state.total.currency}, not {amount.currency}")
    granted, reason = decide(state, amount, terms, usage, has_device=has_device)
    return Reservation(promotion, "", amount, granted, REFUSED if reason else PREVIEW, reason)

