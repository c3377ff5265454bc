"""Shared pieces of the payments tests: the time, the contexts the demo rules answer each
way, and short-hands that run one use case in a unit of work of its own and commit it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import Engine

from arbiter.engine.engine import Engine as Decisions
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.payments import service as payments
from arbiter.platform.payments.service import Router, SimulatedChannel

RULES = Path(__file__).resolve().parents[3] / "rules"
T0 = datetime(2026, 11, 11, 20, 0, tzinfo=UTC)
SECRET = b"channel-secret-for-tests"
R = TypeVar("R")

# The demo rules' `payment_risk` strategy, each way.
CLEAN = {"user": {"risk_score": 10}}  # 0 points: pass
NEW_DEVICE = {"user": {"is_new_device": True}}  # 30 points: an SMS code
BIG_SPENDER = {"user": {"level": 5}}  # with 20,000 yuan: 20 large + 40 very large = 60, the face
MANY_SIGNALS = {  # with 25,000 yuan by a foreign card: 30+20+40+40+15+10 = 155, refused
    "user": {"is_new_device": True, "risk_score": 85},
    "order": {"address_region": "广东"},
    "payment": {"card_bin": "411111"},
    "passthrough": {"ip_region": "黑龙江"},
}


def router_of(secret: bytes = SECRET) -> Router:
    """wechat -> wechat_sim, alipay -> alipay_sim, card -> unionpay_sim, each falling back on
    aggregator_sim."""
    return payments.simulated_router(secret)


def channel(router: Router, name: str) -> SimulatedChannel:
    found = router.channel(name)
    assert isinstance(found, SimulatedChannel)
    return found


def run(db: Engine, use_case: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """One use case in its own unit of work, committed."""
    with UnitOfWork(db) as uow:
        result = use_case(uow, *args, **kwargs)
        uow.commit()
    return result


def open_(db: Engine, decisions: Decisions, order_id: str, amount: str, *, method: str = "alipay",
          context: dict[str, Any] | None = None, user: str = "u1", key: str | None = None,
          now: datetime = T0) -> payments.Cashier:
    return run(db, payments.open_payment, decisions, order_id=order_id, user_id=user, amount=Money.of(amount),
               method=method, context=context if context is not None else CLEAN, key=key or f"open-{order_id}",
               now=now)


def paid(db: Engine, decisions: Decisions, router: Router, order_id: str, amount: str, *,
         method: str = "alipay", user: str = "u1") -> str:
    """A payment that went through: opened (clean), submitted, called back as succeeded."""
    cashier = open_(db, decisions, order_id, amount, method=method, user=user)
    assert cashier.status == "ready", cashier
    sent = run(db, payments.submit, router, cashier.payment_id, T0)
    assert sent.channel is not None
    body, signature = channel(router, sent.channel).callback(cashier.payment_id)
    result = run(db, payments.handle_callback, router, sent.channel, body, signature, T0)
    assert (result.status, result.changed) == ("succeeded", True)
    return cashier.payment_id


def view(db: Engine, order_id: str) -> payments.PaymentView:
    with UnitOfWork(db) as uow:
        found = payments.payment_of(uow, order_id)
    assert found is not None
    return found
