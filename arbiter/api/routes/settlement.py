"""Settlement routes (清结算) for role `operator` (`analyst` reads): the commission rates
(扣点) per category and per SKU, a shop's settlement terms, consuming the order and
after-sales event stream, running a shop's cycle (its statement; the net is instructed to the
clearing institution), and reading statements and balances.

Running a cycle moves money: it takes an `Idempotency-Key`, and is once a day per shop in
the use case itself (again the same day returns the statement made). What a merchant sees of
its own money is under `/v1/shops/{shop}` (arbiter.api.routes.merchants), answered with the
statement, balances and withdrawal views defined here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from arbiter.api.auth import requires
from arbiter.api.dependencies import ServicesDep
from arbiter.api.errors import problem_responses
from arbiter.api.flows import MoneyOut, PlatformDep
from arbiter.api.idempotency import IdempotencyDep
from arbiter.money import CENT
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys.models import ANALYST, OPERATOR
from arbiter.platform.settlement import service as settlement

Code = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.\-@:*]+$")]
RATE = r"^0(\.\d{1,4})?$"

RATE_EXAMPLES: dict[str, Any] = {"five": {"summary": "5% on dresses", "value": {"rate": "0.05"}}}
SHOP_EXAMPLES: dict[str, Any] = {"enterprise": {"summary": "T+3, a negative balance netted next cycles",
                                                "value": {"cycle_days": 3, "policy": "net_next_cycle"}}}
CONSUME_EXAMPLES: dict[str, Any] = {"default": {"summary": "Up to 500 events", "value": {}}}
SETTLE_EXAMPLES: dict[str, Any] = {"today": {"summary": "Today's cycle", "value": {}}}


class RateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: str = Field(pattern=RATE, description="A fraction below 1, as a string: 0.05 is 5%.")


class RateOut(BaseModel):
    category: str | None
    sku: str | None
    rate: str


class TermsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cycle_days: int = Field(ge=0, le=90, description="Settled T+N days after an order completes.")
    policy: Literal["net_next_cycle", "from_deposit"]
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")


class TermsOut(BaseModel):
    shop: str
    cycle_days: int
    policy: str
    currency: str


class ConsumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    batch: int = Field(default=500, ge=1, le=10_000)


class ConsumeOut(BaseModel):
    applied: int = Field(description="Events applied by this call.")


class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BalancesOut(BaseModel):
    pending: MoneyOut = Field(description="待结算: completed orders not due yet.")
    available: MoneyOut = Field(description="可提现: negative after a claw-back.")
    deposit: MoneyOut = Field(description="保证金.")
    withdrawn: MoneyOut = Field(description="提现中: asked for, not yet paid.")


class EntryOut(BaseModel):
    id: str
    kind: str
    order_id: str | None
    line_id: str | None
    sku: str | None
    units: int
    base: str
    commission: str
    subsidy: str
    net: str
    note: str


class StatementOut(BaseModel):
    id: str
    shop: str
    cycle: str
    opening: MoneyOut
    goods: MoneyOut
    commission: MoneyOut
    subsidy: MoneyOut
    refunds: MoneyOut
    deposit: MoneyOut
    withdrawals: MoneyOut
    adjustments: MoneyOut
    net: MoneyOut
    closing: MoneyOut
    draft: bool
    entries: list[EntryOut]


class WithdrawalOut(BaseModel):
    shop: str
    amount: MoneyOut
    status: str | None = Field(description="paid or refused; null when nothing was asked.")
    reason: str | None
    reference: str | None
    replayed: bool


def balances_out(b: settlement.Balances) -> BalancesOut:
    return BalancesOut(pending=MoneyOut.of(b.pending), available=MoneyOut.of(b.available),
                       deposit=MoneyOut.of(b.deposit), withdrawn=MoneyOut.of(b.withdrawn))


def statement_out(s: settlement.Statement) -> StatementOut:
    def amount(value: Decimal) -> str:
        return str(value.quantize(CENT))

    return StatementOut(
        id=s.id, shop=s.shop, cycle=s.cycle, opening=MoneyOut.of(s.opening), goods=MoneyOut.of(s.goods),
        commission=MoneyOut.of(s.commission), subsidy=MoneyOut.of(s.subsidy), refunds=MoneyOut.of(s.refunds),
        deposit=MoneyOut.of(s.deposit), withdrawals=MoneyOut.of(s.withdrawals),
        adjustments=MoneyOut.of(s.adjustments), net=MoneyOut.of(s.net), closing=MoneyOut.of(s.closing),
        draft=s.draft, entries=[EntryOut(id=e.id, kind=e.kind, order_id=e.order_id, line_id=e.line_id, sku=e.sku,
                                         units=e.units, base=amount(e.base), commission=amount(e.commission),
                                         subsidy=amount(e.subsidy), net=amount(e.net), note=e.note)
                                for e in s.entries])


def withdrawal_out(w: settlement.WithdrawalResult) -> WithdrawalOut:
    return WithdrawalOut(shop=w.shop, amount=MoneyOut.of(w.amount), status=w.status, reason=w.reason,
                         reference=w.reference, replayed=w.replayed)


def terms_out(t: settlement.ShopTerms) -> TermsOut:
    return TermsOut(shop=t.shop, cycle_days=t.cycle_days, policy=t.policy, currency=t.currency)


def router() -> APIRouter:  # noqa: C901 - one route per function below
    api = APIRouter(prefix="/settlement", tags=["settlement"])
    moves = problem_responses(401, 403, 404, 409, 413, 422, 429, 500, 503)
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)

    @api.put("/rates/categories/{category}", summary="Set a category's commission rate (`*`: the default)",
             dependencies=[requires(OPERATOR)], responses=moves)
    def set_category_rate(category: Code, body: Annotated[RateIn, Body(openapi_examples=RATE_EXAMPLES)],
                          platform: PlatformDep) -> RateOut:
        """Read when an order is paid and kept on its lines: orders paid before keep theirs."""
        with UnitOfWork(platform.db) as uow:
            settlement.set_rate(uow, category=category, rate=Decimal(body.rate), now=platform.clock.now())
            uow.commit()
        return RateOut(category=category, sku=None, rate=body.rate)

    @api.put("/rates/skus/{sku}", summary="Set one SKU's commission rate, over its category's",
             dependencies=[requires(OPERATOR)], responses=moves)
    def set_sku_rate(sku: Code, body: Annotated[RateIn, Body(openapi_examples=RATE_EXAMPLES)],
                     platform: PlatformDep) -> RateOut:
        with UnitOfWork(platform.db) as uow:
            settlement.set_rate(uow, sku=sku, rate=Decimal(body.rate), now=platform.clock.now())
            uow.commit()
        return RateOut(category=None, sku=sku, rate=body.rate)

    @api.get("/rates", summary="The rate a SKU of a category is charged", dependencies=[requires(OPERATOR, ANALYST)],
             responses=reads)
    def rate(platform: PlatformDep, category: Annotated[str, Query(min_length=1, max_length=200)],
             sku: Annotated[str, Query(min_length=1, max_length=200)]) -> RateOut:
        """The SKU's override, else its category's rate, else the default; 0 when none is set."""
        with UnitOfWork(platform.db) as uow:
            found = settlement.rate_for(uow, category, sku)
        return RateOut(category=category, sku=sku, rate=str(found))

    @api.put("/shops/{shop}", summary="Settle a shop on these terms", dependencies=[requires(OPERATOR)],
             responses=moves)
    def configure_shop(shop: Code, body: Annotated[TermsIn, Body(openapi_examples=SHOP_EXAMPLES)],
                       platform: PlatformDep) -> TermsOut:
        """New terms count for the orders completed from now on (onboarding sets them first,
        by the merchant's type)."""
        with UnitOfWork(platform.db) as uow:
            terms = settlement.configure_shop(uow, shop, cycle_days=body.cycle_days, policy=body.policy,
                                              currency=body.currency, now=platform.clock.now())
            uow.commit()
        return terms_out(terms)

    @api.get("/shops/{shop}", summary="A shop's settlement terms", dependencies=[requires(OPERATOR, ANALYST)],
             responses=reads)
    def shop_terms(shop: Code, platform: PlatformDep) -> TermsOut:
        with UnitOfWork(platform.db) as uow:
            return terms_out(settlement.shop_terms(uow, shop))

    @api.post("/consume", summary="Apply the order and after-sales events not applied yet",
              dependencies=[requires(OPERATOR)], responses=moves)
    def consume(body: Annotated[ConsumeIn, Body(openapi_examples=CONSUME_EXAMPLES)],
                platform: PlatformDep) -> ConsumeOut:
        """Each event is applied once (paid lines, completions, refunds), whoever calls."""
        with UnitOfWork(platform.db) as uow:
            return ConsumeOut(applied=settlement.consume(uow, batch=body.batch))

    @api.post("/shops/{shop}/settle", summary="Run the shop's cycle for today (货款结算)",
              dependencies=[requires(OPERATOR)], responses=moves)
    def settle(shop: Code, body: Annotated[SettleIn, Body(openapi_examples=SETTLE_EXAMPLES)],
               services: ServicesDep, platform: PlatformDep, once: IdempotencyDep) -> Response:
        """Lines due move from pending to available and the statement is written; the
        clearing institution is told the net. Once a day: again returns the statement made; a
        day with nothing to state answers a draft and stores nothing."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                made = settlement.settle(uow, shop, platform.clock.now(), services.clearing)
            return JSONResponse(statement_out(made).model_dump(mode="json"))
        return once.run(act)

    @api.get("/shops/{shop}/statements", summary="A shop's statements, oldest first",
             dependencies=[requires(OPERATOR, ANALYST)], responses=reads)
    def statements(shop: Code, platform: PlatformDep) -> list[StatementOut]:
        with UnitOfWork(platform.db) as uow:
            settlement.shop_terms(uow, shop)
            return [statement_out(s) for s in settlement.statements(uow, shop)]

    @api.get("/statements/{statement_id}", summary="A statement, line by line",
             dependencies=[requires(OPERATOR, ANALYST)], responses=reads)
    def statement(statement_id: Code, platform: PlatformDep) -> StatementOut:
        with UnitOfWork(platform.db) as uow:
            return statement_out(settlement.statement(uow, statement_id))

    @api.get("/shops/{shop}/balances", summary="A shop's balances", dependencies=[requires(OPERATOR, ANALYST)],
             responses=reads)
    def balances(shop: Code, platform: PlatformDep) -> BalancesOut:
        with UnitOfWork(platform.db) as uow:
            return balances_out(settlement.balances(uow, shop))

    return api
