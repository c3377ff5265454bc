"""The issue's worked example, to the cent: two lines of one order, a platform-funded coupon,
settlement with commission and 补差, then line B refunded after settlement."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.engine import Engine

from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.settlement import service as settlement
from arbiter.platform.settlement.service import PaidLine, PaidOrder, RefundedLine
from tests.platform.settlement.support import DAY, NOW, allocation, refund_promotions, shop


def m(amount: str) -> Money:
    return Money.of(amount)


def d(amount: str) -> Decimal:
    return Decimal(amount)


COUPON_A = allocation("platform_coupon", platform="13.36")
COUPON_B = allocation("platform_coupon", platform="6.64")


def order(uow: UnitOfWork) -> None:
    settlement.set_rate(uow, category="tops", rate=d("0.05"), now=NOW)
    settlement.set_rate(uow, category="trousers", rate=d("0.08"), now=NOW)
    settlement.record_paid(uow, PaidOrder("O1", "S1", "CNY", (
        PaidLine("A", "SKU-A", "tops", 1, d("185.64"), (COUPON_A,)),
        PaidLine("B", "SKU-B", "trousers", 1, d("92.36"), (COUPON_B,)),
    )), NOW)
    uow.commit()


def test_the_worked_example_to_the_cent(db: Engine) -> None:
    clearing = settlement.SimulatedClearing()
    with UnitOfWork(db) as uow:
        shop(uow, cycle_days=7)
        order(uow)
        assert ledger.balance(uow, accounts.CLEARING) == m("278.00")  # the user paid 278.00
        [a, b] = settlement.lines_of(uow, order_id="O1")
        assert (a.base, a.commission, b.base, b.commission) == (d("199.00"), d("9.95"), d("99.00"), d("7.92"))

        settlement.record_completed(uow, "O1", NOW + DAY)
        uow.commit()
        assert settlement.balances(uow, "S1").pending == m("280.13")
        early = settlement.preview(uow, "S1", NOW + 7 * DAY)  # not due yet: T+7 after completion
        assert early.entries == () and early.net == m("0.00")
        coming = settlement.preview(uow, "S1", NOW + 8 * DAY)
        assert (coming.goods, coming.commission, coming.subsidy, coming.net) == (
            m("298.00"), m("17.87"), m("20.00"), m("280.13"))
        assert settlement.balances(uow, "S1").available == m("0.00")  # a preview writes nothing

        first = settlement.settle(uow, "S1", NOW + 8 * DAY, clearing)
        assert (first.goods, first.commission, first.subsidy, first.net, first.closing) == (
            m("298.00"), m("17.87"), m("20.00"), m("280.13"), m("280.13"))
        assert [(e.line_id, e.net) for e in first.entries] == [("A", d("189.05")), ("B", d("91.08"))]
        assert settlement.balances(uow, "S1") == settlement.Balances(m("0.00"), m("280.13"), m("0.00"), m("0.00"))
        assert settlement.settle(uow, "S1", NOW + 8 * DAY, clearing) == first  # once a day

        settlement.record_refund(uow, "R1", "O1", [RefundedLine("B", 1, d("92.36"), refund_promotions(COUPON_B))],
                                 NOW + 9 * DAY)
        uow.commit()
        assert ledger.balance(uow, accounts.CLEARING) == m("185.64")  # the user got 92.36 back
        assert settlement.balances(uow, "S1").available == m("189.05")  # the merchant gave back 91.08
        nxt = settlement.settle(uow, "S1", NOW + 15 * DAY, clearing)
        assert (nxt.opening, nxt.refunds, nxt.net, nxt.closing) == (m("280.13"), m("-91.08"), m("-91.08"), m("189.05"))
        [back] = nxt.entries
        assert (back.kind, back.line_id, back.base, back.commission, back.subsidy) == (
            "refund", "B", d("99.00"), d("7.92"), d("6.64"))

        commission = ledger.balance(uow, accounts.COMMISSION_REVENUE)
        subsidy = ledger.balance(uow, accounts.SUBSIDY_EXPENSE)
        assert (commission, subsidy, commission - subsidy) == (m("9.95"), m("13.36"), m("-3.41"))
        assert ledger.trial_balance(uow).balanced


def test_a_refund_replayed_changes_nothing(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        shop(uow, cycle_days=0)
        order(uow)
        settlement.record_completed(uow, "O1", NOW)
        refund = [RefundedLine("B", 1, d("92.36"), refund_promotions(COUPON_B))]
        assert settlement.record_refund(uow, "R1", "O1", refund, NOW) == 1
        assert settlement.record_refund(uow, "R1", "O1", refund, NOW) == 0
        uow.commit()
        assert settlement.balances(uow, "S1").pending == m("189.05")  # refunded before its cycle
        done = settlement.settle(uow, "S1", NOW, settlement.SimulatedClearing())
        assert [(e.kind, e.line_id, e.units, e.base, e.net) for e in done.entries] == [
            ("goods", "A", 1, d("199.00"), d("189.05")), ("goods", "B", 0, d("0.00"), d("0.00")),
            ("early_refund", "B", 1, d("99.00"), d("0.00"))]  # the refund shown beside the line it emptied
        assert done.closing == m("189.05")
