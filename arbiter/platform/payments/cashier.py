"""The cashier (收银台): opening a payment under the risk decision, and verifying the payer.

`open_payment` asks the engine's `payment` scene how to treat the payment and records it:

    reject            -> refused    (with the rule's reason)
    review            -> review     (held for a person; `resume_after_review` continues it)
    verify(method)    -> verifying  (the user owes that proof: sms, password, face, fingerprint)
    pass              -> ready      (may go to its channel: `charging.submit`)

The strongest effect wins (reject, review, verify, pass); a decision with none of them is a
refusal, as the scene fails closed. A held payment that also asked for a verification owes it
once approved. One payment per order is open at a time (the `open_order` unique column);
opening is idempotent by the caller's key, per user. A payment the rules let through feeds
the engine's velocity counters as a `payment` event (how structuring and unusual amounts are
seen), once per payment.

`verify` checks a proof: right -> ready; wrong ones are counted in one conditional UPDATE and
the third fails the payment. None of these commit: the caller's use case does.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, case, select, update

from arbiter.engine.decision import Decision
from arbiter.engine.engine import Engine
from arbiter.engine.stores import StoreUnavailable
from arbiter.engine.velocity import record_event
from arbiter.errors import InvalidInput
from arbiter.money import Money
from arbiter.platform.columns import utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.payments.channels import METHODS
from arbiter.platform.payments.models import (
    CANCELLED,
    FAILED,
    PAYMENTS,
    READY,
    REFUSED,
    REVIEW,
    VERIFICATIONS,
    VERIFYING,
)
from arbiter.platform.payments.records import (
    PaymentConflict,
    cents,
    emit_failed,
    load,
    move,
    reason_text,
    text,
)
from arbiter.platform.payments.verification import PROOF_LENGTH, Verifier
from arbiter.platform.sql import insert_if_absent, write_lock

SCENE = "payment"
CLIENT = "payment_service"
ACCESS = "embedded"
NAMESPACES = ("user", "order", "payment", "passthrough")
MAX_ATTEMPTS = 3  # wrong proofs before the payment fails
NO_DECISION = "no_decision"
REVIEW_REJECTED = "rejected in review"
TOO_MANY_ATTEMPTS = "verification failed 3 times"


@dataclass(frozen=True, slots=True)
class Cashier:
    """What the cashier answers: the payment, where it stands, the proof the user owes."""

    payment_id: str
    status: str  # refused | review | verifying | ready (or where a replayed payment is now)
    verification: str  # none | password | sms | face | fingerprint
    reason: str | None
    decision_effects: tuple[dict[str, Any], ...]
    replayed: bool = False
    decision: Decision | None = None  # with its explanation, to open a review case; None on replay


@dataclass(frozen=True, slots=True)
class VerifyResult:
    payment_id: str
    ok: bool
    status: str
    verification: str
    attempts_left: int
    reason: str | None = None


def _context(context: Mapping[str, Any], user_id: str, amount: Money, method: str) -> dict[str, Any]:
    """The scene's context: the caller's facts, with the user id, the payment's method and
    amount set here (the payment owns them) and the order's amount defaulting to it."""
    if not isinstance(context, Mapping):
        raise InvalidInput(f"context: expected an object, got {type(context).__name__}")
    ctx: dict[str, Any] = dict(context)
    for name in NAMESPACES:
        part = ctx.get(name) or {}
        if not isinstance(part, Mapping):
            raise InvalidInput(f"context.{name}: expected an object, got {type(part).__name__}")
        ctx[name] = dict(part)
    ctx["user"]["id"] = user_id
    ctx["order"].setdefault("amount", amount)
    ctx["order"].setdefault("subtotal", amount)
    ctx["payment"].update(method=method, amount=amount)
    return ctx


def _verdict(decision: Decision) -> tuple[str, str, str | None]:
    """(status, verification, reason) from the decision's effects."""
    found = {e.name: e for e in reversed(decision.effects)}  # the first of each name wins
    method = found["verify"].get("method") if "verify" in found else None
    if method is not None and method not in VERIFICATIONS:
        return REFUSED, "none", f"unsupported verification {method!r}"
    owed = method or "none"
    if "reject" in found:
        return REFUSED, "none", str(found["reject"].get("reason") or "rejected")
    if "review" in found:
        return REVIEW, owed, str(found["review"].get("reason") or "review")
    if "verify" in found:
        return VERIFYING, owed, None
    if "pass" in found:
        return READY, "none", None
    return REFUSED, "none", decision.reason or NO_DECISION


