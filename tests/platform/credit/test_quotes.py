"""The installment trial and the approval at payment: the terms and rates the rules offer, the
schedules to the cent, interest-free terms and who pays their fee, the real-time risk check,
and the deduction with its posting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine as Database

from arbiter.errors import Conflict
from arbiter.platform.credit import approval, lines, quotes
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger

from .support import T0, cny, context, engine, with_line

PHONE = {"lines": [{"sku": "SKU-PHONE-X1-128", "category": "phone", "quantity": 1, "price": "2999",
                    "is_virtual": False}]}


def quote(db: Database, user: str, amount: str, **kw: object) -> quotes.Quote:
    with UnitOfWork(db) as uow:
        return quotes.installment_quote(uow, engine(), user_id=user, amount=cny(amount), now=T0, **kw)  # type: ignore[arg-type]


def pay(db: Database, user: str, order: str, amount: str, term: int, ctx: dict[str, object] | None = None,
        key: str | None = None, verified: str | None = None) -> approval.CreditPayment:
    with UnitOfWork(db) as uow:
        paid = approval.approve_and_deduct(uow, engine(), user_id=user, order_id=order, amount=cny(amount), term=term,
                                           context=ctx if ctx is not None else context(), key=key or f"pay-{order}",
                                           now=T0, verified=verified)
        uow.commit()
        return paid


def totals(offer: quotes.Offer | None) -> list[str]:
    assert offer is not None
    return [str(p.total.amount) for p in offer.schedule.periods]


def test_tier_b_terms_and_schedules_to_the_cent(db: Database) -> None:
    with_line(db, "u1", "5000.00", "B")
    trial = quote(db, "u1", "3000.00")
    assert trial.ok and [o.term for o in trial.offers] == [3, 6, 12]
    three, six, twelve = trial.offers
    assert (three.term_rate, three.fee, totals(three)) == (Decimal("0.023"), cny("69.00"), ["1023.00"] * 3)
    assert (six.term_rate, six.fee) == (Decimal("0.045"), cny("135.00"))
    assert (twelve.term_rate, twelve.fee, totals(twelve)) == (Decimal("0.07500"), cny("225.00"), ["268.75"] * 12)
    assert three.schedule.apr == Decimal("0.137478") and not three.interest_free


def test_interest_free_terms_are_paid_by_the_platform_or_the_shop(db: Database) -> None:
    with_line(db, "u2", "8000.00", "B")
    phone = quote(db, "u2", "2999.00", order=PHONE)
    free = phone.offer(3)
    assert free is not None and free.interest_free and free.subsidy_by == "platform"
    assert (free.fee, free.subsidy, totals(free)) == (cny("0.00"), cny("68.98"), ["999.68", "999.66", "999.66"])
    assert phone.offer(6) is not None and not phone.offer(6).interest_free  # type: ignore[union-attr]
    with_line(db, "u3", "20000.00", "A")
    sofa = quote(db, "u3", "1599.00", goods={"sku": "SKU-SOFA-3", "tags": ["shop_interest_free"]})
    assert [(o.term, o.subsidy_by, str(o.subsidy.amount)) for o in sofa.offers] == [
        (3, "merchant", "23.99"), (6, "merchant", "47.97"), (12, None, "0"), (24, None, "0")]


def test_no_offer_says_why(db: Database) -> None:
    assert quote(db, "nobody", "3000.00").reason == "credit_line_not_usable"
    with_line(db, "u4", "2000.00", "A")
    assert quote(db, "u4", "3000.00").reason == "credit_line_insufficient"
    assert quote(db, "u4", "99.99").reason == "amount_below_installment_minimum"


def test_approval_deducts_once_and_posts_the_payment(db: Database) -> None:
    with_line(db, "u5", "5000.00", "B")
    paid = pay(db, "u5", "o1", "3000.00", 3)
    assert paid.ok and paid.available == cny("2000.00") and paid.schedule is not None
    assert [str(p.total.amount) for p in paid.schedule.periods] == ["1023.00"] * 3
    again = pay(db, "u5", "o1", "3000.00", 3)
    assert again.ok and again.replayed and again.offer == paid.offer
    with pytest.raises(Conflict):
        pay(db, "u5", "o1", "3000.00", 3, key="other")
    with UnitOfWork(db) as uow:
        draw = lines.draw_of(uow, "o1")
        assert draw is not None and (draw.plan.term, draw.plan.fee, draw.plan.term_rate) == (3, Decimal("69.00"),
                                                                                            Decimal("0.023"))
        assert ledger.balance(uow, accounts.credit_receivable("u5")) == cny("3000.00")
        assert ledger.balance(uow, accounts.USER_FUNDS_IN_TRANSIT) == cny("3000.00")
    assert pay(db, "u5", "o2", "1000.00", 24).reason == quotes.TERM_NOT_OFFERED
    assert pay(db, "u5", "o3", "2500.00", 3).reason == "credit_line_insufficient"


def test_the_risk_is_decided_again_at_payment(db: Database) -> None:
    with_line(db, "u6", "5000.00", "B")
    new_device = context(user={"is_new_device": True})
    asked = pay(db, "u6", "o1", "1000.00", 3, new_device)
    assert (asked.ok, asked.reason, asked.verify) == (False, approval.VERIFICATION_REQUIRED, "sms")
    assert pay(db, "u6", "o1", "1000.00", 3, new_device, verified="password").verify == "sms"
    assert pay(db, "u6", "o1", "1000.00", 3, new_device, verified="face").ok
    refused = pay(db, "u6", "o2", "1000.00", 3, context(passthrough={"is_emulator": True}))
    assert (refused.ok, refused.reason, refused.tags) == (False, "payment_risk_too_high", ("risk_watch",))
    with UnitOfWork(db) as uow:
        assert lines.usable_available(uow, "u6", T0) == cny("4000.00")
        assert lines.draw_of(uow, "o2") is None


def test_a_payment_cancelled_before_financing_gives_everything_back(db: Database) -> None:
    with_line(db, "u7", "5000.00", "B")
    pay(db, "u7", "o1", "3000.00", 3)
    for _ in range(2):
        with UnitOfWork(db) as uow:
            moved = approval.cancel_credit_payment(uow, order_id="o1", key="cancel-o1", now=T0)
            uow.commit()
        assert moved.available == cny("5000.00")
    with UnitOfWork(db) as uow:
        assert ledger.balance(uow, accounts.credit_receivable("u7")) == cny("0")
        assert ledger.trial_balance(uow).balanced
