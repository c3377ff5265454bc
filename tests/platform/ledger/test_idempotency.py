"""Idempotent ids on SQLite and PostgreSQL: a replay moves nothing, the same id with other
fields is a conflict, a batch is posted whole or replayed whole, and reversals post the
opposite transfer exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import service as ledger
from arbiter.platform.ledger.accounts import CLEARING, COMMISSION_REVENUE

from .support import AT, AVAILABLE, DEPOSIT, PENDING, balances, cny, open_chart, t

SETTLE = [t("settle-O1", CLEARING, PENDING, "199.00", "settlement.goods", "O1"),
          t("commission-O1", PENDING, COMMISSION_REVENUE, "11.94", "settlement.commission", "O1")]


def test_a_replay_moves_nothing(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        open_chart(uow)
        assert ledger.post(uow, SETTLE, AT, batch="cycle-1").replayed is False
        uow.commit()
    for later in (AT, AT + timedelta(days=3)):  # the time of a retry is not a field
        with UnitOfWork(db) as uow:
            again = ledger.post(uow, SETTLE, later, batch="cycle-1")
            assert again == ledger.Posting(True, None, True, ("settle-O1", "commission-O1"))
            uow.commit()
    with UnitOfWork(db) as uow:
        assert balances(uow, CLEARING, PENDING, COMMISSION_REVENUE) == ["199.00", "187.06", "11.94"]
        assert len(ledger.entries(uow, PENDING)) == 2
        assert ledger.trial_balance(uow).debits == {"CNY": cny("210.94")}
        posted = ledger.transfer(uow, "settle-O1")
        assert posted is not None and posted.posted_at == AT


@pytest.mark.parametrize(("changed", "says"), [
    (t("settle-O1", CLEARING, PENDING, "199.01", "settlement.goods", "O1"), "amount was 199.00 CNY, now 199.01 CNY"),
    (t("settle-O1", CLEARING, AVAILABLE, "199.00", "settlement.goods", "O1"),
     "credit was merchant:S1:pending, now merchant:S1:available"),
    (t("settle-O1", CLEARING, PENDING, "199.00", "settlement.refund", "O1"), "kind was settlement.goods"),
    (t("settle-O1", CLEARING, PENDING, "199.00", "settlement.goods", "O2"), "ref was O1, now O2"),
])
def test_the_same_id_with_other_fields_is_a_conflict(db: Engine, changed: ledger.Transfer, says: str) -> None:
    with UnitOfWork(db) as uow:
        open_chart(uow)
        assert ledger.post(uow, SETTLE[:1], AT).ok
        with pytest.raises(ledger.TransferConflict, match=says) as raised:
            ledger.post(uow, [changed], AT)
        assert raised.value.code == "ledger.transfer.conflict"
        assert balances(uow, CLEARING, PENDING, AVAILABLE) == ["199.00", "199.00", "0.00"]


def test_a_batch_is_posted_whole_or_replayed_whole(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        open_chart(uow)
        assert ledger.post(uow, SETTLE, AT, batch="cycle-1").ok
        with pytest.raises(ledger.TransferConflict, match="mixes transfers posted before"):
            ledger.post(uow, [*SETTLE, t("extra", CLEARING, PENDING, "1.00")], AT, batch="cycle-1")
        # Every id posted before with the same fields: a replay, even of part of the batch.
        assert ledger.post(uow, SETTLE[1:], AT, batch="cycle-1").replayed
        with pytest.raises(ledger.TransferConflict, match="batch was cycle-1, now cycle-2"):
            ledger.post(uow, SETTLE, AT, batch="cycle-2")
        assert ledger.transfer(uow, "extra") is None
        assert balances(uow, CLEARING, PENDING, COMMISSION_REVENUE) == ["199.00", "187.06", "11.94"]


def test_reverse_posts_the_opposite_transfer_once(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        open_chart(uow)
        assert ledger.post(uow, SETTLE, AT).ok
        later = AT + timedelta(hours=1)
        assert ledger.reverse(uow, "commission-O1", "commission-O1-rev", later) == ledger.Posting(
            True, None, False, ("commission-O1-rev",))
        assert balances(uow, PENDING, COMMISSION_REVENUE) == ["199.00", "0.00"]
        reversal = ledger.transfer(uow, "commission-O1-rev")
        assert reversal is not None
        assert (reversal.debit, reversal.credit, reversal.amount, reversal.kind, reversal.ref, reversal.reverses,
                reversal.posted_at) == (COMMISSION_REVENUE, PENDING, cny("11.94"), "settlement.commission.reversal",
                                        "O1", "commission-O1", later)
        assert [str(e.amount.amount) for e in ledger.entries(uow, COMMISSION_REVENUE)] == ["11.94", "-11.94"]
        # The same reversal again is a replay; another id for it is a conflict.
        assert ledger.reverse(uow, "commission-O1", "commission-O1-rev", later).replayed
        with pytest.raises(ledger.TransferConflict, match="reversed already by 'commission-O1-rev'"):
            ledger.reverse(uow, "commission-O1", "commission-O1-rev2", later)
        # Reversing the reversal puts the commission back, under its own kind.
        assert ledger.reverse(uow, "commission-O1-rev", "commission-O1-again", later).ok
        again = ledger.transfer(uow, "commission-O1-again")
        assert again is not None and again.kind == "settlement.commission"
        assert balances(uow, PENDING, COMMISSION_REVENUE) == ["187.06", "11.94"]
        assert [x.id for x in ledger.transfers_for(uow, "O1")] == [
            "settle-O1", "commission-O1", "commission-O1-rev", "commission-O1-again"]
        assert ledger.trial_balance(uow).balanced
        with pytest.raises(ledger.UnknownTransfer):
            ledger.reverse(uow, "nothing", "nothing-rev", later)


def test_a_reversal_can_be_refused_by_a_floor(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        open_chart(uow)
        assert ledger.post(uow, [t("deposit", CLEARING, DEPOSIT, "500.00", "merchant.deposit")], AT).ok
        assert ledger.post(uow, [t("spend", DEPOSIT, AVAILABLE, "450.00")], AT).ok
        refused = ledger.reverse(uow, "deposit", "deposit-rev", AT)
        assert (refused.ok, refused.account, refused.reason) == (
            False, DEPOSIT, "merchant:S1:deposit would go to -450.00 CNY: its balance may not go below zero")
        assert ledger.transfer(uow, "deposit-rev") is None
        assert balances(uow, DEPOSIT, CLEARING) == ["50.00", "500.00"]
