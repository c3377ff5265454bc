"""Asset routing: the rules' eligible funders in priority order, capacity taken atomically,
self-held funds last, and the fallback policy when every funder refuses."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine as Database

from arbiter.errors import Conflict
from arbiter.platform.credit import lines
from arbiter.platform.db import UnitOfWork
from arbiter.platform.funding import bills, funders, routing
from arbiter.platform.ledger import accounts
from tests.platform.credit.support import T0, with_line

from .support import balance, books_balance, cny, define, finance, pay, refund

PHONE = {"lines": [{"sku": "SKU-PHONE-X1-128", "category": "phone", "quantity": 1, "price": "2999",
                    "is_virtual": False}], "shop": "shop-1"}
NOBODY = {"trust_a": "0", "bank_b": "0", "factor_c": "0", "self_held": "0"}


def outstanding(db: Database) -> dict[str, str]:
    with UnitOfWork(db) as uow:
        return {f.code: str(f.outstanding.amount) for f in funders.funders(uow)}


def test_the_first_eligible_funder_with_capacity_takes_the_asset(db: Database) -> None:
    define(db, {"trust_a": "4000.00"})
    for user, tier in (("u1", "B"), ("u2", "B"), ("u3", "C")):
        with_line(db, user, "8000.00", tier)
    pay(db, "u1", "o1", "3000.00", 3)
    pay(db, "u2", "o2", "3000.00", 3)
    pay(db, "u3", "o3", "3000.00", 6)
    assert finance(db, "o1").funder == "trust_a"
    assert finance(db, "o2").funder == "bank_b"  # 1000.00 left at the trust: not enough
    third = finance(db, "o3")  # tier C is not for the trust
    assert (third.funder, third.eligible) == ("bank_b", ("bank_b", "factor_c", "self_held"))
    assert outstanding(db) == {"trust_a": "3000.00", "bank_b": "6000.00", "factor_c": "0.00", "self_held": "0.00"}
    assert books_balance(db)


def test_when_every_funder_refuses_before_shipment_the_order_is_closed(db: Database) -> None:
    define(db, NOBODY)
    with_line(db, "u1", "5000.00", "B")
    pay(db, "u1", "o1", "3000.00", 3)
    closed = finance(db, "o1")
    assert (closed.outcome, closed.action, closed.reason, closed.ok) == ("close_order", "close_order", "no_funder", False)
    assert finance(db, "o1").replayed
    with UnitOfWork(db) as uow:
        assert lines.usable_available(uow, "u1", T0) == cny("5000.00")
        assert routing.asset_of(uow, "o1") is None
    assert balance(db, accounts.credit_receivable("u1")) == cny("0")
    assert books_balance(db)


@pytest.mark.parametrize(("policy", "stage"), [
    (routing.FundingPolicy("payment", "keep_self_held"), "payment"),
    (routing.FundingPolicy("shipment", "close_order"), "shipment"),  # shipped already: it cannot be closed
])
def test_or_it_ships_and_the_platform_keeps_it(db: Database, policy: routing.FundingPolicy, stage: str) -> None:
    define(db, NOBODY)
    with_line(db, "u1", "5000.00", "B")
    pay(db, "u1", "o1", "3000.00", 3)
    other = "shipment" if stage == "payment" else "payment"
    assert finance(db, "o1", policy, other).outcome == "skipped"  # not the configured stage
    kept = finance(db, "o1", policy, stage)
    assert (kept.outcome, kept.funder, kept.action) == ("kept_self_held", "self_held", "ship")
    assert kept.asset is not None and kept.asset.over_capacity and kept.asset.stage == stage
    assert outstanding(db)["self_held"] == "3000.00"
    assert balance(db, accounts.SELF_HELD_FUNDS) == cny("3000.00")
    with UnitOfWork(db) as uow:
        assert len(bills.bills_of(uow, "o1")) == 3
    refunded = refund(db, "o1")
    assert (refunded.overpayment, refunded.repurchase, refunded.funder) == (cny("0"), cny("3000.00"), "self_held")
    assert balance(db, accounts.SELF_HELD_FUNDS) == cny("0")
    assert books_balance(db)


def test_a_paused_funder_takes_nothing(db: Database) -> None:
    define(db)
    with UnitOfWork(db) as uow:
        funders.define_funder(uow, code="trust_a", name="trust A", kind=funders.TRUST, capital=cny("1000000.00"),
                              priority=30, status=funders.PAUSED, now=T0)
    with_line(db, "u1", "5000.00", "B")
    pay(db, "u1", "o1", "3000.00", 3)
    assert finance(db, "o1").funder == "bank_b"
    with UnitOfWork(db) as uow, pytest.raises(Conflict):
        funders.define_funder(uow, code="own2", name="own", kind=funders.SELF_HELD, capital=cny("1.00"), now=T0)


def test_interest_free_fees_are_paid_by_the_platform_or_the_shop(db: Database) -> None:
    define(db)
    with_line(db, "u1", "8000.00", "B")
    paid = pay(db, "u1", "o1", "2999.00", 3, order=PHONE)
    assert paid.offer is not None and (paid.offer.subsidy, paid.offer.subsidy_by) == (cny("68.98"), "platform")
    finance(db, "o1")
    assert balance(db, accounts.SUBSIDY_EXPENSE) == cny("68.98")
    assert balance(db, accounts.FEE_REVENUE) == cny("68.98")
    assert balance(db, accounts.credit_receivable("u1")) == cny("2999.00")  # the user owes no fee
    with_line(db, "u2", "20000.00", "A")
    pay(db, "u2", "o2", "1599.00", 6, goods={"sku": "SKU-SOFA-3", "tags": ["shop_interest_free"]},
        order={"shop": "shop-9"})
    finance(db, "o2")
    assert balance(db, accounts.merchant_account("shop-9", "available")) == cny("-47.97")
    refund(db, "o2")
    assert balance(db, accounts.merchant_account("shop-9", "available")) == cny("0")
    assert books_balance(db)
