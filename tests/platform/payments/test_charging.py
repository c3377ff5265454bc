"""Charging: routing with fallbacks, declines, signed callbacks (forged, altered, repeated,
for another amount or from another channel) and sync after a lost callback."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine

from arbiter.engine.engine import Engine as Decisions
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.payments import service as payments
from arbiter.platform.payments.service import (
    CallbackRefused,
    ForgedCallback,
    InvalidCallback,
    NoRoute,
    PaymentConflict,
    Router,
    SimulatedChannel,
    UnknownChannel,
)

from .support import T0, channel, open_, run, view


def _pending(db: Engine, decisions: Decisions, router: Router, order_id: str, amount: str = "99",
             method: str = "wechat") -> str:
    cashier = open_(db, decisions, order_id, amount, method=method)
    sent = run(db, payments.submit, router, cashier.payment_id, T0)
    assert sent.status == "pending"
    return cashier.payment_id


def _kinds(db: Engine, order_id: str) -> list[str]:
    with UnitOfWork(db) as uow:
        return [e.kind for e in events.about(uow, order_id)]


def test_submit_routes_by_method_and_falls_back_when_a_channel_is_down(db: Engine, decisions: Decisions,
                                                                        router: Router) -> None:
    first = open_(db, decisions, "o-1", "99", method="wechat")
    sent = run(db, payments.submit, router, first.payment_id, T0)
    assert (sent.status, sent.channel, sent.reason) == ("pending", "wechat_sim", None)
    seen = view(db, "o-1")
    assert (seen.status, seen.channel, seen.channel_ref) == ("pending", "wechat_sim", "wechat_sim-000001")
    assert run(db, payments.submit, router, first.payment_id, T0) == sent  # submitting again charges once
    assert len(channel(router, "wechat_sim").charges) == 1

    router.mark_down("wechat_sim")
    second = open_(db, decisions, "o-2", "99", method="wechat")
    assert run(db, payments.submit, router, second.payment_id, T0).channel == "aggregator_sim"
    router.mark_down("aggregator_sim")
    third = open_(db, decisions, "o-3", "99", method="wechat")
    stuck = run(db, payments.submit, router, third.payment_id, T0)
    assert (stuck.status, stuck.channel, stuck.reason) == (
        "ready", None, "every channel for wechat is down (wechat_sim, aggregator_sim)")
    router.mark_up("wechat_sim")
    assert run(db, payments.submit, router, third.payment_id, T0).channel == "wechat_sim"


def test_a_declined_charge_fails_the_payment(db: Engine, decisions: Decisions, router: Router) -> None:
    channel(router, "alipay_sim").decline("insufficient balance")
    cashier = open_(db, decisions, "o-1", "99")
    sent = run(db, payments.submit, router, cashier.payment_id, T0)
    assert (sent.status, sent.channel, sent.reason) == ("failed", "alipay_sim", "insufficient balance")
    assert (view(db, "o-1").status, _kinds(db, "o-1")) == ("failed", ["payment.failed"])
    with pytest.raises(PaymentConflict, match="is verifying: only a ready payment goes to its channel"):
        held = open_(db, decisions, "o-2", "3999", context={"user": {"is_new_device": True}})
        run(db, payments.submit, router, held.payment_id, T0)


def test_credit_is_one_registration_away(db: Engine, decisions: Decisions, router: Router) -> None:
    cashier = open_(db, decisions, "o-1", "99", method="credit", context={"user": {"credit_available": "50000"}})
    with pytest.raises(NoRoute, match="no channel takes 'credit' payments"):
        run(db, payments.submit, router, cashier.payment_id, T0)
    router.register(SimulatedChannel("credit_line", b"credit-secret"), methods=("credit",))
    assert run(db, payments.submit, router, cashier.payment_id, T0).channel == "credit_line"


def test_forged_and_altered_callbacks_are_refused_and_change_nothing(db: Engine, decisions: Decisions,
                                                                     router: Router) -> None:
    payment_id = _pending(db, decisions, router, "o-1")
    body, signature = channel(router, "wechat_sim").callback(payment_id)
    forger = SimulatedChannel("wechat_sim", b"not-the-channel-key")
    forger.charge(payment_id, Money.of("99"), "wechat", T0)
    forged_body, forged_signature = forger.callback(payment_id)
    with pytest.raises(ForgedCallback, match="callback from wechat_sim: the signature does not match the body"):
        run(db, payments.handle_callback, router, "wechat_sim", forged_body, forged_signature, T0)
    altered = body.replace(b'"99.00"', b'"0.01"')
    assert altered != body
    with pytest.raises(ForgedCallback) as refused:
        run(db, payments.handle_callback, router, "wechat_sim", altered, signature, T0)
    assert refused.value.code == "payments.callback.signature"
    with pytest.raises(ForgedCallback):
        run(db, payments.handle_callback, router, "wechat_sim", body, "", T0)
    with pytest.raises(UnknownChannel, match="no channel named `paypal_sim`"):
        run(db, payments.handle_callback, router, "paypal_sim", body, signature, T0)
    assert (view(db, "o-1").status, _kinds(db, "o-1")) == ("pending", [])


def test_the_same_callback_twice_changes_nothing_the_second_time(db: Engine, decisions: Decisions,
                                                                 router: Router) -> None:
    payment_id = _pending(db, decisions, router, "o-1", "3000.50")
    body, signature = channel(router, "wechat_sim").callback(payment_id)
    first = run(db, payments.handle_callback, router, "wechat_sim", body, signature, T0)
    assert (first.payment_id, first.order_id, first.status, first.changed) == (payment_id, "o-1", "succeeded", True)
    second = run(db, payments.handle_callback, router, "wechat_sim", body, signature, T0)
    assert (second.status, second.changed) == ("succeeded", False)
    with UnitOfWork(db) as uow:
        [event] = events.about(uow, "o-1")
    assert (event.kind, event.subject, event.at) == ("payment.succeeded", "o-1", T0)
    assert event.payload == {"payment_id": payment_id, "order_id": "o-1", "user_id": "u1", "amount": "3000.50",
                             "currency": "CNY", "method": "wechat", "channel": "wechat_sim"}
    seen = view(db, "o-1")
    assert (seen.status, seen.paid_at, seen.amount, seen.refunded) == (
        "succeeded", T0, Money.of("3000.50"), Money.of("0"))
    # A failure notice after the success contradicts it: refused, nothing changed.
    failed_body, failed_signature = channel(router, "wechat_sim").callback(payment_id, "failed")
    with pytest.raises(PaymentConflict, match="is succeeded but wechat_sim says failed"):
        run(db, payments.handle_callback, router, "wechat_sim", failed_body, failed_signature, T0)
    assert view(db, "o-1").status == "succeeded"


def test_a_callback_for_another_amount_or_from_another_channel_is_refused(db: Engine, decisions: Decisions,
                                                                          router: Router) -> None:
    payment_id = _pending(db, decisions, router, "o-1", "99")
    wechat = channel(router, "wechat_sim")
    body, signature = wechat.callback(payment_id, amount=Money.of("98.99"))
    with pytest.raises(CallbackRefused, match=f"it says 98.99 CNY was paid, payment {payment_id} is 99.00 CNY"):
        run(db, payments.handle_callback, router, "wechat_sim", body, signature, T0)
    aggregator = channel(router, "aggregator_sim")
    aggregator.charge(payment_id, Money.of("99"), "wechat", T0)
    elsewhere, elsewhere_signature = aggregator.callback(payment_id)
    with pytest.raises(CallbackRefused, match=f"payment {payment_id} was sent to wechat_sim"):
        run(db, payments.handle_callback, router, "aggregator_sim", elsewhere, elsewhere_signature, T0)
    junk = b'{"payment_id": "x"}'
    with pytest.raises(InvalidCallback, match="callback.status: missing"):
        run(db, payments.handle_callback, router, "wechat_sim", junk, wechat.sign(junk), T0)
    assert (view(db, "o-1").status, _kinds(db, "o-1")) == ("pending", [])


def test_sync_applies_what_the_channel_says_after_a_lost_callback(db: Engine, decisions: Decisions,
                                                                  router: Router) -> None:
    payment_id = _pending(db, decisions, router, "o-1")
    assert run(db, payments.sync, router, payment_id, T0).changed is False  # still pending at the channel
    channel(router, "wechat_sim").callback(payment_id)  # sent, and lost on the way
    synced = run(db, payments.sync, router, payment_id, T0)
    assert (synced.status, synced.changed) == ("succeeded", True)
    assert run(db, payments.sync, router, payment_id, T0).changed is False
    # The lost callback arriving late changes nothing.
    body, signature = channel(router, "wechat_sim").callback(payment_id)
    late = run(db, payments.handle_callback, router, "wechat_sim", body, signature, T0)
    assert (late.status, late.changed) == ("succeeded", False)
    assert _kinds(db, "o-1") == ["payment.succeeded"]

    failing = _pending(db, decisions, router, "o-2")
    channel(router, "wechat_sim").callback(failing, "failed")
    gone = run(db, payments.sync, router, failing, T0)
    assert (gone.status, gone.changed, gone.reason) == ("failed", True, "wechat_sim reported the payment failed")
    assert _kinds(db, "o-2") == ["payment.failed"]
    assert json.loads(channel(router, "wechat_sim").callback(failing, "failed")[0])["status"] == "failed"
