"""Cycles and statements: a refund after settlement netted by the next cycle or taken from the
deposit, pre-settlement equal to the cycle it previews, withdrawals and other modules'
movements of the available balance on the statement, commission by category, override and
default, merchant- and channel-funded discounts, and commission given back pro rata."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from arbiter.errors import Conflict
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.settlement import service as settlement
from arbiter.platform.settlement.service import RefundedLine
from tests.platform.settlement.support import DAY, NOW, allocation, deposit, line, paid, shop

D = Decimal


def m(amount: str) -> Money:
    return Money.of(amount)


def sold_and_settled(uow: UnitOfWork, policy: str, clearing: settlement.SimulatedClearing) -> None:
    """S1 sells A for 100.00 at 5%, settles 95.00 and withdraws it; then A is refunded."""
    shop(uow, cycle_days=0, policy=policy)
    deposit(uow, "S1", "500.00")
    settlement.set_rate(uow, category="tops", rate=D("0.05"), now=NOW)
    paid(uow, "O1", line("A", "100.00"))
    settlement.record_completed(uow, "O1", NOW)
    uow.commit()
    assert settlement.settle(uow, "S1", NOW, clearing).closing == m("95.00")
    assert settlement.withdraw(uow, "S1", m("95.00"), key="w1", clearing=clearing, now=NOW).ok
    settlement.record_refund(uow, "R1", "O1", [RefundedLine("A", 1, D("100.00"))], NOW + DAY)
    uow.commit()
    assert settlement.balances(uow, "S1").available == m("-95.00")  # clawed back below zero


def test_a_claw_back_is_taken_from_the_deposit_by_policy(db: Engine) -> None:
    clearing = settlement.SimulatedClearing()
    with UnitOfWork(db) as uow:
        sold_and_settled(uow, settlement.FROM_DEPOSIT, clearing)
        coming = settlement.preview(uow, "S1", NOW + DAY)
        done = settlement.settle(uow, "S1", NOW + DAY, clearing)
        assert coming == replace(done, draft=True)  # pre-settlement is the statement the cycle makes
        assert (done.opening, done.withdrawals, done.refunds, done.deposit, done.closing) == (
            m("95.00"), m("-95.00"), m("-95.00"), m("95.00"), m("0.00"))
        assert [(e.kind, e.net) for e in done.entries] == [
            ("refund", D("-95.00")), ("deposit", D("95.00")), ("withdrawal", D("-95.00"))]
        assert settlement.balances(uow, "S1") == settlement.Balances(m("0.00"), m("0.00"), m("405.00"), m("0.00"))
        assert done.net == m("0.00") and "settle:S1:2026-11-12" not in clearing.instructions
        assert ledger.trial_balance(uow).balanced


def test_a_claw_back_is_netted_by_the_next_cycle_by_default(db: Engine) -> None:
    clearing = settlement.SimulatedClearing()
    with UnitOfWork(db) as uow:
        sold_and_settled(uow, settlement.NET_NEXT_CYCLE, clearing)
        owed = settlement.settle(uow, "S1", NOW + DAY, clearing)
        assert (owed.refunds, owed.deposit, owed.closing) == (m("-95.00"), m("0.00"), m("-95.00"))
        refused = settlement.withdraw(uow, "S1", m("1.00"), key="w2", clearing=clearing, now=NOW + DAY)
        assert not refused.ok and refused.status is None and "more than the available balance" in str(refused.reason)
        paid(uow, "O2", line("B", "300.00"))
        settlement.record_completed(uow, "O2", NOW + DAY)
        uow.commit()
        netted = settlement.settle(uow, "S1", NOW + 2 * DAY, clearing)
        assert (netted.opening, netted.goods, netted.commission, netted.net, netted.closing) == (
            m("-95.00"), m("300.00"), m("15.00"), m("285.00"), m("190.00"))
        assert settlement.balances(uow, "S1").deposit == m("500.00")  # untouched
        assert [s.closing for s in settlement.statements(uow, "S1")] == [m("95.00"), m("-95.00"), m("190.00")]


def test_withdrawals_are_idempotent_and_come_from_available_only(db: Engine) -> None:
    clearing = settlement.SimulatedClearing()
    with UnitOfWork(db) as uow:
        shop(uow, cycle_days=0)
        settlement.set_rate(uow, category="tops", rate=D("0.05"), now=NOW)
        paid(uow, "O1", line("A", "100.00"))
        settlement.record_completed(uow, "O1", NOW)
        uow.commit()
        settlement.settle(uow, "S1", NOW, clearing)
        over = settlement.withdraw(uow, "S1", m("95.01"), key="w1", clearing=clearing, now=NOW)
        assert (over.ok, over.status) == (False, None)
        first = settlement.withdraw(uow, "S1", m("50.00"), key="w1", clearing=clearing, now=NOW)  # the key is free
        again = settlement.withdraw(uow, "S1", m("50.00"), key="w1", clearing=clearing, now=NOW)
        assert first.ok and again.ok and again.replayed and again.reference == first.reference
        with pytest.raises(Conflict):
            settlement.withdraw(uow, "S1", m("60.00"), key="w1", clearing=clearing, now=NOW)
        clearing.refuse.add("S1")
        refused = settlement.withdraw(uow, "S1", m("40.00"), key="w2", clearing=clearing, now=NOW)
        assert (refused.ok, refused.status) == (False, "refused")
        assert settlement.balances(uow, "S1") == settlement.Balances(m("0.00"), m("45.00"), m("0.00"), m("0.00"))
        assert settlement.paid_out(uow, "S1") == m("50.00") == clearing.paid_out("S1")
        assert [w.status for w in settlement.withdrawals(uow, "S1")] == ["paid", "refused"]
        later = settlement.settle(uow, "S1", NOW + DAY, clearing)
        assert sorted((e.kind, e.net) for e in later.entries) == [
            ("withdrawal", D("-50.00")), ("withdrawal", D("-40.00")), ("withdrawal", D("40.00"))]
        assert (later.opening, later.withdrawals, later.closing) == (m("95.00"), m("-50.00"), m("45.00"))


def test_other_modules_movements_of_available_are_stated_once(db: Engine) -> None:
    clearing = settlement.SimulatedClearing()
    with UnitOfWork(db) as uow:
        shop(uow, cycle_days=0)
        deposit(uow, "S1", "200.00")
        returned = ledger.Transfer("deposit:S1:returned", accounts.merchant_account("S1", accounts.DEPOSIT),
                                   accounts.merchant_account("S1", accounts.AVAILABLE), m("200.00"),
                                   "merchant.deposit.returned", "M1")
        assert ledger.post(uow, [returned], NOW).ok
        uow.commit()
        made = settlement.settle(uow, "S1", NOW, clearing)
        [entry] = made.entries
        assert (entry.kind, entry.net, entry.note, made.adjustments, made.net, made.closing) == (
            "adjustment", D("200.00"), "merchant.deposit.returned M1", m("200.00"), m("0.00"), m("200.00"))
        assert "settle:S1:2026-11-11" not in clearing.instructions  # nothing of settlement's own to pay
        nothing = settlement.settle(uow, "S1", NOW + DAY, clearing)
        assert nothing.draft and nothing.entries == () and len(settlement.statements(uow, "S1")) == 1


def test_commission_by_override_category_and_default_on_the_base(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        shop(uow, cycle_days=0)
        settlement.set_rate(uow, category="*", rate=D("0.02"), now=NOW)
        settlement.set_rate(uow, category="tops", rate=D("0.05"), now=NOW)
        settlement.set_rate(uow, sku="SKU-X", rate=D("0.10"), now=NOW)
        paid(uow, "O1",
             line("X", "100.00"),  # the SKU's override
             line("Y", "90.00", allocation("shop_cut", merchant="10.00")),  # the merchant's own discount
             line("Z", "90.00", allocation("card_cut", channel="10.00"), category="shoes"),  # the default
             line("W", "80.00", allocation("coupon", platform="12.00", merchant="8.00")))
        settlement.set_rate(uow, category="tops", rate=D("0.20"), now=NOW)  # later: the lines keep theirs
        uow.commit()
        figures = [(x.line_id, x.rate, x.base, x.commission) for x in settlement.lines_of(uow, order_id="O1")]
        assert figures == [("W", D("0.05"), D("92.00"), D("4.60")), ("X", D("0.10"), D("100.00"), D("10.00")),
                           ("Y", D("0.05"), D("90.00"), D("4.50")), ("Z", D("0.02"), D("100.00"), D("2.00"))]
        assert ledger.balance(uow, accounts.CLEARING) == m("370.00")  # 360.00 paid + 10.00 from the channel
        settlement.record_completed(uow, "O1", NOW)
        uow.commit()
        made = settlement.settle(uow, "S1", NOW, settlement.SimulatedClearing())
        assert (made.goods, made.commission, made.subsidy, made.net) == (
            m("382.00"), m("21.10"), m("12.00"), m("360.90"))


def test_commission_comes_back_pro_rata_and_whole_with_the_last_unit(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        shop(uow, cycle_days=0)
        settlement.set_rate(uow, category="tops", rate=D("0.08"), now=NOW)
        paid(uow, "O1", line("A", "100.00", quantity=3))
        settlement.record_completed(uow, "O1", NOW)
        uow.commit()
        settlement.settle(uow, "S1", NOW, settlement.SimulatedClearing())
        for key, amount in (("R1", "33.33"), ("R2", "33.33"), ("R3", "33.34")):
            settlement.record_refund(uow, key, "O1", [RefundedLine("A", 1, D(amount))], NOW + DAY)
        uow.commit()
        later = settlement.settle(uow, "S1", NOW + DAY, settlement.SimulatedClearing())
        assert [(e.base, e.commission, e.net) for e in later.entries] == [
            (D("33.33"), D("2.67"), D("-30.66")), (D("33.33"), D("2.66"), D("-30.67")),
            (D("33.34"), D("2.67"), D("-30.67"))]
        assert later.closing == m("0.00") and ledger.balance(uow, accounts.COMMISSION_REVENUE) == m("0.00")


def test_a_cycle_runs_once_a_day_and_never_for_a_day_gone_by(db: Engine) -> None:
    clearing = settlement.SimulatedClearing()
    with UnitOfWork(db) as uow:
        shop(uow, cycle_days=0)
        paid(uow, "O1", line("A", "100.00"))
        settlement.record_completed(uow, "O1", NOW)
        uow.commit()
        made = settlement.settle(uow, "S1", NOW + 2 * DAY, clearing)
        assert settlement.settle(uow, "S1", NOW + 2 * DAY, clearing) == made
        assert settlement.preview(uow, "S1", NOW + 2 * DAY) == made  # the cycle ran: its statement
        assert made.commission == m("0.00")  # no rate set anywhere: nothing taken
        with pytest.raises(Conflict) as raised:
            settlement.settle(uow, "S1", NOW + DAY, clearing)
        assert raised.value.code == "settlement.cycle.past"
        assert len(clearing.instructions) == 1