def _replay(row: Row[Any]) -> Cashier:
    return Cashier(row.id, row.status, row.verification, row.reason, tuple(json.loads(row.effects)), replayed=True)


def _by_key(uow: UnitOfWork, user_id: str, key: str) -> Row[Any] | None:
    return uow.session.execute(select(PAYMENTS).where(PAYMENTS.c.user_id == user_id, PAYMENTS.c.key == key)).first()


def _same_request(row: Row[Any], order_id: str, amount: Money, method: str) -> Cashier:
    if (row.order_id, row.amount, row.currency, row.method) != (order_id, amount.amount, amount.currency, method):
        raise PaymentConflict(f"key {row.key!r} opened payment {row.id} for order {row.order_id} "
                              f"({row.amount} {row.currency} by {row.method}); use a new key for another payment")
    return _replay(row)


def _refuse_second(uow: UnitOfWork, order_id: str) -> None:
    open_row = uow.session.execute(select(PAYMENTS).where(PAYMENTS.c.open_order == order_id)).first()
    if open_row is not None:
        what = "was paid by" if open_row.status == "succeeded" else f"has an open payment ({open_row.status}):"
        raise PaymentConflict(f"order {order_id} {what} {open_row.id}")


def open_payment(uow: UnitOfWork, engine: Engine, *, order_id: str, user_id: str, amount: Money, method: str,
                 context: Mapping[str, Any], key: str, now: datetime) -> Cashier:
    """Open the payment of an order under the `payment` scene's decision. Idempotent by
    (user, key): the same request gives the same payment back (as it stands now); the key
    reused for another order, amount or method is a Conflict, and so is a second payment
    while the order has one open (or paid). Does not commit."""
    text(order_id, "order_id")
    text(user_id, "user_id")
    text(key, "key")
    cents(amount, "amount")
    if method not in METHODS:
        raise InvalidInput(f"method: {method!r} is not one of {', '.join(METHODS)}")
    write_lock(uow.session.connection())
    known = _by_key(uow, user_id, key)
    if known is not None:
        return _same_request(known, order_id, amount, method)
    _refuse_second(uow, order_id)
    ctx = _context(context, user_id, amount, method)
    decision = engine.decide(SCENE, ctx, client=CLIENT, access=ACCESS, explain=True)
    status, verification, reason = _verdict(decision)
    effects = [e.to_json() for e in decision.effects]
    payment_id = "pay_" + secrets.token_hex(12)
    inserted = uow.session.execute(insert_if_absent(PAYMENTS, uow.engine.dialect.name, dict(
        id=payment_id, key=key, order_id=order_id, open_order=None if status == REFUSED else order_id,
        user_id=user_id, amount=amount.amount, currency=amount.currency, method=method, verification=verification,
        status=status, reason=reason, effects=json.dumps(effects, ensure_ascii=False, default=str),
        failed_attempts=0, refunded=0, created_at=utc(now), updated_at=utc(now))).returning(PAYMENTS.c.id)).first()
    if inserted is None:  # a concurrent open won the key or the order (RETURNING: drivers differ on rowcount)
        known = _by_key(uow, user_id, key)
        if known is not None:
            return _same_request(known, order_id, amount, method)
        _refuse_second(uow, order_id)
        raise PaymentConflict(f"order {order_id}: another payment was opened at the same time")
    if status != REFUSED:
        try:
            record_event(engine.ruleset, engine.velocity, "payment", ctx, now, payment_id)
        except StoreUnavailable:
            pass  # lost to the counters only; the next decision fails closed if the store stays down
    return Cashier(payment_id, status, verification, reason, tuple(effects), decision=decision)


