"""The credit facts the rules read, and the installment trial (分期试算) with its pricing (金融定价).

`credit_facts` gives the `user.credit_*` tags of a user. `installment_quote` asks the
`installment` scene which terms this user may take for these goods and this amount, and at
what fee rate: `allow_installments(terms, fee_rate)` names the terms and a monthly rate, a
`term_rate(term, rate)` prices one term as a whole (期费率), and `interest_free(terms,
funded_by)` makes some terms free for the user. Each offered term gets its schedule by the
shop-installment method (`arbiter.engine.installments`). On an interest-free term the user's
fee is 0 and the funder of the offer (the merchant or the platform) pays the fee the term
would have charged: the `subsidy`. Nothing is written: the trial may run on every page view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from arbiter.engine import installments
from arbiter.engine.engine import Engine
from arbiter.engine.installments import Schedule
from arbiter.errors import InvalidInput
from arbiter.money import Money
from arbiter.platform.credit import applications
from arbiter.platform.credit.lines import ACTIVE, Draw, DrawPlan, line, usable_available
from arbiter.platform.db import UnitOfWork

SCENE = "installment"
NO_OFFER = "no_installment_offer"
PRICING_INVALID = "installment_pricing_invalid"
TERM_NOT_OFFERED = "term_not_offered"


def credit_facts(uow: UnitOfWork, user_id: str, *, now: datetime | None = None, scene: str | None = None,
                 categories: Sequence[str] = ()) -> dict[str, Any]:
    """The user's credit tags: credit_status, credit_limit, credit_available, credit_tier and
    overdue_days (put them under `user` in a decision's context). With `now`, the available
    amount counts a special-purpose line of `scene` or `categories` when it is larger."""
    state = line(uow, user_id)
    if state is None:
        applied = applications.latest(uow, user_id)
        status = "pending" if applied is not None and applied.status == applications.REVIEW else "none"
        zero = Money.zero()
        return {"credit_status": status, "credit_limit": zero, "credit_available": zero, "credit_tier": "D",
                "overdue_days": 0}
    if state.status != ACTIVE:
        available = Money.zero(state.limit.currency)
    elif now is not None:
        available = usable_available(uow, user_id, now, scene=scene, categories=categories)
    else:
        available = state.available
    return {"credit_status": state.status, "credit_limit": state.limit, "credit_available": available,
            "credit_tier": state.tier, "overdue_days": state.overdue_days}


@dataclass(frozen=True, slots=True)
class Offer:
    """One term the user may choose: its priced rate, the user's schedule, and on an
    interest-free term the fee its funder pays instead."""

    term: int
    term_rate: Decimal
    schedule: Schedule
    subsidy: Money
    subsidy_by: str | None = None  # merchant | platform, on an interest-free term

    @property
    def interest_free(self) -> bool:
        return self.subsidy_by is not None

    @property
    def fee(self) -> Money:
        return self.schedule.fee

    @property
    def first_payment(self) -> Money:
        return self.schedule.periods[0].total

    def plan(self, payer: str | None) -> DrawPlan:
        """The terms to store with the draw; `payer` is the shop paying a merchant-funded fee."""
        by = self.subsidy_by
        return DrawPlan(term=self.term, method=self.schedule.method, term_rate=self.term_rate,
                        fee=self.fee.amount, subsidy=self.subsidy.amount, subsidy_by=by,
                        subsidy_payer=None if by is None else "platform" if by == "platform" else payer)


@dataclass(frozen=True, slots=True)
class Quote:
    user_id: str
    amount: Money
    offers: tuple[Offer, ...] = ()
    reason: str | None = None  # why installments are not offered
    available: Money | None = None
    tier: str | None = None
    ruleset_hash: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None

    def offer(self, term: int) -> Offer | None:
        return next((o for o in self.offers if o.term == term), None)


def offer_of(draw: Draw) -> Offer:
    """The offer a stored draw was approved on."""
    plan = draw.plan
    rate = Decimal(0) if plan.subsidy_by else plan.term_rate
    schedule = installments.shop_schedule(draw.principal, plan.term, rate)
    return Offer(plan.term, plan.term_rate, schedule, Money(plan.subsidy, draw.principal.currency), plan.subsidy_by)


def context_categories(goods: Mapping[str, Any] | None, order: Mapping[str, Any] | None) -> list[str]:
    """The goods categories of a request: the goods' own and its order lines'."""
    found = []
    if goods and goods.get("category"):
        found.append(str(goods["category"]))
    for order_line in (order or {}).get("lines", ()) or ():
        category = order_line.get("category") if isinstance(order_line, Mapping) else None
        if category:
            found.append(str(category))
    return found


def installment_quote(uow: UnitOfWork, engine: Engine, *, user_id: str, amount: Money, now: datetime,
                      goods: Mapping[str, Any] | None = None, order: Mapping[str, Any] | None = None,
                      user: Mapping[str, Any] | None = None, scene: str | None = None,
                      client: str = "credit_service") -> Quote:
    """The terms, rates and schedules offered to `user_id` for `amount`. `goods` and `order`
    are their tags (for the product page and the checkout); `user` adds tags the caller
    knows; `scene` names the purchase scene a special-purpose line may be for. Reads only."""
    if not isinstance(amount, Money) or amount.amount <= 0:
        raise InvalidInput(f"amount: {amount!r} must be Money above zero")
    facts = credit_facts(uow, user_id, now=now, scene=scene, categories=context_categories(goods, order))
    context: dict[str, Any] = {
        "user": {**dict(user or {}), **facts, "id": user_id},
        "order": {"subtotal": amount, **dict(order or {}), "amount": amount},
    }
    if goods is not None:
        context["goods"] = dict(goods)
    decision = engine.decide(SCENE, context, client=client, access="embedded")
    base = dict(user_id=user_id, amount=amount, available=facts["credit_available"], tier=facts["credit_tier"],
                ruleset_hash=decision.ruleset_hash)
    rejected = next((e for e in decision.effects if e.name == "reject"), None)
    if rejected is not None:
        return Quote(**base, reason=str(rejected.get("reason")))
    allowed = next((e for e in decision.effects if e.name == "allow_installments"), None)
    if allowed is None:
        return Quote(**base, reason=NO_OFFER)
    try:
        offers = _offers(amount, decision.effects, allowed.get("terms"), allowed.get("fee_rate"))
    except InvalidInput:
        # a rule priced a term outside what a schedule accepts: refuse rather than guess
        return Quote(**base, reason=PRICING_INVALID)
    return Quote(**base, offers=offers) if offers else Quote(**base, reason=NO_OFFER)


def _offers(amount: Money, effects: Sequence[Any], terms: Sequence[int], fee_rate: Decimal) -> tuple[Offer, ...]:
    priced: dict[int, Decimal] = {}
    free: dict[int, str] = {}
    for effect in effects:
        if effect.name == "term_rate":
            priced.setdefault(int(effect.get("term")), Decimal(effect.get("rate")))
        elif effect.name == "interest_free":
            for term in effect.get("terms"):
                free.setdefault(int(term), str(effect.get("funded_by")))  # the first offer wins
    offers = []
    for term in sorted(set(terms)):
        rate = priced.get(term, fee_rate * term)
        full = installments.shop_schedule(amount, term, rate)
        if term in free:
            plan = installments.shop_schedule(amount, term, Decimal(0))
            offers.append(Offer(term, rate, plan, full.fee, free[term]))
        else:
            offers.append(Offer(term, rate, full, Money.zero(amount.currency)))
    return tuple(offers)
