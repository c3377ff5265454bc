"""Settlement cycles: goods settlement (货款结算) of the lines due, the refunds clawed back
since the last statement, the deposit making good a negative balance by policy, and the
statement of each shop's cycle; pre-settlement (预结算) is the same statement drafted in a
savepoint rolled back, so that it is exactly what the cycle would make, and writes nothing.

    opening + goods - commission + refunds + deposit + withdrawals + adjustments = closing

where opening is the last statement's closing and closing the available balance after the
cycle. Each goods entry is one order line (units and figures left after the refunds made
before it settled, which are listed beside it), each refund entry one refunded line: a
statement reconciles line by line with the orders and the refunds. Withdrawals and the
movements other modules make on the available balance (an interest-free fee the merchant
funds, the deposit returned at closing) are taken from the ledger, each transfer once, so
a statement also reconciles with the ledger to the cent; it is refused if it does not.

A cycle is a calendar day in Beijing time: a shop's statement for a day is made once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.columns import utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.settlement import books
from arbiter.platform.settlement.clearing import SETTLE, ClearingInstitution, Instruction
from arbiter.platform.settlement.intake import SettlementRefused, lock_shop, post
from arbiter.platform.settlement.models import (
    ADJUSTMENT,
    DEPOSIT,
    EARLY_REFUND,
    ENTRIES,
    ENTRY_KINDS,
    FROM_DEPOSIT,
    GOODS,
    LINES,
    PENDING,
    REFUND,
    SETTLED,
    STATEMENTS,
    WITHDRAWAL,
)
from arbiter.platform.settlement.rates import shop_terms

ZERO = Decimal(0)
BEIJING = timezone(timedelta(hours=8))
# The ledger kinds on a merchant's available account that settlement states from its own entries.
OWN_KINDS = frozenset({"settlement.due", "settlement.refund.goods", "settlement.refund.subsidy",
                       "settlement.refund.commission", "settlement.deposit"})
WITHDRAWAL_KINDS = frozenset({"settlement.withdrawal", "settlement.withdrawal.refused"})


@dataclass(frozen=True)
class EntryView:
    """One line of a statement. Goods: the line's base, commission and 补差 left when it
    settled, `net` = base - commission. Refund: what the refund took back (base, commission
    given back, 补差), `net` = -(base - commission). Early refund: a refund before the line
    settled, shown beside it (`net` 0). Deposit, withdrawal, adjustment: `net` alone, `note`
    the ledger kind."""

    id: str
    kind: str
    order_id: str | None
    line_id: str | None
    sku: str | None
    units: int
    base: Decimal
    commission: Decimal
    subsidy: Decimal  # of the base, 补差 (platform-funded)
    net: Decimal  # its effect on the available balance
    note: str = ""


@dataclass(frozen=True)
class Statement:
    id: str
    shop: str
    cycle: str
    currency: str
    opening: Money
    goods: Money  # commission base of the lines settled
    commission: Money
    subsidy: Money  # of the goods, 补差
    refunds: Money  # clawed back after settlement (negative)
    deposit: Money  # taken from the deposit
    withdrawals: Money  # asked for less refused (negative)
    adjustments: Money  # other modules' movements of the available balance
    closing: Money
    entries: tuple[EntryView, ...]
    draft: bool = False  # a preview, or a cycle with nothing to state (not stored)

    @property
    def net(self) -> Money:
        """What the cycle settles: goods less commission, refunds clawed back, deposit taken."""
        return self.goods - self.commission + self.refunds + self.deposit

    def entries_of(self, kind: str) -> tuple[EntryView, ...]:
        return tuple(e for e in self.entries if e.kind == kind)


def cycle_of(at: datetime) -> str:
    """The cycle (day, Beijing time) of a moment, e.g. '2026-11-18'."""
    return utc(at).astimezone(BEIJING).date().isoformat()


def _view(row: Any) -> EntryView:
    return EntryView(row.id, row.kind, row.order_id, row.line_id, row.sku, row.units, row.base, row.commission,
                     row.subsidy, row.net, row.note)


def _last(uow: UnitOfWork, shop: str) -> Any:
    return uow.session.execute(select(STATEMENTS).where(STATEMENTS.c.shop == shop)
                               .order_by(STATEMENTS.c.cycle.desc()).limit(1)).first()


def _goods(uow: UnitOfWork, statement_id: str, shop: str, now: datetime) -> None:
    due = uow.session.execute(select(LINES).where(
        LINES.c.shop == shop, LINES.c.status == PENDING, LINES.c.due_at <= utc(now)).order_by(LINES.c.id)).all()
    for row in due:
        base, commission = row.base - row.refunded_base, row.commission - row.refunded_commission
        moved = uow.session.execute(update(LINES).where(LINES.c.id == row.id, LINES.c.status == PENDING,
                                                        LINES.c.refunded_units == row.refunded_units)
                                    .values(status=SETTLED, statement=statement_id))
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"settlement line {row.id} moved meanwhile; settle again", code="settlement.line.moved")
        post(uow, books.due(row.id, row.order_id, shop, base - commission, row.currency), now, f"stl:{row.id}:due")
        uow.session.execute(insert(ENTRIES).values(
            id=f"goods:{row.id}", shop=shop, kind=GOODS, order_id=row.order_id, line_id=row.line_id, sku=row.sku,
            units=row.quantity - row.refunded_units, base=base, commission=commission,
            subsidy=row.subsidy - row.refunded_subsidy, net=base - commission, currency=row.currency,
            statement=statement_id, at=utc(now)))
        uow.session.execute(update(ENTRIES).where(
            ENTRIES.c.kind == EARLY_REFUND, ENTRIES.c.order_id == row.order_id, ENTRIES.c.line_id == row.line_id,
            ENTRIES.c.statement.is_(None)).values(statement=statement_id))


def _from_ledger(uow: UnitOfWork, statement_id: str, shop: str, currency: str, now: datetime) -> None:
    """Withdrawals and other modules' movements of the available balance, each transfer once."""
    code = accounts.merchant_account(shop, accounts.AVAILABLE)
    stated = set(uow.session.execute(select(ENTRIES.c.transfer).where(
        ENTRIES.c.shop == shop, ENTRIES.c.transfer.is_not(None))).scalars())
    for entry in ledger.entries(uow, code):
        if entry.kind in OWN_KINDS or entry.transfer in stated:
            continue
        kind = WITHDRAWAL if entry.kind in WITHDRAWAL_KINDS else ADJUSTMENT
        uow.session.execute(insert(ENTRIES).values(
            id=f"{kind}:{entry.transfer}", shop=shop, kind=kind, order_id=None, line_id=None, sku=None, units=0,
            base=ZERO, commission=ZERO, subsidy=ZERO, net=entry.amount.amount, currency=currency,
            transfer=entry.transfer, note=f"{entry.kind} {entry.ref}".strip()[:200], statement=statement_id,
            at=utc(now)))


