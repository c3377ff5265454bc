"""Credit routes (授信, 分期试算): the installment trial `POST /v1/installments/quote` and a
user's credit application and line, for the storefront and the credit service (role
`service`); the review decision on an application held for a person (role `operator`).

The trial reads only: which terms (3 / 6 / 12) the `installment` scene offers this user for
this amount, each with its rate, fee, APR and schedule to the cent. An application is decided
once per `key` by the `credit_apply` scene; the same key again returns the first decision.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ConfigDict, Field

from arbiter.api.auth import requires
from arbiter.api.dependencies import PrincipalDep
from arbiter.api.errors import problem_responses
from arbiter.api.flows import MoneyIn, MoneyOut, PlatformDep, not_found
from arbiter.money import Money
from arbiter.platform.credit import service as credit
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys.models import ANALYST, OPERATOR, SERVICE

CODE = r"^[\x21-\x7e]+$"
UserId = Annotated[str, Path(min_length=1, max_length=200, pattern=CODE)]
ApplicationKey = Annotated[str, Path(min_length=1, max_length=200, pattern=CODE)]

QUOTE_EXAMPLES: dict[str, Any] = {
    "phone": {"summary": "A 3000.00 tablet for a user with a line",
              "value": {"user_id": "u-1001", "amount": {"amount": "3000.00", "currency": "CNY"},
                        "goods": {"category": "tablet"}}},
}
APPLY_EXAMPLES: dict[str, Any] = {
    "new": {"summary": "A new customer applies", "value": {
        "user_id": "u-1001", "key": "apply-u-1001",
        "facts": {"age": 28, "phone_verified": True, "monthly_income": {"amount": "6000.00", "currency": "CNY"},
                  "registered_days": 0, "orders_30d": 0, "level": 0}}},
}
REVIEW_EXAMPLES: dict[str, Any] = {
    "approve": {"summary": "Grant 5000.00 in tier B",
                "value": {"approve": True, "limit": {"amount": "5000.00", "currency": "CNY"}, "tier": "B"}},
    "reject": {"summary": "Refuse, saying why", "value": {"approve": False, "reason": "income_not_proven"}},
}


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=200, pattern=CODE)
    amount: MoneyIn = Field(description="What would be paid in installments (above zero).")
    goods: dict[str, str | int | bool] | None = Field(
        default=None, max_length=20, description="The goods' tags (category, ...), for the product page.")
    scene: str | None = Field(default=None, min_length=1, max_length=64, pattern=CODE,
                              description="The purchase scene a special-purpose line may be for.")


class PeriodOut(BaseModel):
    number: int
    principal: MoneyOut
    fee: MoneyOut
    total: MoneyOut


class OfferOut(BaseModel):
    term: int = Field(description="Periods (期数).")
    term_rate: str = Field(description="The fee over the whole term, a fraction of the principal: 0.023.")
    fee: MoneyOut
    first_payment: MoneyOut
    apr: str = Field(description="The schedule's annual percentage rate, a fraction: 0.137478.")
    interest_free: bool = Field(description="免息: the fee is paid by `subsidy_by` instead.")
    subsidy: MoneyOut
    subsidy_by: str | None
    periods: list[PeriodOut]


class QuoteOut(BaseModel):
    user_id: str
    amount: MoneyOut
    ok: bool
    reason: str | None = Field(description="Why installments are not offered, when they are not.")
    available: MoneyOut | None
    tier: str | None
    offers: list[OfferOut]


class FactsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    age: int | None = Field(default=None, ge=0, le=150)
    phone_verified: bool | None = None
    monthly_income: MoneyIn | None = None
    registered_days: int | None = Field(default=None, ge=0)
    orders_30d: int | None = Field(default=None, ge=0)
    level: int | None = Field(default=None, ge=0, le=100)
    is_new_device: bool | None = None
    risk_score: int | None = Field(default=None, ge=0, le=100, description="The risk model's score, 0-100.")

    def tags(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is not None:
                values[name] = value.money() if isinstance(value, MoneyIn) else value
        return values


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=200, pattern=CODE)
    key: str = Field(min_length=1, max_length=200, pattern=CODE, description="Decided once per key.")
    facts: FactsIn = Field(description="What the applicant submits: the `user` tags the scorecard reads.")


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    limit: MoneyIn | None = Field(default=None, description="The line granted, when approving.")
    tier: str | None = Field(default=None, pattern=r"^[A-D]$", description="The risk tier, when approving.")
    reason: str | None = Field(default=None, min_length=1, max_length=200)


class ApplicationOut(BaseModel):
    key: str
    user_id: str
    status: str = Field(description="approved, review or rejected.")
    limit: MoneyOut | None
    tier: str | None
    reason: str | None
    score: int | None


class LineOut(BaseModel):
    user_id: str
    status: str = Field(description="active, frozen or closed.")
    limit: MoneyOut
    used: MoneyOut
    available: MoneyOut = Field(description="What a purchase may draw now.")
    tier: str
    overdue_days: int


def _money(value: Money | None) -> MoneyOut | None:
    return None if value is None else MoneyOut.of(value)


def quote_out(quote: credit.Quote) -> QuoteOut:
    return QuoteOut(
        user_id=quote.user_id, amount=MoneyOut.of(quote.amount), ok=quote.ok, reason=quote.reason,
        available=_money(quote.available), tier=quote.tier,
        offers=[OfferOut(
            term=o.term, term_rate=format(o.term_rate.normalize(), "f"), fee=MoneyOut.of(o.fee), first_payment=MoneyOut.of(o.first_payment),
            apr=str(o.schedule.apr), interest_free=o.interest_free, subsidy=MoneyOut.of(o.subsidy),
            subsidy_by=o.subsidy_by,
            periods=[PeriodOut(number=p.number, principal=MoneyOut.of(p.principal), fee=MoneyOut.of(p.fee),
                               total=MoneyOut.of(p.total)) for p in o.schedule.periods],
        ) for o in quote.offers])


def application_out(applied: credit.Application) -> ApplicationOut:
    return ApplicationOut(key=applied.key, user_id=applied.user_id, status=applied.status,
                          limit=_money(applied.limit), tier=applied.tier, reason=applied.reason,
                          score=applied.score)


def router() -> APIRouter:
    api = APIRouter(tags=["credit"])
    moves = problem_responses(401, 403, 404, 409, 413, 422, 429, 500, 503)
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)

    @api.post("/installments/quote", summary="The installment trial (分期试算)", dependencies=[requires(SERVICE)],
              responses=reads)
    def quote(body: Annotated[QuoteIn, Body(openapi_examples=QUOTE_EXAMPLES)], platform: PlatformDep) -> QuoteOut:
        """The terms this user may take for this amount, each priced by the user's risk tier,
        with its schedule to the cent (the periods sum exactly to principal + fee) and APR.
        Not offered: `ok` false and the reason. Reads only."""
        with UnitOfWork(platform.db) as uow:
            found = credit.installment_quote(uow, platform.decisions, user_id=body.user_id,
                                             amount=body.amount.money(), now=platform.clock.now(),
                                             goods=body.goods, scene=body.scene)
        return quote_out(found)

    @api.post("/credit/applications", summary="Apply for a credit line (授信申请)", dependencies=[requires(SERVICE)],
              responses=moves)
    def apply(body: Annotated[ApplyIn, Body(openapi_examples=APPLY_EXAMPLES)],
              platform: PlatformDep) -> ApplicationOut:
        """The `credit_apply` scene approves (the line opens), rejects, or holds the
        application for a person (`review`). Once per key."""
        with UnitOfWork(platform.db) as uow:
            applied = credit.apply(uow, platform.decisions, user_id=body.user_id, facts=body.facts.tags(),
                                   key=body.key, now=platform.clock.now())
        return application_out(applied)

    @api.post("/credit/applications/{key}/review", summary="Decide an application held for review",
              dependencies=[requires(OPERATOR)], responses=moves)
    def review(key: ApplicationKey, body: Annotated[ReviewIn, Body(openapi_examples=REVIEW_EXAMPLES)],
               principal: PrincipalDep, platform: PlatformDep) -> ApplicationOut:
        """Approve with a limit and a tier, or reject with a reason; the deciding key is
        recorded. Deciding it again the same way changes nothing."""
        with UnitOfWork(platform.db) as uow:
            decided = credit.decide_review(uow, key=key, approve=body.approve, by=principal.key_id,
                                           now=platform.clock.now(),
                                           limit=None if body.limit is None else body.limit.money(),
                                           tier=body.tier, reason=body.reason)
        return application_out(decided)

    @api.get("/credit/lines/{user_id}", summary="A user's credit line", dependencies=[
        requires(SERVICE, OPERATOR, ANALYST)], responses=reads)
    def line(user_id: UserId, platform: PlatformDep) -> LineOut:
        """Limit, used, what a purchase may draw now, tier and days overdue."""
        now = platform.clock.now()
        with UnitOfWork(platform.db) as uow:
            state = credit.line(uow, user_id)
            if state is None:
                raise not_found(f"credit line of {user_id}")
            available = credit.usable_available(uow, user_id, now)
        return LineOut(user_id=user_id, status=state.status, limit=MoneyOut.of(state.limit),
                       used=MoneyOut.of(state.used), available=MoneyOut.of(available), tier=state.tier,
                       overdue_days=state.overdue_days)

    return api
