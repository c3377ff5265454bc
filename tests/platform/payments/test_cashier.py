"""The cashier under the demo rules: each risk outcome, idempotent opening, one open payment
per order, the review hold and its resumption, and verification (success, three failures)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from arbiter.engine.engine import Engine as Decisions
from arbiter.errors import InvalidInput
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.payments import service as payments
from arbiter.platform.payments.service import PaymentConflict, SimulatedVerifier

from .support import BIG_SPENDER, CLEAN, MANY_SIGNALS, NEW_DEVICE, T0, open_, run, view


def test_each_risk_outcome_of_the_demo_rules(db: Engine, decisions: Decisions) -> None:
    clean = open_(db, decisions, "o-clean", "99", context=CLEAN)
    assert (clean.status, clean.verification, clean.reason, clean.decision_effects) == (
        "ready", "none", None, ({"type": "pass"},))
    sms = open_(db, decisions, "o-sms", "3999", method="wechat", context=NEW_DEVICE, user="u2")
    assert (sms.status, sms.verification, sms.reason) == ("verifying", "sms", None)
    assert sms.decision_effects == ({"type": "verify", "method": "sms"},)
    face = open_(db, decisions, "o-face", "20000", context=BIG_SPENDER, user="u3")
    assert (face.status, face.verification, face.decision_effects) == (
        "verifying", "face", ({"type": "verify", "method": "face"},))
    assert face.decision is not None and face.decision.score == 60
    refused = open_(db, decisions, "o-refused", "25000", method="card", context=MANY_SIGNALS, user="u4")
    assert (refused.status, refused.verification, refused.reason) == ("refused", "none", "payment_risk_too_high")
    assert refused.decision is not None and refused.decision.score == 155
    seen = view(db, "o-refused")
    assert (seen.status, seen.amount, seen.method, seen.channel, seen.refunded) == (
        "refused", Money.of("25000"), "card", None, Money.of("0"))
    # A refused payment frees the order: the user may pay another way.
    again = open_(db, decisions, "o-refused", "25000", method="alipay", user="u4", key="second",
                  context={"user": {"level": 5}})
    assert (again.status, again.verification) == ("verifying", "face")
    assert view(db, "o-refused").payment_id == again.payment_id


def test_opening_is_idempotent_by_key_and_one_payment_per_order(db: Engine, decisions: Decisions) -> None:
    first = open_(db, decisions, "o-1", "99", key="k1")
    repeat = open_(db, decisions, "o-1", "99", key="k1")
    assert (repeat.payment_id, repeat.status, repeat.replayed, repeat.decision) == (
        first.payment_id, "ready", True, None)
    with pytest.raises(PaymentConflict, match="key 'k1' opened payment .* for order o-1 \\(99.00 CNY by alipay\\)"):
        open_(db, decisions, "o-1", "98", key="k1")
    with pytest.raises(PaymentConflict, match=f"order o-1 has an open payment \\(ready\\): {first.payment_id}"):
        open_(db, decisions, "o-1", "99", key="k2")
    # Keys belong to their user: another user's k1 is another payment.
    other = open_(db, decisions, "o-2", "99", key="k1", user="u9")
    assert other.payment_id != first.payment_id and not other.replayed
    with UnitOfWork(db) as uow:
        assert payments.cancel(uow, first.payment_id, "the user picked another method", T0) is True
        uow.commit()
    assert view(db, "o-1").status == "cancelled"
    assert open_(db, decisions, "o-1", "99", key="k2", method="wechat").status == "ready"


def test_bad_input_changes_nothing(db: Engine, decisions: Decisions) -> None:
    with pytest.raises(InvalidInput, match="method: 'balance' is not one of wechat, alipay, card, credit"):
        open_(db, decisions, "o-1", "99", method="balance")
    with pytest.raises(InvalidInput, match="amount: 0.001 CNY is not a whole number of cents"):
        open_(db, decisions, "o-1", "0.001")
    with pytest.raises(InvalidInput, match="amount: must be more than zero, got -1 CNY"):
        open_(db, decisions, "o-1", "-1")
    with pytest.raises(InvalidInput, match="context.user: expected an object, got str"):
        open_(db, decisions, "o-1", "99", context={"user": "u1"})
    with UnitOfWork(db) as uow:
        assert payments.payment_of(uow, "o-1") is None


def _structuring(db: Engine, decisions: Decisions, order_id: str) -> payments.Cashier:
    """Three payments of 9,900 today (20 points each: passed), then a fourth is held."""
    mule = {"user": {"level": 3}}
    for i in range(3):
        assert open_(db, decisions, f"{order_id}-prior-{i}", "9900", context=mule, user="mule").status == "ready"
    return open_(db, decisions, order_id, "9900", context=mule, user="mule")


def test_review_holds_the_payment_until_the_queue_decides(db: Engine, decisions: Decisions) -> None:
    held = _structuring(db, decisions, "o-held")
    assert (held.status, held.verification, held.reason) == ("review", "sms", "structuring")
    assert held.decision_effects == ({"type": "review", "reason": "structuring"}, {"type": "verify", "method": "sms"})
    assert held.decision is not None and held.decision.trace  # explained, for the review case
    verifier = SimulatedVerifier()
    with UnitOfWork(db) as uow, pytest.raises(PaymentConflict, match="held for review"):
        payments.verify(uow, verifier, held.payment_id, "123456", T0)
    run(db, payments.resume_after_review, held.payment_id, True, T0)
    assert (view(db, "o-held").status, view(db, "o-held").verification) == ("verifying", "sms")
    run(db, payments.resume_after_review, held.payment_id, True, T0)  # the same verdict again: nothing
    with pytest.raises(PaymentConflict, match="is verifying, not held for review"):
        run(db, payments.resume_after_review, held.payment_id, False, T0)

    rejected = open_(db, decisions, "o-rejected", "9900", context={"user": {"level": 3}}, user="mule")
    assert rejected.status == "review"
    run(db, payments.resume_after_review, rejected.payment_id, False, T0)
    seen = view(db, "o-rejected")
    assert (seen.status, seen.reason) == ("refused", "rejected in review")
    with UnitOfWork(db) as uow:
        [event] = events.about(uow, "o-rejected")
    assert (event.kind, event.payload["status"], event.payload["reason"]) == (
        "payment.failed", "refused", "rejected in review")


def test_sms_verification_succeeds_with_the_code_sent(db: Engine, decisions: Decisions,
                                                      verifier: SimulatedVerifier) -> None:
    cashier = open_(db, decisions, "o-sms", "3999", method="wechat", context=NEW_DEVICE)
    with UnitOfWork(db) as uow:
        payments.send_code(uow, verifier, cashier.payment_id, T0)
    code = verifier.sms_code(cashier.payment_id)
    assert code is not None and len(code) == 6 and code.isdigit()
    wrong = run(db, payments.verify, verifier, cashier.payment_id, "wrong", T0)
    assert (wrong.ok, wrong.status, wrong.attempts_left, wrong.reason) == (
        False, "verifying", 2, "wrong sms proof: 2 attempt(s) left")
    right = run(db, payments.verify, verifier, cashier.payment_id, code, T0)
    assert (right.ok, right.status, right.verification, right.attempts_left, right.reason) == (
        True, "ready", "sms", 2, None)
    assert verifier.sms_code(cashier.payment_id) is None  # used once
    assert run(db, payments.verify, verifier, cashier.payment_id, "anything", T0).ok  # verified already
    assert view(db, "o-sms").status == "ready"


def test_three_wrong_proofs_fail_the_payment(db: Engine, decisions: Decisions, verifier: SimulatedVerifier) -> None:
    cashier = open_(db, decisions, "o-face", "20000", context=BIG_SPENDER)
    verifier.enroll("u1", "face", "face-of-u1")
    outcomes = [run(db, payments.verify, verifier, cashier.payment_id, "face-of-someone", T0) for _ in range(3)]
    assert [(o.ok, o.status, o.attempts_left) for o in outcomes] == [
        (False, "verifying", 2), (False, "verifying", 1), (False, "failed", 0)]
    assert outcomes[2].reason == "verification failed 3 times"
    late = run(db, payments.verify, verifier, cashier.payment_id, "face-of-u1", T0)  # too late, even when right
    assert (late.ok, late.status, late.reason) == (False, "failed", "verification failed 3 times")
    seen = view(db, "o-face")
    assert (seen.status, seen.failed_attempts, seen.reason) == ("failed", 3, "verification failed 3 times")
    with UnitOfWork(db) as uow:
        assert [e.kind for e in events.about(uow, "o-face")] == ["payment.failed"]
    again = open_(db, decisions, "o-face", "20000", context=BIG_SPENDER, key="retry")
    assert run(db, payments.verify, verifier, again.payment_id, "face-of-u1", T0).status == "ready"


def test_the_simulated_verifier_keeps_passwords_hashed() -> None:
    verifier = SimulatedVerifier()
    verifier.set_password("u1", "246810")
    assert verifier.check("u1", "password", "246810")
    assert not verifier.check("u1", "password", "246811")
    assert not verifier.check("u2", "password", "246810")
    salt, key = verifier._passwords["u1"]
    assert len(salt) == 16 and len(key) == 32 and b"246810" not in salt + key
    with pytest.raises(InvalidInput, match="six digits"):
        verifier.set_password("u1", "abc")
    verifier.challenge("u1", "sms", "pay-a")
    verifier.challenge("u1", "sms", "pay-b")  # a newer code replaces the older
    assert verifier.sms_code("pay-a") is None
    code = verifier.sms_code("pay-b")
    assert code is not None and verifier.check("u1", "sms", code) and not verifier.check("u1", "sms", code)
    verifier.enroll("u1", "fingerprint", "print-1")
    assert verifier.check("u1", "fingerprint", "print-1") and not verifier.check("u1", "face", "print-1")