def _draw(uow: UnitOfWork, statement_id: str, shop: str, now: datetime) -> Statement:
    """Make the cycle's entries and postings in the caller's transaction (not committed)."""
    terms = shop_terms(uow, shop)
    last = _last(uow, shop)
    cycle = cycle_of(now)
    if last is not None and last.cycle > cycle:
        raise Conflict(f"shop {shop} was settled for {last.cycle} already, after {cycle}",
                       code="settlement.cycle.past")
    _goods(uow, statement_id, shop, now)
    uow.session.execute(update(ENTRIES).where(ENTRIES.c.shop == shop, ENTRIES.c.kind == REFUND,
                                              ENTRIES.c.statement.is_(None)).values(statement=statement_id))
    _from_ledger(uow, statement_id, shop, terms.currency, now)
    available = accounts.merchant_account(shop, accounts.AVAILABLE)
    short = -ledger.balance(uow, available).amount
    if short > 0 and terms.policy == FROM_DEPOSIT:
        taken = min(short, ledger.balance(uow, accounts.merchant_account(shop, accounts.DEPOSIT)).amount)
        if taken > 0:
            post(uow, books.from_deposit(statement_id, shop, taken, terms.currency), now,
                 f"stl:{statement_id}:deposit")
            uow.session.execute(insert(ENTRIES).values(
                id=f"deposit:{statement_id}", shop=shop, kind=DEPOSIT, units=0, base=ZERO, commission=ZERO,
                subsidy=ZERO, net=taken, currency=terms.currency, note="settlement.deposit",
                statement=statement_id, at=utc(now)))
    opening = ZERO if last is None else last.closing
    closing = ledger.balance(uow, available).amount
    made = _assemble(uow, statement_id, shop, cycle, terms.currency, opening, closing, draft=True)
    stated = made.opening + Money(sum((e.net for e in made.entries), ZERO), terms.currency)
    if stated != made.closing:
        raise Conflict(f"statement {statement_id} does not add up: opening {made.opening} and its entries make "
                       f"{stated}, the available balance is {made.closing}; settle again",
                       code="settlement.statement.unbalanced")
    return made


