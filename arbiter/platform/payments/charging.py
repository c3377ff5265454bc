"""Charging: sending a ready payment to its channel and learning the outcome.

    ready --submit--> pending --callback / sync: succeeded--> succeeded   (emits payment.succeeded)
                         |    --callback / sync: failed-----> failed      (emits payment.failed)
                         '--declined by the channel---------> failed

`submit` routes by method (the first channel not marked down) and claims the payment with a
conditional UPDATE before charging, so two submits charge once; the channel dedupes by
payment id as well. `handle_callback` trusts nothing it cannot verify: a body whose HMAC
signature does not match the channel's key, a notice from another channel than the one
charged, or an amount other than the payment's is refused with an error and changes nothing.
The status moves are conditional (`... WHERE status = 'pending'`), so the same notice twice,
or a notice racing `sync`, moves the payment once and emits one event. None of these commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, update

from arbiter.errors import ArbiterError, InvalidInput
from arbiter.money import Money, to_decimal
from arbiter.platform.columns import utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.payments.channels import CHANNEL_STATES, Router
from arbiter.platform.payments.models import FAILED, PAYMENTS, PENDING, READY, SUCCEEDED
from arbiter.platform.payments.records import PaymentConflict, emit_failed, load, move
from arbiter.platform.sql import write_lock

MAX_BODY = 64 * 1024


class ForgedCallback(ArbiterError):
    """The callback's signature does not verify: it was forged or altered on the way."""

    code = "payments.callback.signature"


class CallbackRefused(ArbiterError):
    """The callback is authentic but contradicts the payment (another amount, another
    channel)."""

    code = "payments.callback.refused"


class InvalidCallback(InvalidInput):
    code = "payments.callback.invalid"


@dataclass(frozen=True, slots=True)
class SubmitResult:
    payment_id: str
    status: str
    channel: str | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CallbackResult:
    payment_id: str
    order_id: str
    status: str  # where the payment stands after the notice
    changed: bool  # False for a repeat, or a notice that moves nothing
    reason: str | None = None


def submit(uow: UnitOfWork, router: Router, payment_id: str, now: datetime) -> SubmitResult:
    """Send a ready payment to its channel: pending when accepted, failed when declined;
    still ready (with the reason) when every channel of its method is marked down.
    Submitting a payment already sent answers where it stands."""
    write_lock(uow.session.connection())
    row = load(uow, payment_id)
    if row.status in (PENDING, SUCCEEDED, FAILED) and row.channel is not None:
        return SubmitResult(payment_id, row.status, row.channel, row.reason if row.status == FAILED else None)
    if row.status != READY:
        raise PaymentConflict(f"payment {payment_id} is {row.status}: only a ready payment goes to its channel")
    channel = router.choose(row.method)
    if channel is None:
        names = ", ".join(router.routes(row.method))
        return SubmitResult(payment_id, READY, None, f"every channel for {row.method} is down ({names})")
    if not move(uow, payment_id, (READY,), PENDING, now, channel=channel.name):
        after = load(uow, payment_id)
        return SubmitResult(payment_id, after.status, after.channel)
    charge = channel.charge(payment_id, Money(row.amount, row.currency), row.method, now)
    if charge.accepted:
        uow.session.execute(update(PAYMENTS).where(PAYMENTS.c.id == payment_id).values(channel_ref=charge.channel_ref))
        return SubmitResult(payment_id, PENDING, channel.name)
    reason = charge.reason or f"declined by {channel.name}"
    move(uow, payment_id, (PENDING,), FAILED, now, reason=reason)
    emit_failed(uow, load(uow, payment_id), reason, now)
    return SubmitResult(payment_id, FAILED, channel.name, reason)


def _notice(body: bytes) -> dict[str, Any]:
    try:
        notice = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidCallback("callback: the body is not JSON") from None
    if not isinstance(notice, dict):
        raise InvalidCallback("callback: the body is not a JSON object")
    for field in ("payment_id", "status", "amount", "currency"):
        if not isinstance(notice.get(field), str):
            raise InvalidCallback(f"callback.{field}: missing, or not a string")
    if notice["status"] not in CHANNEL_STATES:
        raise InvalidCallback(f"callback.status: {notice['status']!r} is not one of {', '.join(CHANNEL_STATES)}")
    return notice


