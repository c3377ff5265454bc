"""Asset routing (资产路由): a financed order becomes an asset taken by a funder.

`finance` asks the `asset_routing` rules which funders may take the order (by amount, term
and the user's tier), orders them by priority then price, and gives the asset to the first
that still has the capital; self-held funds (自持资金) come last whatever the rules say. When
nobody can take it, the configured policy decides: before shipment the order may be closed
(the line is restored and the payment undone here; the order module closes the order and
ships nothing), or it is shipped and the asset kept on self-held funds beyond their capital
(always so after shipment: the goods are gone). Whether orders are financed after payment or
after shipment is configuration too (`FundingPolicy.finance_at`): a call at the other stage
does nothing.

Financing writes the asset and its bills and posts the principal, the fee and any
interest-free subsidy to the ledger. Once per order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from arbiter.engine.engine import Engine
from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.columns import as_utc, utc
from arbiter.platform.credit import approval as credit_approval
from arbiter.platform.credit import books as credit_books
from arbiter.platform.credit import lines as credit_lines
from arbiter.platform.credit import quotes as credit_quotes
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.funding import bills, books, funders
from arbiter.platform.funding.models import ASSETS
from arbiter.platform.sql import insert_if_absent, write_lock

SCENE = "asset_routing"
CLIENT = "funding_service"
PAYMENT, SHIPMENT = "payment", "shipment"
CLOSE_ORDER, KEEP_SELF_HELD = "close_order", "keep_self_held"
# Outcomes of `finance`.
FINANCED, KEPT_SELF_HELD, CLOSED, SKIPPED = "financed", "kept_self_held", "close_order", "skipped"


@dataclass(frozen=True, slots=True)
class FundingPolicy:
    """When orders are financed (after `payment` or after `shipment`) and what happens when no
    funder, not even self-held funds, can take one (`close_order` or `keep_self_held`)."""

    finance_at: str = PAYMENT
    when_unfunded: str = CLOSE_ORDER

    def __post_init__(self) -> None:
        if self.finance_at not in (PAYMENT, SHIPMENT):
            raise InvalidInput(f"finance_at: {self.finance_at!r} is not payment or shipment")
        if self.when_unfunded not in (CLOSE_ORDER, KEEP_SELF_HELD):
            raise InvalidInput(f"when_unfunded: {self.when_unfunded!r} is not close_order or keep_self_held")


@dataclass(frozen=True, slots=True)
class Asset:
    order_id: str
    user_id: str
    funder: str
    first_funder: str
    principal: Money
    fee: Money
    subsidy: Money
    subsidy_by: str | None
    subsidy_payer: str | None
    term: int
    term_rate: Decimal
    stage: str
    over_capacity: bool
    status: str
    financed_at: datetime
    repurchase_price: Money | None = None
    package_id: str | None = None


@dataclass(frozen=True, slots=True)
class Financing:
    """What `finance` did. `action` is for the order module: "ship" (go on), "close_order"
    (close it before shipment; the credit side is undone already) or None (nothing now)."""

    order_id: str
    outcome: str  # financed | kept_self_held | close_order | skipped
    funder: str | None = None
    asset: Asset | None = None
    eligible: tuple[str, ...] = ()  # the funders the rules allowed, in routing order
    reason: str | None = None
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome in (FINANCED, KEPT_SELF_HELD)

    @property
    def action(self) -> str | None:
        if self.outcome == CLOSED:
            return CLOSE_ORDER
        return "ship" if self.ok else None


def asset_of(uow: UnitOfWork, order_id: str, *, lock: bool = False) -> Asset | None:
    query = select(ASSETS).where(ASSETS.c.order_id == order_id)
    row = uow.session.execute(query.with_for_update() if lock else query).first()
    return None if row is None else asset(row)


def assets(uow: UnitOfWork, *, funder: str | None = None, status: str | None = None) -> list[Asset]:
    """The assets (of one holder, in one status, when given), the latest financed first."""
    query = select(ASSETS).order_by(ASSETS.c.financed_at.desc(), ASSETS.c.order_id)
    if funder is not None:
        query = query.where(ASSETS.c.funder == funder)
    if status is not None:
        query = query.where(ASSETS.c.status == status)
    return [asset(row) for row in uow.session.execute(query)]


def eligible_funders(uow: UnitOfWork, engine: Engine, draw: credit_lines.Draw) -> tuple[list[funders.Funder], bool]:
    """The funders the rules allow for this draw, in routing order, self-held funds last;
    and whether the rules could be read (a failed decision leaves only self-held funds)."""
    tier = credit_quotes.credit_facts(uow, draw.user_id)["credit_tier"]
    decision = engine.decide(SCENE, {
        "user": {"id": draw.user_id, "credit_tier": tier},
        "order": {"amount": draw.principal, "subtotal": draw.principal, "installments": draw.plan.term},
    }, client=CLIENT, access="embedded")
    allowed = {str(e.get("funder")) for e in decision.effects if e.name == "fund_with"}
    ordered = [f for f in funders.funders(uow) if f.code in allowed and not f.self_held]
    held = funders.self_held(uow)
    return ordered + ([held] if held is not None else []), not decision.failed


def finance(uow: UnitOfWork, engine: Engine, *, order_id: str, stage: str, policy: FundingPolicy, key: str,
            now: datetime) -> Financing:
    """Finance the credit payment of `order_id` at `stage` ("payment" or "shipment"), once.
    Does not commit."""
    if stage not in (PAYMENT, SHIPMENT):
        raise InvalidInput(f"stage: {stage!r} is not payment or shipment")
    credit_lines.check_key(key)
    if stage != policy.finance_at:
        return Financing(order_id, SKIPPED, reason=f"financed_after_{policy.finance_at}")
    write_lock(uow.session.connection())
    draw = credit_lines.draw_of(uow, order_id, lock=True)  # a concurrent twin waits here
    if draw is None:
        raise NotFound(f"order {order_id} was not paid on the credit line")
    first = asset_of(uow, order_id)
    if first is not None:
        outcome = KEPT_SELF_HELD if first.over_capacity else FINANCED
        return Financing(order_id, outcome, first.funder, first, replayed=True)
    if credit_lines.restored_with(uow, f"{key}:unfunded"):
        return Financing(order_id, CLOSED, reason="no_funder", replayed=True)
    if draw.outstanding != draw.principal:
        raise Conflict(f"order {order_id} gave back its credit already: there is nothing to finance")
    candidates, _ = eligible_funders(uow, engine, draw)
    chosen = next((f for f in candidates if funders.take(uow, f.code, draw.principal, now=now)), None)
    over = False
    if chosen is None:
        held = funders.self_held(uow)
        if policy.when_unfunded == CLOSE_ORDER and stage == PAYMENT:
            credit_approval.cancel_credit_payment(uow, order_id=order_id, key=f"{key}:unfunded", now=now)
            events.emit(uow, "credit_unfunded", order_id, {"user_id": draw.user_id, "action": CLOSE_ORDER}, now)
            return Financing(order_id, CLOSED, eligible=tuple(f.code for f in candidates), reason="no_funder")
        if held is None:
            raise NotFound("no self-held funder is defined to keep the asset")
        funders.take(uow, held.code, draw.principal, now=now, beyond_capital=True)
        chosen, over = held, True
    created = _record(uow, draw, chosen, stage=stage, over=over, key=key, now=now)
    return Financing(order_id, KEPT_SELF_HELD if over else FINANCED, chosen.code, created,
                     eligible=tuple(f.code for f in candidates))


def _record(uow: UnitOfWork, draw: credit_lines.Draw, holder: funders.Funder, *, stage: str, over: bool, key: str,
            now: datetime) -> Asset:
    plan = draw.plan
    at = utc(now)
    currency = draw.principal.currency
    uow.session.execute(insert_if_absent(ASSETS, uow.engine.dialect.name, dict(
        order_id=draw.order_id, key=key, user_id=draw.user_id, funder=holder.code, first_funder=holder.code,
        currency=currency, principal=draw.principal.amount, fee=plan.fee, subsidy=plan.subsidy,
        subsidy_by=plan.subsidy_by, subsidy_payer=plan.subsidy_payer, term=plan.term, term_rate=plan.term_rate,
        price=holder.price, stage=stage, over_capacity=over, status="financed", financed_at=at, updated_at=at)))
    schedule = credit_quotes.offer_of(draw).schedule
    bills.create_bills(uow, draw.order_id, draw.user_id, schedule, now=now)
    transfers = books.disbursed(draw.order_id, holder.code, holder.self_held, draw.principal)
    transfers.append(books.fee(draw.order_id, draw.user_id, Money(plan.fee, currency)))
    if plan.subsidy:
        transfers.append(books.subsidy(draw.order_id, plan.subsidy_by, plan.subsidy_payer,
                                       Money(plan.subsidy, currency)))
    credit_books.post(uow, transfers, now, batch=f"fund:{draw.order_id}")
    events.emit(uow, "credit_financed", draw.order_id, {"user_id": draw.user_id, "funder": holder.code,
                                                        "principal": str(draw.principal.amount),
                                                        "over_capacity": over}, now)
    found = asset_of(uow, draw.order_id)
    assert found is not None
    return found


def asset(row: Any) -> Asset:
    c = row.currency
    financed_at = as_utc(row.financed_at)
    assert financed_at is not None
    return Asset(row.order_id, row.user_id, row.funder, row.first_funder, Money(row.principal, c), Money(row.fee, c),
                 Money(row.subsidy, c), row.subsidy_by, row.subsidy_payer, row.term, row.term_rate, row.stage,
                 bool(row.over_capacity), row.status, financed_at,
                 None if row.repurchase_price is None else Money(row.repurchase_price, c), row.package_id)