def preview(uow: UnitOfWork, shop: str, at: datetime) -> Statement:
    """Pre-settlement (预结算): the statement a cycle run at `at` would make, deposit taken
    by the policy included (`draft` set); the stored one when that day's cycle has run.
    Writes nothing: it is drawn in a savepoint rolled back."""
    statement_id = f"{shop}:{cycle_of(at)}"
    shop_terms(uow, shop)
    if uow.session.execute(select(STATEMENTS.c.id).where(STATEMENTS.c.id == statement_id)).first() is not None:
        return statement(uow, statement_id)
    savepoint = uow.session.begin_nested()
    try:
        return _draw(uow, statement_id, shop, at)
    finally:
        savepoint.rollback()


def settle(uow: UnitOfWork, shop: str, now: datetime, clearing: ClearingInstitution) -> Statement:
    """Run the shop's cycle for the day of `now`: every line due by then is paid from pending
    into available, the refunds, withdrawals and other movements since the last statement
    are put on this one, the deposit makes good a negative balance when the policy says so,
    and the clearing institution is told the net. Once a day per shop: again the same day
    returns the statement made. A cycle with nothing to state stores nothing (the statement
    returned is a draft). Commits."""
    statement_id = f"{shop}:{cycle_of(now)}"
    shop_terms(uow, shop)
    lock_shop(uow, shop)
    if uow.session.execute(select(STATEMENTS.c.id).where(STATEMENTS.c.id == statement_id)).first() is not None:
        done = statement(uow, statement_id)
        uow.session.rollback()
        return done
    made = _draw(uow, statement_id, shop, now)
    if not made.entries:
        uow.session.rollback()
        return made
    uow.session.execute(insert(STATEMENTS).values(
        id=statement_id, shop=shop, cycle=made.cycle, currency=made.currency, opening=made.opening.amount,
        goods=made.goods.amount, commission=made.commission.amount, subsidy=made.subsidy.amount,
        refunds=made.refunds.amount, deposit=made.deposit.amount, withdrawals=made.withdrawals.amount,
        adjustments=made.adjustments.amount, closing=made.closing.amount, created_at=utc(now)))
    if made.net.amount != 0:
        # Idempotent by the statement's id: a cycle retried after a failed commit is the same instruction.
        told = clearing.instruct(Instruction(f"settle:{statement_id}", SETTLE, shop, made.net))
        if not told.accepted:
            uow.session.rollback()
            raise SettlementRefused(f"the clearing institution refused statement {statement_id}: {told.reason}",
                                    code="settlement.clearing.refused")
    uow.commit()
    return statement(uow, statement_id)


def _assemble(uow: UnitOfWork, statement_id: str, shop: str, cycle: str, currency: str, opening: Decimal,
              closing: Decimal, *, draft: bool) -> Statement:
    order = {kind: i for i, kind in enumerate(ENTRY_KINDS)}
    rows = sorted((_view(r) for r in uow.session.execute(select(ENTRIES).where(ENTRIES.c.statement == statement_id))),
                  key=lambda e: (order[e.kind], e.id))

    def total(kind: str, figure: str = "net") -> Money:
        return Money(sum((getattr(e, figure) for e in rows if e.kind == kind), ZERO), currency)

    return Statement(statement_id, shop, cycle, currency, Money(opening, currency), total(GOODS, "base"),
                     total(GOODS, "commission"), total(GOODS, "subsidy"), total(REFUND), total(DEPOSIT),
                     total(WITHDRAWAL), total(ADJUSTMENT), Money(closing, currency), tuple(rows), draft)


def statement(uow: UnitOfWork, statement_id: str, *, shop: str | None = None) -> Statement:
    """A stored statement; NotFound also when it is not `shop`'s."""
    if not isinstance(statement_id, str):
        raise InvalidInput("statement_id: expected a string such as 'S1:2026-11-18'")
    row = uow.session.execute(select(STATEMENTS).where(STATEMENTS.c.id == statement_id)).first()
    if row is None or (shop is not None and row.shop != shop):
        raise NotFound(f"statement {statement_id!r} does not exist", code="settlement.statement.unknown")
    return _assemble(uow, row.id, row.shop, row.cycle, row.currency, row.opening, row.closing, draft=False)


def statements(uow: UnitOfWork, shop: str) -> list[Statement]:
    """The shop's statements, oldest first."""
    ids = uow.session.execute(select(STATEMENTS.c.id).where(STATEMENTS.c.shop == shop)
                              .order_by(STATEMENTS.c.cycle)).scalars()
    return [statement(uow, i) for i in ids]
