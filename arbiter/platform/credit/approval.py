"""Approval at payment (分期支付审核) and the line deduction (额度扣减).

The line was granted some time before the purchase and the user's risk may have changed since,
so a credit payment is decided again in real time: the installment trial runs again (the term
must still be offered, at today's price), then the `payment` scene decides as for any payment
(pass; verify first; hold for review; reject). Only then is the principal deducted from the
line, atomically; the draw keeps the terms it was approved on for financing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arbiter.engine.engine import Engine
from arbiter.engine.installments import Schedule
from arbiter.errors import Conflict, NotFound
from arbiter.money import Money
from arbiter.platform.credit import books, lines, quotes
from arbiter.platform.credit.quotes import Offer
from arbiter.platform.db import UnitOfWork
from arbiter.platform.sql import write_lock

PAYMENT_SCENE = "payment"
PAYMENT_CLIENT = "payment_service"
VERIFICATION_REQUIRED = "verification_required"
# How strongly each check proves who the user is: a stronger check done satisfies a weaker asked.
STRENGTH = {"password": 1, "sms": 2, "fingerprint": 3, "face": 4}


@dataclass(frozen=True, slots=True)
class CreditPayment:
    """The outcome of a credit payment: approved and deducted (`ok`), or refused with a reason.
    `verify` names the check to ask the user for (then call again with `verified`); `review`
    says a person must look at it first; `tags` are labels the decision puts on the user."""

    ok: bool
    reason: str | None = None
    schedule: Schedule | None = None
    offer: Offer | None = None
    verify: str | None = None
    review: bool = False
    available: Money | None = None
    tags: tuple[str, ...] = ()
    replayed: bool = False


def approve_and_deduct(uow: UnitOfWork, engine: Engine, *, user_id: str, order_id: str, amount: Money, term: int,
                       context: Mapping[str, Any], key: str, now: datetime, verified: str | None = None) -> CreditPayment:
    """Approve `order_id` for `amount` over `term` periods and deduct it from the line.

    `context` holds the payment's other tags by namespace (`user`, `order`, `goods`, `payment`,
    `passthrough`) and optionally `scene`, the purchase scene a special-purpose line may be
    for; `order.shop` names the shop that pays a merchant-funded interest-free fee. Once per
    order: a repeat with the same key returns the first approval. Does not commit."""
    lines.check_key(key)
    write_lock(uow.session.connection())  # before the first read: SQLite then writes without retrying
    first = lines.draw_of(uow, order_id)
    if first is not None and first.key == key:
        stored = quotes.offer_of(first)
        return CreditPayment(True, schedule=stored.schedule, offer=stored, replayed=True,
                             available=lines.usable_available(uow, user_id, now))
    if first is not None:
        raise Conflict(f"order {order_id} was already paid on the credit line (key {first.key!r})")
    goods, order = context.get("goods"), dict(context.get("order") or {})
    scene = context.get("scene")
    categories = quotes.context_categories(goods, order)
    quote = quotes.installment_quote(uow, engine, user_id=user_id, amount=amount, now=now, goods=goods,
                                     order=order, user=context.get("user"), scene=scene)
    if not quote.ok:
        return CreditPayment(False, quote.reason)
    offer = quote.offer(term)
    if offer is None:
        return CreditPayment(False, quotes.TERM_NOT_OFFERED)
    facts = quotes.credit_facts(uow, user_id, now=now, scene=scene, categories=categories)
    decision = engine.decide(PAYMENT_SCENE, {
        "user": {**dict(context.get("user") or {}), **facts, "id": user_id},
        "order": {"subtotal": amount, **order, "amount": amount, "payment_method": "credit", "installments": term},
        "payment": {**dict(context.get("payment") or {}), "method": "credit", "amount": amount},
        "passthrough": dict(context.get("passthrough") or {}),
    }, client=PAYMENT_CLIENT, access="embedded")
    tags = tuple(str(e.get("tag")) for e in decision.effects if e.name == "tag_user")
    for effect in decision.effects:
        if effect.name == "reject":
            return CreditPayment(False, str(effect.get("reason")), tags=tags)
        if effect.name == "review":
            return CreditPayment(False, str(effect.get("reason")), review=True, tags=tags)
    asked = next((str(e.get("method")) for e in decision.effects if e.name == "verify"), None)
    if asked is not None and STRENGTH.get(verified or "", 0) < STRENGTH.get(asked, 0):
        return CreditPayment(False, VERIFICATION_REQUIRED, verify=asked, tags=tags)
    if not any(e.name == "pass" for e in decision.effects) and asked is None:
        return CreditPayment(False, decision.reason or "payment_not_approved", tags=tags)
    moved = lines.deduct(uow, user_id, order_id, amount, key, now=now, scene=scene, categories=categories,
                         plan=offer.plan(order.get("shop") or None))
    if not moved.ok:
        return CreditPayment(False, moved.reason, tags=tags)
    books.post(uow, [books.paid(order_id, user_id, amount)], now, batch=f"credit:{order_id}:paid")
    return CreditPayment(True, schedule=offer.schedule, offer=offer, available=moved.available, tags=tags,
                         replayed=moved.replayed)



def cancel_credit_payment(uow: UnitOfWork, *, order_id: str, key: str, now: datetime) -> lines.LineMove:
    """Undo a credit payment that was never financed (the order closed, or refunded before
    financing): the line gets back what the order still holds of it and the payment's
    posting is reversed. Once per key. Does not commit."""
    draw = lines.draw_of(uow, order_id)
    if draw is None:
        raise NotFound(f"order {order_id} was not paid on the credit line")
    if draw.outstanding.amount == 0:
        return lines.LineMove(order_id, draw.principal, available=lines.usable_available(uow, draw.user_id, now),
                              replayed=True)
    moved = lines.restore(uow, draw.user_id, order_id, draw.outstanding, key, now=now)
    books.post(uow, [books.unpaid(order_id, draw.user_id, draw.principal)], now,
               batch=f"credit:{order_id}:paid.undone")
    return moved
