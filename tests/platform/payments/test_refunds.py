"""Refunds: partial then full, never beyond what was paid, idempotent by key (the same key
with another amount is a conflict), a channel's refusal not counted and retryable, and no
refund of a payment that never succeeded."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from arbiter.engine.engine import Engine as Decisions
from arbiter.errors import InvalidInput
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.payments import service as payments
from arbiter.platform.payments.service import PaymentNotFound, RefundConflict, Router

from .support import T0, channel, open_, paid, run, view


def _refund(db: Engine, router: Router, amount: str, key: str, order_id: str = "o-1",
            currency: str = "CNY") -> payments.RefundResult:
    return run(db, payments.refund, router, order_id=order_id, amount=Money.of(amount, currency), key=key,
               reason="returned goods", now=T0)


def test_partial_then_full_and_never_beyond(db: Engine, decisions: Decisions, router: Router) -> None:
    payment_id = paid(db, decisions, router, "o-1", "100", method="card")
    first = _refund(db, router, "30", "k1")
    assert (first.ok, first.amount, first.reason, first.replayed) == (True, Money.of("30"), None, False)
    assert view(db, "o-1").refunded == Money.of("30")
    over = _refund(db, router, "70.01", "k2")
    assert (over.ok, over.reason) == (
        False, "the refund of 70.01 CNY exceeds what is left to refund of order o-1: 70.00 CNY")
    rest = _refund(db, router, "70", "k3")
    assert rest.ok and view(db, "o-1").refunded == Money.of("100")
    beyond = _refund(db, router, "0.01", "k4")
    assert (beyond.ok, beyond.reason) == (
        False, "the refund of 0.01 CNY exceeds what is left to refund of order o-1: 0.00 CNY")
    seen = view(db, "o-1")
    assert (seen.status, seen.amount, seen.refunded) == ("succeeded", Money.of("100"), Money.of("100"))
    with UnitOfWork(db) as uow:
        refunded = [e for e in events.about(uow, "o-1") if e.kind == "payment.refunded"]
        listed = payments.refunds_of(uow, "o-1")
    assert [e.payload for e in refunded] == [
        {"refund_id": first.refund_id, "payment_id": payment_id, "amount": "30.00", "currency": "CNY", "key": "k1"},
        {"refund_id": rest.refund_id, "payment_id": payment_id, "amount": "70.00", "currency": "CNY", "key": "k3"},
    ]
    assert sorted((r.key, r.amount.amount, r.status, r.channel) for r in listed) == [
        ("k1", Money.of("30").amount, "succeeded", "unionpay_sim"),
        ("k2", Money.of("70.01").amount, "refused", "unionpay_sim"),
        ("k3", Money.of("70").amount, "succeeded", "unionpay_sim"),
        ("k4", Money.of("0.01").amount, "refused", "unionpay_sim"),
    ]
    assert sorted(a.amount for _, a, _ in channel(router, "unionpay_sim").refunds.values()) == [30, 70]


def test_the_same_key_twice_and_a_conflicting_key(db: Engine, decisions: Decisions, router: Router) -> None:
    paid(db, decisions, router, "o-1", "100")
    first = _refund(db, router, "40", "k1")
    again = _refund(db, router, "40", "k1")
    assert (again.ok, again.refund_id, again.amount, again.replayed) == (True, first.refund_id, Money.of("40"), True)
    with pytest.raises(RefundConflict, match="refund key 'k1' of order o-1 was used for 40.00 CNY, not 41 CNY"):
        _refund(db, router, "41", "k1")
    assert view(db, "o-1").refunded == Money.of("40")
    assert len(channel(router, "alipay_sim").refunds) == 1


def test_a_channel_refusal_is_not_counted_and_the_key_retries(db: Engine, decisions: Decisions,
                                                              router: Router) -> None:
    paid(db, decisions, router, "o-1", "100", method="wechat")
    channel(router, "wechat_sim").fail_refunds("the merchant account is short of funds")
    refused = _refund(db, router, "60", "k1")
    assert (refused.ok, refused.reason) == (False, "the merchant account is short of funds")
    assert view(db, "o-1").refunded == Money.of("0")
    channel(router, "wechat_sim").accept_refunds()
    retried = _refund(db, router, "60", "k1")
    assert (retried.ok, retried.refund_id, retried.replayed) == (True, refused.refund_id, False)
    assert view(db, "o-1").refunded == Money.of("60")
    with UnitOfWork(db) as uow:
        [listed] = payments.refunds_of(uow, "o-1")
    assert (listed.status, listed.failure, listed.refund_reason) == ("succeeded", None, "returned goods")


def test_no_refund_of_a_payment_that_never_succeeded(db: Engine, decisions: Decisions, router: Router) -> None:
    cashier = open_(db, decisions, "o-1", "100")
    run(db, payments.submit, router, cashier.payment_id, T0)
    pending = _refund(db, router, "10", "k1")
    assert (pending.ok, pending.refund_id, pending.reason) == (
        False, None, "the payment of order o-1 never succeeded: nothing to refund")
    with pytest.raises(PaymentNotFound, match="order o-none has no payment to refund"):
        _refund(db, router, "10", "k1", order_id="o-none")
    paid(db, decisions, router, "o-2", "100")
    with pytest.raises(InvalidInput, match="amount: 10 USD is not in the payment's currency CNY"):
        _refund(db, router, "10", "k1", order_id="o-2", currency="USD")
    with pytest.raises(InvalidInput, match="amount: must be more than zero"):
        _refund(db, router, "0", "k1", order_id="o-2")
    assert view(db, "o-2").refunded == Money.of("0")
