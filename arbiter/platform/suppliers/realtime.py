"""Real-time purchase (实时采购) for virtual goods: at fulfilment the platform buys a top-up
from a real-time API supplier, which recharges the user's account (充值账号) at once.

`TopUpGateway` is the supplier's API; every call carries a request id and a gateway must be
idempotent by it (asked again with the same id it answers as before and recharges nothing).
`purchase_realtime` makes up to `max_attempts` attempts, each recorded with its own request
id `ORDER#n`: so a retry after a crash, which asks again with the same ids, never recharges
twice. An attempt whose outcome is unknown (the gateway raised) stays pending and is asked
again, with its id, before any new attempt. A success records the supplier's cost (face value
times the contract's cost rate, to the cent, ROUND_HALF_UP) for its statement.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update

from arbiter.errors import InvalidInput
from arbiter.money import Money
from arbiter.platform.columns import exact, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.sql import insert_if_absent, write_lock
from arbiter.platform.suppliers.contracts import (
    REALTIME_API,
    active_supplier,
    check_count,
    check_name,
    mask,
)
from arbiter.platform.suppliers.costs import REALTIME_COST, record_cost
from arbiter.platform.suppliers.models import REALTIME

PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class RechargeOutcome:
    ok: bool
    reference: str | None = None
    reason: str | None = None


class TopUpGateway(Protocol):
    def recharge(self, account: str, amount: Money, request_id: str) -> RechargeOutcome: ...


@dataclass(frozen=True)
class RealtimeResult:
    """`attempts` counts every attempt made for the order so far; `reference` is the
    supplier's on success; `reason` the last failure's otherwise."""

    ok: bool
    attempts: int
    reference: str | None
    reason: str | None


class SimulatedTopUp:
    """A deterministic top-up supplier: it fails the first `fail_first` attempts of every
    account (an int) or of some (`{account: n}`), always fails the accounts in `always_fail`
    (every account when True), and recharges the others. It is idempotent by request id.
    `crash_after_recharge` accounts recharge and then raise once (a timeout after the money
    moved), as a real gateway may."""

    def __init__(self, fail_first: int | Mapping[str, int] | None = None,
                 always_fail: bool | Iterable[str] = (), crash_after_recharge: Iterable[str] = (),
                 reason: str = "supplier busy") -> None:
        self.fail_every = fail_first if isinstance(fail_first, int) else 0
        self.fail_first = dict(fail_first) if isinstance(fail_first, Mapping) else {}
        self.fail_always = always_fail is True
        self.always_fail = frozenset() if isinstance(always_fail, bool) else frozenset(always_fail)
        self.crash_once = set(crash_after_recharge)
        self.reason = reason
        self.answers: dict[str, RechargeOutcome] = {}
        self.attempts: dict[str, int] = {}
        self.recharged: list[tuple[str, Money, str]] = []  # account, amount, request id
        self._lock = threading.Lock()

    def recharge(self, account: str, amount: Money, request_id: str) -> RechargeOutcome:
        with self._lock:
            if request_id in self.answers:
                return self.answers[request_id]
            tried = self.attempts[account] = self.attempts.get(account, 0) + 1
            failing = self.fail_always or account in self.always_fail
            if failing or tried <= self.fail_first.get(account, self.fail_every):
                outcome = RechargeOutcome(False, None, self.reason)
            else:
                self.recharged.append((account, amount, request_id))
                outcome = RechargeOutcome(True, f"TOPUP-{len(self.recharged)}", None)
            self.answers[request_id] = outcome
            if outcome.ok and account in self.crash_once:
                self.crash_once.discard(account)
                raise TimeoutError(f"no answer for {request_id}")
            return outcome

    def balance(self, account: str) -> Money | None:
        """What the account was recharged in all, or None if never."""
        amounts = [amount for who, amount, _ in self.recharged if who == account]
        if not amounts:
            return None
        total = amounts[0]
        for amount in amounts[1:]:
            total = total + amount
        return total


def _attempts(uow: UnitOfWork, order_id: str) -> list[Any]:
    return list(uow.session.execute(select(REALTIME).where(REALTIME.c.order_id == order_id)
                                    .order_by(REALTIME.c.attempt)))


def _ask(uow: UnitOfWork, gateway: TopUpGateway, row_id: int, account: str, amount: Money,
         request_id: str) -> RechargeOutcome | None:
    """Ask the gateway and record its answer; None (still pending) when it gave none."""
    try:
        outcome = gateway.recharge(account, amount, request_id)
    except Exception:  # any failure to answer leaves the outcome unknown, never failed
        return None
    uow.session.execute(update(REALTIME).where(REALTIME.c.id == row_id, REALTIME.c.status == PENDING).values(
        status=SUCCEEDED if outcome.ok else FAILED, reference=outcome.reference,
        reason=None if outcome.ok else (outcome.reason or "declined")))
    return outcome


def purchase_realtime(uow: UnitOfWork, gateway: TopUpGateway, supplier: str, order_id: str,
                      account: str, amount: Money, now: datetime, *, max_attempts: int = 3) -> RealtimeResult:
    """Recharge `account` with `amount` through a real-time API supplier, retrying up to
    `max_attempts` attempts for the order in all. Joins the caller's transaction; an order
    that succeeded before returns that result and asks nothing."""
    check_name(order_id, "order_id")
    check_name(account, "account")
    check_count(max_attempts, "max_attempts")
    if max_attempts > MAX_ATTEMPTS:
        raise InvalidInput(f"max_attempts: {max_attempts} is more than {MAX_ATTEMPTS}")
    if not isinstance(amount, Money) or amount.amount <= 0:
        raise InvalidInput(f"amount: expected Money of more than zero, got {amount!r}")
    exact(amount.amount, "amount")
    write_lock(uow.session.connection())
    contract = active_supplier(uow, supplier, REALTIME_API).contract
    rows = _attempts(uow, order_id)
    reason: str | None = rows[-1].reason if rows else None
    for row in rows:
        if row.status == SUCCEEDED:
            return RealtimeResult(True, len(rows), row.reference, None)
        if row.status == PENDING:  # asked before with no answer: ask again with its id
            outcome = _ask(uow, gateway, row.id, account, amount, row.request_id)
            if outcome is None:
                return RealtimeResult(False, len(rows), None, f"no answer for {row.request_id}")
            if outcome.ok:
                return _succeeded(uow, supplier, order_id, row.request_id, contract.cost_rate, amount,
                                  outcome, len(rows), now)
            reason = outcome.reason
    for attempt in range(len(rows) + 1, max_attempts + 1):
        request_id = f"{order_id}#{attempt}"
        uow.session.execute(insert_if_absent(REALTIME, uow.engine.dialect.name, {
            "order_id": order_id, "supplier": supplier, "account": mask(account), "currency": amount.currency,
            "amount": amount.amount, "attempt": attempt, "request_id": request_id, "status": PENDING,
            "at": utc(now)}))
        row_id = uow.session.execute(select(REALTIME.c.id).where(REALTIME.c.request_id == request_id)).scalar_one()
        outcome = _ask(uow, gateway, row_id, account, amount, request_id)
        if outcome is None:
            return RealtimeResult(False, attempt, None, f"no answer for {request_id}")
        if outcome.ok:
            return _succeeded(uow, supplier, order_id, request_id, contract.cost_rate, amount, outcome, attempt, now)
        reason = outcome.reason or "declined"
    return RealtimeResult(False, max(len(rows), max_attempts), None, reason)


def _succeeded(uow: UnitOfWork, supplier: str, order_id: str, request_id: str, rate: Any, amount: Money,
               outcome: RechargeOutcome, attempts: int, now: datetime) -> RealtimeResult:
    cost = Money(amount.amount * rate, amount.currency).quantize_cents()
    record_cost(uow, f"realtime:{order_id}", supplier, REALTIME_COST, request_id, None, 1, cost, now)
    return RealtimeResult(True, attempts, outcome.reference, None)
