"""Helpers of the funding tests: the demo funders, a paid credit order, and the ledger's view."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.engine import Engine as Database

from arbiter.money import Money
from arbiter.platform.credit import approval, lines
from arbiter.platform.db import UnitOfWork
from arbiter.platform.funding import funders, refunds, repayment, routing
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from tests.platform.credit.support import T0, context, engine
from tests.platform.credit.support import cny as cny

AFTER_PAYMENT = routing.FundingPolicy("payment", "close_order")

# (code, kind, capital, priority, annual price) — the funders the asset_routing rules name.
DEMO = [
    ("trust_a", funders.TRUST, "1000000.00", 30, "0.06"),
    ("bank_b", funders.DIRECT_LENDING, "1000000.00", 20, "0.05"),
    ("factor_c", funders.FACTORING, "1000000.00", 10, "0.08"),
    ("self_held", funders.SELF_HELD, "100000.00", 0, "0"),
]


def define(db: Database, capital: dict[str, str] | None = None, at: datetime = T0) -> None:
    for code, kind, amount, priority, price in DEMO:
        with UnitOfWork(db) as uow:
            funders.define_funder(uow, code=code, name=code, kind=kind, capital=cny((capital or {}).get(code, amount)),
                                  priority=priority, price=Decimal(price), now=at)


def pay(db: Database, user: str, order_id: str, amount: str, term: int = 3, at: datetime = T0,
        **ctx: dict[str, object]) -> approval.CreditPayment:
    with UnitOfWork(db) as uow:
        paid = approval.approve_and_deduct(uow, engine(at), user_id=user, order_id=order_id, amount=cny(amount),
                                           term=term, context=context(**ctx), key=f"pay-{order_id}", now=at)
        uow.commit()
    assert paid.ok, paid.reason
    return paid


def refuse(db: Database, user: str, order_id: str, amount: str, term: int = 3, at: datetime = T0
           ) -> approval.CreditPayment:
    """A credit payment the engine is expected to turn down: nothing is drawn."""
    with UnitOfWork(db) as uow:
        refused = approval.approve_and_deduct(uow, engine(at), user_id=user, order_id=order_id, amount=cny(amount),
                                              term=term, context=context(), key=f"pay-{order_id}", now=at)
        uow.commit()
    assert not refused.ok
    with UnitOfWork(db) as uow:
        assert lines.draw_of(uow, order_id) is None
    return refused


def finance(db: Database, order: str, policy: routing.FundingPolicy = AFTER_PAYMENT, stage: str = "payment",
            at: datetime = T0) -> routing.Financing:
    with UnitOfWork(db) as uow:
        done = routing.finance(uow, engine(at), order_id=order, stage=stage, policy=policy, key=f"fund-{order}",
                               now=at)
        uow.commit()
        return done


def repay(db: Database, order: str, amount: str, key: str, at: datetime = T0, payoff: bool = False
          ) -> repayment.Repayment:
    with UnitOfWork(db) as uow:
        done = repayment.repay(uow, order_id=order, amount=cny(amount), key=key, now=at, payoff=payoff)
        uow.commit()
        return done


def refund(db: Database, order: str, at: datetime = T0) -> refunds.Refund:
    with UnitOfWork(db) as uow:
        done = refunds.refund_financed_order(uow, order_id=order, key=f"refund-{order}", now=at)
        uow.commit()
        return done


def balance(db: Database, code: str) -> Money:
    with UnitOfWork(db) as uow:
        found = ledger.account(uow, code)
        return Money.zero() if found is None else found.balance


def books_balance(db: Database) -> bool:
    """The trial balance holds and each funder's capital account equals its outstanding."""
    with UnitOfWork(db) as uow:
        if not ledger.trial_balance(uow).balanced:
            return False
        for funder in funders.funders(uow):
            found = ledger.account(uow, accounts.funder_capital(funder.code))
            held = Money.zero() if found is None else found.balance
            if held != funder.outstanding:
                return False
        return True
