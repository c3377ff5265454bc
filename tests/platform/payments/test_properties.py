"""Property: whatever sequence of refund requests arrives — keys reused or not, amounts
within or beyond what is left, the channel refusing some — the payment keeps
0 <= refunded <= paid, refunded equals the sum of the succeeded refunds, and every answer
is the one a plain model predicts."""

from __future__ import annotations

import itertools
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import Engine

from arbiter.engine.engine import Engine as Decisions
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.payments import service as payments
from arbiter.platform.payments.models import REFUNDS
from arbiter.platform.payments.service import RefundConflict, Router

from .support import T0, channel, paid, view

PAID = Decimal("100.00")
ORDERS = itertools.count()
REQUESTS = st.lists(st.tuples(
    st.integers(0, 4),  # which key
    st.integers(1, 6000).map(lambda cents: Decimal(cents) / 100),  # up to 60.00
    st.booleans(),  # the channel refuses this one
), max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=REQUESTS)
def test_refunds_never_exceed_the_payment(db: Engine, decisions: Decisions, router: Router,
                                          requests: list[tuple[int, Decimal, bool]]) -> None:
    order_id = f"prop-{next(ORDERS)}"
    payment_id = paid(db, decisions, router, order_id, str(PAID), method="card")
    acquirer = channel(router, "unionpay_sim")
    refunded = Decimal(0)
    keys: dict[str, tuple[Decimal, bool]] = {}  # key -> amount, succeeded
    for which, amount, channel_refuses in requests:
        key = f"k{which}"
        if channel_refuses:
            acquirer.fail_refunds()
        else:
            acquirer.accept_refunds()
        known = keys.get(key)
        with UnitOfWork(db) as uow:
            try:
                result = payments.refund(uow, router, order_id=order_id, amount=Money(amount), key=key,
                                         reason="property", now=T0)
            except RefundConflict:
                assert known is not None and known[0] != amount
                continue
            uow.commit()
        assert known is None or known[0] == amount
        if known is not None and known[1]:
            assert (result.ok, result.replayed) == (True, True)
            continue
        expected = not channel_refuses and refunded + amount <= PAID
        assert result.ok == expected, (result, refunded, amount)
        if expected:
            refunded += amount
        keys[key] = (amount, expected)
        state = view(db, order_id)
        assert Decimal(0) <= state.refunded.amount <= PAID
    acquirer.accept_refunds()
    with UnitOfWork(db) as uow:
        rows = uow.session.execute(select(REFUNDS.c.amount, REFUNDS.c.status)
                                   .where(REFUNDS.c.payment_id == payment_id)).all()
    succeeded = sum((a for a, status in rows if status == "succeeded"), Decimal(0))
    assert view(db, order_id).refunded.amount == succeeded == refunded
    assert sum((a for a, s in keys.values() if s), Decimal(0)) == refunded
