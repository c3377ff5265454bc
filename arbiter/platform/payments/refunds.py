"""Refunds (逆向交易): money back to the original method, through the channel that charged it.

    (new key) --reserve--> pending --channel ok------> succeeded   (emits payment.refunded)
                  |                 '--channel refused--> failed   (the amount is given back)
                  '--more than is left--> refused

Never more than was paid: the amount is reserved on the payment with one conditional UPDATE
(`SET refunded = refunded + :a WHERE refunded + :a <= amount`) before the channel is asked, so
concurrent refunds, in any number of processes, cannot exceed the payment; a CHECK on the
table says the same. Only a succeeded refund stays counted: a channel's refusal gives the
reservation back in the same transaction. A refund is idempotent by its key (per payment):
the same key and amount answer the first result, the same key with another amount is a
RefundConflict; a failed or refused refund is tried again under its key. Does not commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, type_coerce, update

from arbiter.errors import Conflict, InvalidInput
from arbiter.money import Money
from arbiter.platform.columns import Amount, as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.payments.channels import Router
from arbiter.platform.payments.models import (
    PAYMENTS,
    REFUND_FAILED,
    REFUND_PENDING,
    REFUND_REFUSED,
    REFUND_SUCCEEDED,
    REFUNDS,
    SUCCEEDED,
)
from arbiter.platform.payments.records import PaymentNotFound, cents, reason_text, text
from arbiter.platform.sql import insert_if_absent, write_lock


class RefundConflict(Conflict):
    """The key was used for a refund of another amount."""

    code = "payments.refund.key_conflict"


@dataclass(frozen=True, slots=True)
class RefundResult:
    ok: bool
    refund_id: str | None
    amount: Money
    reason: str | None = None  # why it was not made
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class RefundView:
    refund_id: str
    key: str
    payment_id: str
    order_id: str
    amount: Money
    status: str
    refund_reason: str
    failure: str | None
    channel: str
    channel_ref: str | None
    at: datetime | None


def _paid(uow: UnitOfWork, order_id: str) -> Row[Any] | None:
    query = select(PAYMENTS).where(PAYMENTS.c.order_id == order_id, PAYMENTS.c.status == SUCCEEDED)
    return uow.session.execute(query).first()


def _by_key(uow: UnitOfWork, payment_id: str, key: str) -> Row[Any] | None:
    query = select(REFUNDS).where(REFUNDS.c.payment_id == payment_id, REFUNDS.c.key == key)
    return uow.session.execute(query).first()


def _claim(uow: UnitOfWork, payment: Row[Any], amount: Money, key: str, reason: str,
           now: datetime) -> tuple[str | None, RefundResult | None]:
    """The refund row to work on under `key` (new, or a failed one tried again), or the
    answer already given under it."""
    for _ in range(2):
        known = _by_key(uow, payment.id, key)
        if known is None:
            refund_id = "rf_" + secrets.token_hex(12)
            inserted = uow.session.execute(insert_if_absent(REFUNDS, uow.engine.dialect.name, dict(
                id=refund_id, key=key, payment_id=payment.id, order_id=payment.order_id, amount=amount.amount,
                currency=amount.currency, status=REFUND_PENDING, refund_reason=reason, channel=payment.channel,
                created_at=utc(now), updated_at=utc(now))).returning(REFUNDS.c.id)).first()
            if inserted is not None:  # RETURNING: drivers differ on an ON CONFLICT insert's rowcount
                return refund_id, None
            continue  # the same key was inserted concurrently: read what it became
        if (known.amount, known.currency) != (amount.amount, amount.currency):
            raise RefundConflict(f"refund key {key!r} of order {payment.order_id} was used for "
                                 f"{known.amount} {known.currency}, not {amount}; use a new key for another refund")
        if known.status == REFUND_SUCCEEDED:
            return None, RefundResult(True, known.id, amount, replayed=True)
        retried = uow.session.execute(update(REFUNDS).where(
            REFUNDS.c.id == known.id, REFUNDS.c.status.in_((REFUND_FAILED, REFUND_REFUSED, REFUND_PENDING))
        ).values(status=REFUND_PENDING, failure=None, refund_reason=reason, updated_at=utc(now)))
        if retried.rowcount == 1:  # type: ignore[attr-defined]
            return known.id, None
    raise Conflict(f"refund key {key!r} of order {payment.order_id} is being used concurrently; try again")


def _finish(uow: UnitOfWork, refund_id: str, status: str, now: datetime, **values: Any) -> None:
    uow.session.execute(update(REFUNDS).where(REFUNDS.c.id == refund_id)
                        .values(status=status, updated_at=utc(now), **values))


def refund(uow: UnitOfWork, router: Router, *, order_id: str, amount: Money, key: str, reason: str,
           now: datetime) -> RefundResult:
    """Refund `amount` of the order's payment to its original method. Refused (ok False,
    with the reason) when the payment never succeeded, when it would exceed what is left,
    or when the channel refuses. Does not commit."""
    text(order_id, "order_id")
    text(key, "key")
    reason_text(reason)
    cents(amount, "amount")
    write_lock(uow.session.connection())
    payment = _paid(uow, order_id)
    if payment is None:
        latest = uow.session.execute(select(PAYMENTS.c.status).where(PAYMENTS.c.order_id == order_id)).first()
        if latest is None:
            raise PaymentNotFound(f"order {order_id} has no payment to refund")
        return RefundResult(False, None, amount, f"the payment of order {order_id} never succeeded: nothing to refund")
    if amount.currency != payment.currency:
        raise InvalidInput(f"amount: {amount} is not in the payment's currency {payment.currency}")
    refund_id, answered = _claim(uow, payment, amount, key, reason, now)
    if answered is not None:
        return answered
    assert refund_id is not None
    units = type_coerce(amount.amount, Amount())  # bound as the column is (units on SQLite)
    reserved = uow.session.execute(update(PAYMENTS).where(
        PAYMENTS.c.id == payment.id, PAYMENTS.c.status == SUCCEEDED, PAYMENTS.c.refunded + units <= PAYMENTS.c.amount,
    ).values(refunded=PAYMENTS.c.refunded + units, updated_at=utc(now)))
    if reserved.rowcount != 1:  # type: ignore[attr-defined]
        now_paid = uow.session.execute(select(PAYMENTS.c.amount, PAYMENTS.c.refunded)
                                       .where(PAYMENTS.c.id == payment.id)).one()
        left = Money(now_paid.amount - now_paid.refunded, payment.currency).quantize_cents()
        why = f"the refund of {amount} exceeds what is left to refund of order {order_id}: {left}"
        _finish(uow, refund_id, REFUND_REFUSED, now, failure=why)
        return RefundResult(False, refund_id, amount, why)
    answer = router.channel(payment.channel).refund(refund_id, payment.id, amount, now)
    if not answer.ok:
        why = answer.reason or f"{payment.channel} refused the refund"
        uow.session.execute(update(PAYMENTS).where(PAYMENTS.c.id == payment.id)
                            .values(refunded=PAYMENTS.c.refunded - units, updated_at=utc(now)))
        _finish(uow, refund_id, REFUND_FAILED, now, failure=why)
        return RefundResult(False, refund_id, amount, why)
    _finish(uow, refund_id, REFUND_SUCCEEDED, now, channel_ref=answer.channel_ref)
    events.emit(uow, "payment.refunded", order_id, {
        "refund_id": refund_id, "payment_id": payment.id, "amount": amount.to_json()["amount"],
        "currency": amount.currency, "key": key,
    }, now, key=f"payment.refunded:{refund_id}")
    return RefundResult(True, refund_id, amount)


def refunds_of(uow: UnitOfWork, order_id: str) -> list[RefundView]:
    """Every refund of the order's payments, oldest first."""
    rows = uow.session.execute(select(REFUNDS).where(REFUNDS.c.order_id == order_id)
                               .order_by(REFUNDS.c.created_at, REFUNDS.c.id)).all()
    return [RefundView(r.id, r.key, r.payment_id, r.order_id, Money(r.amount, r.currency), r.status,
                       r.refund_reason, r.failure, r.channel, r.channel_ref, as_utc(r.updated_at)) for r in rows]