def handle_callback(uow: UnitOfWork, router: Router, channel_name: str, body: bytes, signature: str,
                    now: datetime) -> CallbackResult:
    """Apply a channel's asynchronous notice. Refused with an error, changing nothing: a
    signature that does not verify (ForgedCallback), a malformed body, a payment charged
    elsewhere or for another amount (CallbackRefused). Idempotent."""
    channel = router.channel(channel_name)
    if not isinstance(body, bytes) or not isinstance(signature, str) or len(body) > MAX_BODY:
        raise InvalidCallback("callback: the body must be bytes (at most 64 KiB) and the signature a string")
    if not channel.verify_signature(body, signature):
        raise ForgedCallback(f"callback from {channel_name}: the signature does not match the body; "
                             "refused, nothing changed")
    notice = _notice(body)
    write_lock(uow.session.connection())
    row = load(uow, notice["payment_id"])
    if row.channel != channel_name:
        raise CallbackRefused(f"callback from {channel_name}: payment {row.id} was sent to "
                              f"{row.channel or 'no channel'}; refused, nothing changed")
    try:
        paid = Money(to_decimal(notice["amount"], what="callback.amount"), notice["currency"])
    except InvalidInput as exc:
        raise InvalidCallback(str(exc)) from None
    if paid.currency != row.currency or paid.amount != row.amount:
        raise CallbackRefused(f"callback from {channel_name}: it says {paid} was paid, payment {row.id} is "
                              f"{row.amount} {row.currency}; refused, nothing changed")
    ref = notice.get("channel_ref")
    return _apply(uow, row, notice["status"], ref if isinstance(ref, str) else None, now)


def sync(uow: UnitOfWork, router: Router, payment_id: str, now: datetime) -> CallbackResult:
    """Ask the channel where a pending payment stands (its callback may be lost) and apply
    the answer as a callback would be."""
    write_lock(uow.session.connection())
    row = load(uow, payment_id)
    if row.status != PENDING or row.channel is None:
        return CallbackResult(payment_id, row.order_id, row.status, False)
    state = router.channel(row.channel).query(payment_id)
    if state not in CHANNEL_STATES:
        raise CallbackRefused(f"{row.channel} answered {state!r} for payment {payment_id}, "
                              f"not one of {', '.join(CHANNEL_STATES)}")
    return _apply(uow, row, state, None, now)


def _apply(uow: UnitOfWork, row: Row[Any], state: str, ref: str | None, now: datetime) -> CallbackResult:
    if state == "pending":
        return CallbackResult(row.id, row.order_id, row.status, False)
    if state == SUCCEEDED:
        extra = {"channel_ref": ref} if ref else {}
        if move(uow, row.id, (PENDING,), SUCCEEDED, now, paid_at=utc(now), **extra):
            events.emit(uow, "payment.succeeded", row.order_id, {
                "payment_id": row.id, "order_id": row.order_id, "user_id": row.user_id,
                "amount": Money(row.amount, row.currency).to_json()["amount"], "currency": row.currency,
                "method": row.method, "channel": row.channel,
            }, now, key=f"payment.succeeded:{row.id}")
            return CallbackResult(row.id, row.order_id, SUCCEEDED, True)
    elif move(uow, row.id, (PENDING,), FAILED, now, reason=f"{row.channel} reported the payment failed"):
        after = load(uow, row.id)
        emit_failed(uow, after, after.reason, now)
        return CallbackResult(row.id, row.order_id, FAILED, True, after.reason)
    after = load(uow, row.id)
    if after.status == state:  # the same notice again
        return CallbackResult(row.id, row.order_id, after.status, False)
    raise PaymentConflict(f"payment {row.id} is {after.status} but {row.channel} says {state}: "
                          "nothing changed; it needs a person to reconcile")
