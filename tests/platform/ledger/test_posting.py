"""Posting to the ledger, to the cent, on SQLite and PostgreSQL: a marketplace order from
payment to payout, entries and refs, floors that refuse a whole batch, the caller's
transaction surviving a refusal, and balances that may go negative where no floor is set."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.engine import Engine

from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import service as ledger
from arbiter.platform.ledger.accounts import CLEARING, COMMISSION_REVENUE, USER_FUNDS_IN_TRANSIT

from .support import AT, AVAILABLE, CHART, DEPOSIT, PENDING, WITHDRAWN, balances, cny, open_chart, t


def order_to_payout(uow: UnitOfWork) -> None:
    """User pays 199.00; settled with 6% commission (11.94); made available; 100.00 withdrawn
    and paid out."""
    assert ledger.post(uow, [t("pay-O1", CLEARING, USER_FUNDS_IN_TRANSIT, "199.00", "payment.capture", "O1")], AT).ok
    settle = [t("settle-O1", USER_FUNDS_IN_TRANSIT, PENDING, "199.00", "settlement.goods", "O1"),
              t("commission-O1", PENDING, COMMISSION_REVENUE, "11.94", "settlement.commission", "O1")]
    assert ledger.post(uow, settle, AT, batch="cycle-2026-11-11") == ledger.Posting(
        True, None, False, ("settle-O1", "commission-O1"))
    assert ledger.post(uow, [t("release-O1", PENDING, AVAILABLE, "187.06", "settlement.release", "O1")], AT).ok
    assert ledger.post(uow, [t("withdraw-W1", AVAILABLE, WITHDRAWN, "100.00", "merchant.withdraw", "W1")], AT).ok
    assert ledger.post(uow, [t("payout-W1", WITHDRAWN, CLEARING, "100.00", "merchant.payout", "W1")], AT).ok


def test_a_marketplace_order_to_the_cent(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        open_chart(uow)
        order_to_payout(uow)
        uow.commit()
    with UnitOfWork(db) as uow:
        assert balances(uow, CLEARING, USER_FUNDS_IN_TRANSIT, COMMISSION_REVENUE, PENDING, AVAILABLE, WITHDRAWN) == [
            "99.00", "0.00", "11.94", "0.00", "87.06", "0.00"]
        pending = ledger.account(uow, PENDING)
        assert pending is not None
        assert (pending.debits_posted, pending.credits_posted) == (cny("199.00"), cny("199.00"))
        trial = ledger.trial_balance(uow)
        assert trial == ledger.TrialBalance({"CNY": cny("797.00")}, {"CNY": cny("797.00")}, True, ())


def test_entries_are_signed_for_the_account_in_posting_order(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        open_chart(uow)
        order_to_payout(uow)
        pending = ledger.entries(uow, PENDING)
        assert [(e.transfer, e.side, str(e.amount.amount), e.other) for e in pending] == [
            ("settle-O1", "credit", "199.00", USER_FUNDS_IN_TRANSIT),
            ("commission-O1", "debit", "-11.94", COMMISSION_REVENUE),
            ("release-O1", "debit", "-187.06", AVAILABLE)]
        assert pending[0].batch == "cycle-2026-11-11" and pending[2].batch is None
        assert pending[0].posted_at == AT and pending[0].kind == "settlement.goods" and pending[0].ref == "O1"
        clearing = ledger.entries(uow, CLEARING)
        assert [str(e.amount.amount) for e in clearing] == ["199.00", "-100.00"]
        for code in CHART:
            total = sum((e.amount for e in ledger.entries(uow, code)), Money.zero())
            assert total == ledger.balance(uow, code)
        assert [x.id for x in ledger.transfers_for(uow, "O1")] == [
            "pay-O1", "settle-O1", "commission-O1", "release-O1"]
        assert ledger.transfers_for(uow, "W1")[0] == t(
            "withdraw-W1", AVAILABLE, WITHDRAWN, "100.00", "merchant.withdraw", "W1")
        posted = ledger.transfer(uow, "settle-O1")
        assert posted is not None and (posted.batch, posted.reverses, posted.posted_at) == ("cycle-2026-11-11", None, AT)
        assert ledger.transfer(uow, "nothing") is None


def test_a_floor_refuses_the_whole_batch_and_changes_nothing(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        open_chart(uow)
        assert ledger.post(uow, [t("deposit-S1", CLEARING, DEPOSIT, "500.00", "merchant.deposit")], AT).ok
        uow.commit()
    with UnitOfWork(db) as uow:
        batch = [t("use-1", DEPOSIT, AVAILABLE, "300.00"), t("use-2", DEPOSIT, AVAILABLE, "250.00"),
                 t("use-3", AVAILABLE, COMMISSION_REVENUE, "10.00")]
        refused = ledger.post(uow, batch, AT, batch="b1")
        assert refused == ledger.Posting(
            False, "merchant:S1:deposit would go to -50.00 CNY: its balance may not go below zero", False,
            ("use-1", "use-2", "use-3"), account=DEPOSIT)
        assert balances(uow, DEPOSIT, AVAILABLE, COMMISSION_REVENUE, CLEARING) == ["500.00", "0.00", "0.00", "500.00"]
        assert [ledger.transfer(uow, i) for i in ("use-1", "use-2", "use-3")] == [None, None, None]
        assert len(ledger.entries(uow, DEPOSIT)) == 1
        assert ledger.trial_balance(uow).debits == {"CNY": cny("500.00")}
        # Nothing was recorded, so the same ids may be posted later within the floor.
        assert ledger.post(uow, [t("use-1", DEPOSIT, AVAILABLE, "300.00"), t("use-2", DEPOSIT, AVAILABLE, "200.00")],
                           AT).ok
        assert balances(uow, DEPOSIT, AVAILABLE) == ["0.00", "500.00"]
        refused = ledger.post(uow, [t("use-4", DEPOSIT, AVAILABLE, "0.01")], AT)
        assert refused.reason == "merchant:S1:deposit would go to -0.01 CNY: its balance may not go below zero"


def test_a_refusal_keeps_the_callers_transaction(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        open_chart(uow)
        assert ledger.post(uow, [t("fund", CLEARING, DEPOSIT, "20.00")], AT).ok
        assert not ledger.post(uow, [t("too-much", DEPOSIT, AVAILABLE, "20.01")], AT).ok
        assert ledger.post(uow, [t("fine", DEPOSIT, AVAILABLE, "20.00")], AT).ok
        uow.commit()
    with UnitOfWork(db) as uow:
        assert balances(uow, CLEARING, DEPOSIT, AVAILABLE) == ["20.00", "0.00", "20.00"]
        assert ledger.transfer(uow, "too-much") is None
        assert ledger.trial_balance(uow).balanced


def test_floors_judge_the_batch_net_and_unfloored_accounts_go_negative(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        open_chart(uow)
        # The deposit is credited and debited in one atomic batch: it never shows below zero.
        through = [t("in", CLEARING, DEPOSIT, "80.00"), t("out", DEPOSIT, AVAILABLE, "80.00")]
        assert ledger.post(uow, through, AT).ok
        # A merchant's available balance may go negative by policy (a refund clawed back).
        assert ledger.post(uow, [t("claw-back", AVAILABLE, CLEARING, "130.50", "settlement.refund")], AT).ok
        assert balances(uow, DEPOSIT, AVAILABLE, CLEARING) == ["0.00", "-50.50", "-50.50"]
        trial = ledger.trial_balance(uow)
        assert (trial.debits["CNY"], trial.balanced) == (cny("290.50"), True)


def test_currencies_are_balanced_apart(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        for code, normal in (("usd:cash", "debit"), ("usd:owed", "credit"), ("cny:cash", "debit"),
                             ("cny:owed", "credit")):
            ledger.open_account(uow, code, normal=normal, currency=code[:3].upper(), now=AT)
        assert ledger.post(uow, [ledger.Transfer("u1", "usd:cash", "usd:owed", Money.of("12.34", "USD"), "test.fx"),
                                 t("c1", "cny:cash", "cny:owed", "88.00")], AT).ok
        trial = ledger.trial_balance(uow)
        assert trial.debits == {"CNY": cny("88.00"), "USD": Money.of("12.34", "USD")}
        assert trial.credits == trial.debits and trial.balanced
        assert ledger.balance(uow, "usd:owed") == Money.of("12.34", "USD")


def test_the_trial_balance_finds_an_account_that_disagrees_with_its_transfers(db: Engine) -> None:
    from sqlalchemy import update

    from arbiter.platform.ledger.models import ACCOUNTS

    with UnitOfWork(db) as uow:
        open_chart(uow)
        order_to_payout(uow)
        uow.session.execute(update(ACCOUNTS).where(ACCOUNTS.c.code == AVAILABLE)
                            .values(credits_posted=Decimal("187.07")))
        trial = ledger.trial_balance(uow)
        assert (trial.balanced, trial.mismatched) == (False, (AVAILABLE,))
        assert (trial.debits["CNY"], trial.credits["CNY"]) == (cny("797.00"), cny("797.01"))
