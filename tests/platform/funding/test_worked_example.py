"""The credit flow's worked example, to the cent: a 5000.00 line, a 3000.00 purchase in 3 at
2.3%, financed by a funder, the first bill repaid, then the order refunded."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.engine import Engine as Database

from arbiter.platform.credit import lines
from arbiter.platform.db import UnitOfWork
from arbiter.platform.funding import bills, funders
from arbiter.platform.ledger import accounts
from tests.platform.credit.support import T0, with_line

from .support import balance, books_balance, cny, define, finance, pay, refund, repay


def available(db: Database, user: str) -> str:
    with UnitOfWork(db) as uow:
        return str(lines.usable_available(uow, user, T0).amount)


def test_line_purchase_repayment_refund_and_repurchase(db: Database) -> None:
    define(db)
    with_line(db, "u1", "5000.00", "B")
    paid = pay(db, "u1", "o1", "3000.00", 3)
    assert paid.schedule is not None and paid.schedule.fee == cny("69.00")
    assert available(db, "u1") == "2000.00"

    financed = finance(db, "o1")
    assert (financed.outcome, financed.funder, financed.action) == ("financed", "trust_a", "ship")
    assert financed.eligible == ("trust_a", "bank_b", "factor_c", "self_held")
    assert finance(db, "o1").replayed
    with UnitOfWork(db) as uow:
        issued = bills.bills_of(uow, "o1")
        assert [(b.due_on, str(b.principal.amount), str(b.fee.amount), str(b.total.amount)) for b in issued] == [
            (date(2026, 4, 10), "1000.00", "23.00", "1023.00"),
            (date(2026, 5, 10), "1000.00", "23.00", "1023.00"),
            (date(2026, 6, 10), "1000.00", "23.00", "1023.00"),
        ]
        assert funders.funder(uow, "trust_a").outstanding == cny("3000.00")
    assert balance(db, accounts.credit_receivable("u1")) == cny("3069.00")
    assert balance(db, accounts.funder_capital("trust_a")) == cny("3000.00")

    first = repay(db, "o1", "1023.00", "repay-1", at=T0 + timedelta(days=30))
    assert (first.principal, first.fee, first.penalty) == (cny("1000.00"), cny("23.00"), cny("0"))
    assert available(db, "u1") == "3000.00"
    with UnitOfWork(db) as uow:
        assert [b.status(T0) for b in bills.bills_of(uow, "o1")] == ["paid", "open", "open"]

    refunded = refund(db, "o1", at=T0 + timedelta(days=40))
    assert (refunded.closed_bills, refunded.overpayment, refunded.repurchase, refunded.funder) == (
        (2, 3), cny("1023.00"), cny("2000.00"), "trust_a")
    assert refund(db, "o1").replayed
    assert available(db, "u1") == "5000.00"
    with UnitOfWork(db) as uow:
        assert [b.status(T0) for b in bills.bills_of(uow, "o1")] == ["paid", "closed", "closed"]
        assert funders.funder(uow, "trust_a").outstanding == cny("0")
    # the funder got 1000.00 back with the repayment and 2000.00 by repurchase; everything nets out
    for code in (accounts.credit_receivable("u1"), accounts.user_overpayment("u1"), accounts.funder_capital("trust_a"),
                 accounts.FEE_REVENUE, accounts.USER_FUNDS_IN_TRANSIT, accounts.CLEARING):
        assert balance(db, code) == cny("0"), code
    assert books_balance(db)
