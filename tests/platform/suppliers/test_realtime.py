"""Real-time purchase of a top-up: retries with a request id per attempt, a success asked
about again recharges nothing, an unknown outcome is asked again with its own id, and only
successes cost the platform (face value x 0.985, to the cent)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from arbiter.errors import InvalidInput
from arbiter.platform.db import UnitOfWork
from arbiter.platform.suppliers import service as suppliers
from arbiter.platform.suppliers.models import REALTIME
from arbiter.platform.suppliers.service import RealtimeResult, SimulatedTopUp

from ..catalog.support import T0, cny
from .support import onboarded

ACCOUNT = "13800000001"


def buy(db: Engine, gateway: SimulatedTopUp, order_id: str, amount: str = "100.00", *, commit: bool = True,
        max_attempts: int = 3) -> RealtimeResult:
    with UnitOfWork(db) as uow:
        result = suppliers.purchase_realtime(uow, gateway, "sup-topup", order_id, ACCOUNT, cny(amount), T0,
                                             max_attempts=max_attempts)
        if commit:
            uow.commit()
    return result


def attempts(db: Engine, order_id: str) -> list[tuple[int, str, str, str | None]]:
    with db.connect() as connection:
        rows = connection.execute(select(REALTIME).where(REALTIME.c.order_id == order_id).order_by(REALTIME.c.attempt))
        return [(r.attempt, r.request_id, r.status, r.account) for r in rows]


def test_retries_until_the_supplier_recharges(db: Engine) -> None:
    onboarded(db)
    gateway = SimulatedTopUp(fail_first={ACCOUNT: 2})
    assert buy(db, gateway, "o1") == RealtimeResult(True, 3, "TOPUP-1", None)
    assert attempts(db, "o1") == [(1, "o1#1", "failed", "138****0001"), (2, "o1#2", "failed", "138****0001"),
                                  (3, "o1#3", "succeeded", "138****0001")]
    assert buy(db, gateway, "o1") == RealtimeResult(True, 3, "TOPUP-1", None)  # asked again: nothing moves
    assert gateway.balance(ACCOUNT) == cny("100.00") and len(gateway.recharged) == 1
    statement = suppliers_statement(db)
    assert [(line.reference, line.amount) for line in statement.lines] == [("o1#3", cny("98.50"))]


def suppliers_statement(db: Engine) -> suppliers.SupplierStatement:
    with UnitOfWork(db) as uow:
        return suppliers.statement(uow, "sup-topup", T0.date(), T0.date())


def test_a_supplier_that_always_fails(db: Engine) -> None:
    onboarded(db)
    gateway = SimulatedTopUp(always_fail=[ACCOUNT], reason="account frozen")
    assert buy(db, gateway, "o2") == RealtimeResult(False, 3, None, "account frozen")
    assert buy(db, gateway, "o2") == RealtimeResult(False, 3, None, "account frozen")  # no attempts left
    assert gateway.attempts == {ACCOUNT: 3}
    assert buy(db, gateway, "o2", max_attempts=4) == RealtimeResult(False, 4, None, "account frozen")
    assert suppliers_statement(db).lines == () and suppliers_statement(db).total == cny("0.00")


def test_an_unknown_outcome_is_asked_again_with_its_own_request_id(db: Engine) -> None:
    onboarded(db)
    gateway = SimulatedTopUp(crash_after_recharge=[ACCOUNT])
    assert buy(db, gateway, "o3") == RealtimeResult(False, 1, None, "no answer for o3#1")
    assert attempts(db, "o3") == [(1, "o3#1", "pending", "138****0001")]
    assert buy(db, gateway, "o3") == RealtimeResult(True, 1, "TOPUP-1", None)
    assert gateway.balance(ACCOUNT) == cny("100.00") and len(gateway.recharged) == 1


def test_a_crash_before_commit_never_recharges_twice(db: Engine) -> None:
    onboarded(db)
    gateway = SimulatedTopUp(fail_first={ACCOUNT: 1})
    assert buy(db, gateway, "o4", commit=False).ok  # recharged, then the process died: nothing recorded
    assert attempts(db, "o4") == []
    assert buy(db, gateway, "o4") == RealtimeResult(True, 2, "TOPUP-1", None)  # the same ids again
    assert [request for _, _, request in gateway.recharged] == ["o4#2"]
    assert gateway.balance(ACCOUNT) == cny("100.00")


def test_bad_purchases_are_refused(db: Engine) -> None:
    onboarded(db)
    gateway = SimulatedTopUp()
    with UnitOfWork(db) as uow:
        with pytest.raises(InvalidInput, match="supplier 'sup-sofa' is a dropship supplier, not realtime_api"):
            suppliers.purchase_realtime(uow, gateway, "sup-sofa", "o5", ACCOUNT, cny("100"), T0)
        with pytest.raises(InvalidInput, match="amount: expected Money of more than zero"):
            suppliers.purchase_realtime(uow, gateway, "sup-topup", "o5", ACCOUNT, cny("0"), T0)
        with pytest.raises(InvalidInput, match="max_attempts: 11 is more than 10"):
            suppliers.purchase_realtime(uow, gateway, "sup-topup", "o5", ACCOUNT, cny("1"), T0, max_attempts=11)
    assert gateway.recharged == []


def test_the_simulated_gateway_fails_as_configured() -> None:
    every = SimulatedTopUp(fail_first=1)
    assert [every.recharge(a, cny("10"), f"{a}#{n}").ok for a in ("a", "b") for n in (1, 2)] == [
        False, True, False, True]
    assert every.recharge("a", cny("10"), "a#2").reference == "TOPUP-1"  # asked again: the same answer
    always = SimulatedTopUp(always_fail=True, reason="maintenance")
    assert always.recharge("a", cny("10"), "r1").reason == "maintenance" and always.recharged == []