def resume_after_review(uow: UnitOfWork, payment_id: str, approved: bool, now: datetime) -> None:
    """The review queue's verdict on a held payment: approved, it owes the verification the
    decision asked for (or is ready); not, it is refused. A repeat of the same verdict changes
    nothing. Does not commit (the review's move does)."""
    write_lock(uow.session.connection())
    row = load(uow, payment_id)
    target = (VERIFYING if row.verification != "none" else READY) if approved else REFUSED
    if move(uow, payment_id, (REVIEW,), target, now, reason=None if approved else REVIEW_REJECTED):
        if not approved:
            emit_failed(uow, load(uow, payment_id), REVIEW_REJECTED, now)
        return
    after = load(uow, payment_id)
    rejected = after.status == REFUSED and after.reason == REVIEW_REJECTED
    if approved == rejected or (approved and after.status == REFUSED):
        raise PaymentConflict(f"payment {payment_id} is {after.status}, not held for review")


def cancel(uow: UnitOfWork, payment_id: str, reason: str, now: datetime) -> bool:
    """Give up a payment that has not reached its channel (the user picks another method,
    the order closes). False when it is already at the channel or over. Does not commit."""
    reason_text(reason)
    write_lock(uow.session.connection())
    load(uow, payment_id)
    return move(uow, payment_id, (REVIEW, VERIFYING, READY), CANCELLED, now, reason=reason)


def send_code(uow: UnitOfWork, verifier: Verifier, payment_id: str, now: datetime) -> None:
    """Send what the verification needs first (the SMS code) for a payment that owes one."""
    row = load(uow, payment_id)
    if row.status != VERIFYING:
        raise PaymentConflict(f"payment {payment_id} is {row.status}: it owes no verification")
    verifier.challenge(row.user_id, row.verification, payment_id)


def verify(uow: UnitOfWork, verifier: Verifier, payment_id: str, proof: str, now: datetime) -> VerifyResult:
    """Check the user's proof. Right: the payment is ready. Wrong: counted; the third wrong
    proof fails it. Asking again once verified answers ok. Does not commit."""
    if not isinstance(proof, str) or len(proof) > PROOF_LENGTH:
        raise InvalidInput(f"proof: a string of at most {PROOF_LENGTH} characters")
    write_lock(uow.session.connection())
    row = load(uow, payment_id)
    if row.status != VERIFYING:
        return _not_verifying(row)
    if verifier.check(row.user_id, row.verification, proof):
        if move(uow, payment_id, (VERIFYING,), READY, now):
            return VerifyResult(payment_id, True, READY, row.verification, MAX_ATTEMPTS - row.failed_attempts)
        return _not_verifying(load(uow, payment_id))
    failing = PAYMENTS.c.failed_attempts + 1 >= MAX_ATTEMPTS
    counted = uow.session.execute(update(PAYMENTS).where(
        PAYMENTS.c.id == payment_id, PAYMENTS.c.status == VERIFYING).values(
        failed_attempts=PAYMENTS.c.failed_attempts + 1,
        status=case((failing, FAILED), else_=PAYMENTS.c.status),
        open_order=case((failing, None), else_=PAYMENTS.c.open_order),
        reason=case((failing, TOO_MANY_ATTEMPTS), else_=PAYMENTS.c.reason),
        updated_at=utc(now)))
    after = load(uow, payment_id)
    if counted.rowcount != 1:  # type: ignore[attr-defined]  # moved meanwhile
        return _not_verifying(after)
    if after.status == FAILED:
        emit_failed(uow, after, TOO_MANY_ATTEMPTS, now)
        return VerifyResult(payment_id, False, FAILED, row.verification, 0, TOO_MANY_ATTEMPTS)
    left = MAX_ATTEMPTS - after.failed_attempts
    return VerifyResult(payment_id, False, VERIFYING, row.verification, left,
                        f"wrong {row.verification} proof: {left} attempt(s) left")


def _not_verifying(row: Row[Any]) -> VerifyResult:
    left = max(0, MAX_ATTEMPTS - row.failed_attempts)
    if row.status in (READY, "pending", "succeeded"):
        return VerifyResult(row.id, True, row.status, row.verification, left)
    if row.status == REVIEW:
        raise PaymentConflict(f"payment {row.id} is held for review: it cannot be verified yet")
    return VerifyResult(row.id, False, row.status, row.verification, left,
                        row.reason or f"the payment is {row.status}")
