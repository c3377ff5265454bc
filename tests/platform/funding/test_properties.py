"""The ledger balances through any run of credit payments, financing, repayments (partial,
full, early payoff), overdue penalties, refunds and repurchases: debits equal credits, each
funder's capital account equals its outstanding principal, each user's receivable equals what
their bills still owe, and each line's used amount equals the principal its orders still hold."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine as Database

from arbiter.money import CENT, Money
from arbiter.platform.credit import lines
from arbiter.platform.db import UnitOfWork, create_schema, make_engine
from arbiter.platform.funding import bills, repayment, routing
from arbiter.platform.ledger import accounts
from tests.platform.credit.support import T0, with_line

from .support import balance, books_balance, define, finance, pay, refund, refuse, repay

USERS = ("u1", "u2")
POLICIES = [routing.FundingPolicy("payment", "close_order"), routing.FundingPolicy("payment", "keep_self_held")]


@st.composite
def stories(draw: st.DrawFn) -> list[tuple[str, int, int, int]]:
    """Two or three orders, each paid, financed and then repaid, made late or refunded,
    their steps interleaved at random: (action, order, percent, term)."""
    steps: list[list[tuple[str, int, int, int]]] = []
    for order in range(draw(st.integers(1, 3))):
        term = draw(st.sampled_from([3, 6]))
        story = [("pay", order, draw(st.integers(20, 85)), term), ("finance", order, 0, term)]
        for action in draw(st.lists(st.sampled_from(["repay", "repay", "payoff", "late", "refund"]), max_size=5)):
            story.append((action, order, draw(st.integers(1, 100)), term))
        steps.append(story)
    merged = []
    while any(steps):
        story = draw(st.sampled_from([s for s in steps if s]))
        merged.append(story.pop(0))
    return merged


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stories(), st.sampled_from(POLICIES),
       st.sampled_from(["0", "2500.00", "1000000.00"]))
def test_the_books_balance_whatever_happens(steps: list[tuple[str, int, int, int]], policy: routing.FundingPolicy,
                                            trust_capital: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = make_engine(f"sqlite:///{Path(folder) / 'arbiter.db'}")
        try:
            create_schema(db)
            run(db, steps, policy, trust_capital)
        finally:
            db.dispose()


def run(db: Database, steps: list[tuple[str, int, int, int]], policy: routing.FundingPolicy, trust: str) -> None:
    define(db, {"trust_a": trust, "bank_b": "0", "factor_c": "3000.00", "self_held": "4000.00"})
    for user in USERS:
        with_line(db, user, "5000.00", "B")
    at = T0
    paid: dict[str, str] = {}  # order -> user
    for n, (action, index, percent, term) in enumerate(steps):
        order = f"o{index}"
        user = USERS[index % 2]
        with UnitOfWork(db) as uow:
            drawn = lines.draw_of(uow, order)
            held = routing.asset_of(uow, order)
            open_bills = [b for b in bills.bills_of(uow, order) if b.stored_status == bills.OPEN]
            available = lines.usable_available(uow, user, at).amount
            state = lines.line(uow, user)
            standing = state is not None and state.status == lines.ACTIVE and state.overdue_days == 0
        if action == "pay" and drawn is None:
            # within what tier B offers and below the 90% of the line that asks for an SMS code
            amount = (available * percent / 100).quantize(CENT, rounding=ROUND_DOWN)
            if amount >= 100 and standing:
                pay(db, user, order, str(amount), term, at=at)
                event("pay")
                paid[order] = user
            elif amount >= 100:
                # a line with a bill overdue carries no new purchase
                refused = refuse(db, user, order, str(amount), term, at=at)
                assert refused.reason == "credit_line_not_usable"
                event("refused overdue")
        elif action == "finance" and drawn is not None and held is None and drawn.outstanding == drawn.principal:
            event(finance(db, order, policy, at=at).outcome)
        elif action in ("repay", "payoff") and held is not None and held.status == "financed" and open_bills:
            if action == "payoff":
                with UnitOfWork(db) as uow:
                    amount_due = repayment.payoff_quote(uow, order, now=at)
                assert repay(db, order, str(amount_due.amount), f"r{n}", at=at, payoff=True).ok
                event("payoff")
            else:
                with UnitOfWork(db) as uow:
                    owed = repayment.owed(open_bills, at)
                amount = max((owed.amount * percent / 100).quantize(CENT, rounding=ROUND_DOWN), CENT)
                assert repay(db, order, str(amount), f"r{n}", at=at).ok
                event("repay")
        elif action == "refund" and drawn is not None and (held is None or held.status in ("financed", "repaid")):
            if drawn.outstanding.amount or held is not None:
                event("refund financed" if refund(db, order, at=at).financed else "refund unfinanced")
        elif action == "late":
            at += timedelta(days=percent % 45)
            with UnitOfWork(db) as uow:
                bills.assess_overdue(uow, now=at)
                uow.commit()
        check(db, paid)


def check(db: Database, paid: dict[str, str]) -> None:
    assert books_balance(db)
    zero = Money.zero()
    for user in USERS:
        owed, held = zero, zero
        with UnitOfWork(db) as uow:
            for order, owner in paid.items():
                if owner != user:
                    continue
                drawn = lines.draw_of(uow, order)
                asset = routing.asset_of(uow, order)
                if drawn is None:
                    continue
                held += drawn.outstanding
                if asset is None:
                    owed += drawn.outstanding  # paid, not financed: the principal only
                else:
                    owed += sum((b.owed for b in bills.bills_of(uow, order) if b.stored_status == bills.OPEN), zero)
            line = lines.line(uow, user)
        assert line is not None and line.used == held and Decimal(0) <= line.used.amount <= line.limit.amount
        assert balance(db, accounts.credit_receivable(user)) == owed
