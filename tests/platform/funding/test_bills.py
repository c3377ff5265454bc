"""Bills after financing: partial and full repayments, early payoff with the fee rule, the
overdue penalty, and overdue assets through collections, packaging and sale."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine as Database

from arbiter.platform.credit import lines, quotes
from arbiter.platform.db import UnitOfWork
from arbiter.platform.funding import bills, disposal, funders, repayment, routing
from arbiter.platform.ledger import accounts
from tests.platform.credit.support import engine, with_line

from .support import balance, books_balance, cny, define, finance, pay, refund, repay


def beijing(day: str) -> datetime:
    """10:00 in Beijing on `day`."""
    return datetime.fromisoformat(f"{day}T02:00:00").replace(tzinfo=UTC)


def financed(db: Database, user: str = "u1", order: str = "o1") -> None:
    define(db)
    with_line(db, user, "5000.00", "B")
    pay(db, user, order, "3000.00", 3)  # 2026-03-10: bills due 04-10, 05-10, 06-10 at 1023.00
    assert finance(db, order).funder == "trust_a"


def owed_bills(db: Database, at: datetime) -> list[tuple[str, str, str, str]]:
    with UnitOfWork(db) as uow:
        return [(b.status(at), str(b.principal_due.amount), str(b.fee_due.amount), str(b.penalty_due.amount))
                for b in bills.bills_of(uow, "o1")]


def test_partial_repayments_go_to_penalty_fee_then_principal(db: Database) -> None:
    financed(db)
    late = beijing("2026-04-15")  # bill 1 is 5 days overdue: 1000.00 x 0.05% x 5 = 2.50
    with UnitOfWork(db) as uow:
        assert bills.assess_overdue(uow, now=late) == cny("2.50")
        assert bills.assess_overdue(uow, now=late) == cny("0")  # once a day
        uow.commit()
        facts = quotes.credit_facts(uow, "u1")
        assert facts["overdue_days"] == 5
        offer = quotes.installment_quote(uow, engine(late), user_id="u1", amount=cny("500.00"), now=late)
        assert offer.reason == "credit_line_not_usable"  # overdue: no new installments
    part = repay(db, "o1", "500.00", "r1", at=late)
    assert (part.penalty, part.fee, part.principal) == (cny("2.50"), cny("23.00"), cny("474.50"))
    assert owed_bills(db, late)[0] == ("overdue", "525.50", "0.00", "0.00")
    nextday = beijing("2026-04-16")  # one more day on the 525.50 left: 0.26
    rest = repay(db, "o1", "525.76", "r2", at=nextday)
    assert (rest.penalty, rest.principal) == (cny("0.26"), cny("525.50"))
    assert owed_bills(db, nextday)[0] == ("paid", "0.00", "0.00", "0.00")
    with UnitOfWork(db) as uow:
        assert lines.usable_available(uow, "u1", nextday) == cny("3000.00")
        assert quotes.credit_facts(uow, "u1")["overdue_days"] == 0
    assert repay(db, "o1", "525.76", "r2", at=nextday).replayed
    too_much = repay(db, "o1", "2046.01", "r3", at=nextday)
    assert (too_much.reason, too_much.expected) == (repayment.MORE_THAN_OWED, cny("2046.00"))
    assert balance(db, accounts.FEE_REVENUE) == cny("71.76")  # 69.00 of fees + 2.76 of penalties
    assert books_balance(db)


def test_early_payoff_pays_this_periods_fee_and_waives_the_later_ones(db: Database) -> None:
    financed(db)
    early = beijing("2026-03-15")
    with UnitOfWork(db) as uow:
        assert repayment.payoff_quote(uow, "o1", now=early) == cny("3023.00")
    wrong = repay(db, "o1", "3069.00", "p0", at=early, payoff=True)
    assert (wrong.reason, wrong.expected) == (repayment.PAYOFF_MISMATCH, cny("3023.00"))
    paid = repay(db, "o1", "3023.00", "p1", at=early, payoff=True)
    assert (paid.principal, paid.fee, paid.waived) == (cny("3000.00"), cny("23.00"), cny("46.00"))
    assert [s for s, *_ in owed_bills(db, early)] == ["paid", "paid", "paid"]
    with UnitOfWork(db) as uow:
        held = routing.asset_of(uow, "o1")
        assert held is not None and held.status == "repaid"
        assert lines.usable_available(uow, "u1", early) == cny("5000.00")
        assert funders.funder(uow, "trust_a").outstanding == cny("0")
    assert balance(db, accounts.FEE_REVENUE) == cny("23.00")
    # the trust's 3000.00 waits at the clearing account for the merchant, with the 23.00 of fee
    assert balance(db, accounts.CLEARING) == cny("3023.00")
    assert balance(db, accounts.USER_FUNDS_IN_TRANSIT) == cny("3000.00")
    assert repay(db, "o1", "1.00", "p2", at=early).reason == "asset_repaid"
    assert books_balance(db)


def test_overdue_assets_are_repurchased_packaged_and_sold(db: Database) -> None:
    financed(db)
    late = beijing("2026-05-20")  # bill 1 is 40 days overdue (20.00 of penalty), bill 2 10 days (5.00)
    with UnitOfWork(db) as uow:
        assert disposal.send_to_collections(uow, now=late, after_days=30) == ["o1"]
    with UnitOfWork(db) as uow:
        assert disposal.send_to_collections(uow, now=late, after_days=30) == []
        held = routing.asset_of(uow, "o1")
        assert held is not None and (held.status, held.funder, held.repurchase_price) == (
            "collections", "self_held", cny("3000.00"))
        assert {f.code: f.outstanding for f in funders.funders(uow)}["trust_a"] == cny("0")
    assert refund(db, "o1", at=late).reason == "asset_collections"  # after-sales must wait for collections
    with UnitOfWork(db) as uow:
        package = disposal.package_assets(uow, package_id="pk-1", order_ids=["o1"], now=late)
    assert (package.face_value, package.orders) == (cny("3094.00"), ("o1",))
    with UnitOfWork(db) as uow:
        sold = disposal.sell_package(uow, package_id="pk-1", buyer="acme-collections", proceeds=cny("1000.00"),
                                     now=late)
        assert sold.status == "sold" and sold.proceeds == cny("1000.00")
        assert disposal.sell_package(uow, package_id="pk-1", buyer="acme-collections", proceeds=cny("1000.00"),
                                     now=late) == sold
        assert lines.line(uow, "u1").used == cny("3000.00")  # type: ignore[union-attr]  # the debt was sold, not repaid
    assert [s for s, *_ in owed_bills(db, late)] == ["closed", "closed", "closed"]
    assert balance(db, "platform:credit_losses") == cny("2000.00")
    assert balance(db, accounts.SELF_HELD_FUNDS) == cny("0")
    assert balance(db, accounts.credit_receivable("u1")) == cny("0")
    assert balance(db, accounts.FEE_REVENUE) == cny("0")  # fees and penalties never collected are written off
    assert books_balance(db)
