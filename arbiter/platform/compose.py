"""Wiring a `Platform` on the embedded defaults: budgets in the database, the simulated
payment channels, verifier and top-up supplier, and the credit line as the channel of the
"credit" method (the platform never talks to a real bank or carrier in the demo or the
tests). A deployment passes its own adapters instead."""

from __future__ import annotations

from sqlalchemy.engine import Engine as Database

from arbiter.clock import Clock
from arbiter.dsl.compiler import Ruleset
from arbiter.engine.engine import Engine
from arbiter.platform.orders import credit_payment
from arbiter.platform.payments.channels import simulated_router
from arbiter.platform.payments.verification import SimulatedVerifier
from arbiter.platform.promotions.budgets import BudgetStore, SqlBudgets
from arbiter.platform.runtime import Platform
from arbiter.platform.suppliers.realtime import SimulatedTopUp


def simulated_platform(db: Database, ruleset: Ruleset, clock: Clock, *, engine: Engine | None = None,
                       budgets: BudgetStore | None = None, secret: bytes = b"simulated-channel-secret",
                       version: int | None = 1) -> Platform:
    router = simulated_router(secret)
    credit_payment.register(router)
    return Platform(
        db=db,
        decisions=engine if engine is not None else Engine(ruleset, clock, version=version),
        budgets=budgets if budgets is not None else SqlBudgets(db, clock),
        clock=clock,
        router=router,
        verifier=SimulatedVerifier(),
        topup=SimulatedTopUp(),
    )
