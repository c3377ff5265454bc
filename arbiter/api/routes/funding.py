"""Funding routes (资金): the funders (资方) and their capital, the assets they hold (资产路由 decides
who takes a financed order, at payment or shipment, inside the orders flow), the back office's
disposal of assets long overdue (资产处置: collections with the repurchase from a funder, then
packages sold), for role `operator` (`analyst` reads); and for the storefront on a user's
behalf (role `service`): the user's bills (账单) with their due dates and status, what an
early payoff costs today, and repayments (还款: full, partial or early payoff).

A repayment is applied once per `key` (the same key again returns the first answer); a
repayment refused (more than owed, a payoff of another amount, an asset no longer repayable)
is a 200 with `ok` false, the reason and, for a payoff, the amount accepted. Every call here
that moves money (a repayment, a funder's capital, collections, a sale) takes an
`Idempotency-Key`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from arbiter.api.auth import requires
from arbiter.api.errors import problem_responses
from arbiter.api.flows import MoneyIn, MoneyOut, PlatformDep, not_found
from arbiter.api.idempotency import IdempotencyDep
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.funding import funders as funder_book
from arbiter.platform.funding import routing
from arbiter.platform.funding import service as funding
from arbiter.platform.keys.models import ANALYST, OPERATOR, SERVICE

CODE = r"^[\x21-\x7e]+$"
FUNDER_CODE = r"^[A-Za-z0-9_.\-]+$"
PRICE = r"^0(\.\d{1,4})?$"
AssetStatus = Literal["financed", "repaid", "refunded", "collections", "packaged", "sold"]
FunderId = Annotated[str, Path(min_length=1, max_length=100, pattern=FUNDER_CODE)]
OrderId = Annotated[str, Path(min_length=1, max_length=200, pattern=CODE)]
UserId = Annotated[str, Path(min_length=1, max_length=200, pattern=CODE)]
PackageId = Annotated[str, Path(min_length=1, max_length=200, pattern=CODE)]


def cny(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


FUNDER_EXAMPLES: dict[str, Any] = {
    "trust": {"summary": "A trust committing 1,000,000.00 at 6% a year, routed first",
              "value": {"name": "信托计划A", "kind": "trust", "capital": cny("1000000.00"), "priority": 30,
                        "price": "0.06"}},
    "pause": {"summary": "A bank that takes no more assets today",
              "value": {"name": "银行B 直贷", "kind": "direct_lending", "capital": cny("1000000.00"),
                        "priority": 20, "price": "0.05", "status": "paused"}},
}
CAPITAL_EXAMPLES: dict[str, Any] = {"more": {"summary": "500,000.00 more capital",
                                             "value": {"amount": cny("500000.00")}}}
REPAY_EXAMPLES: dict[str, Any] = {
    "bill": {"summary": "The first bill, in full", "value": {"amount": cny("1023.00"), "key": "repay-o-1-1"}},
    "partial": {"summary": "Part of what is due", "value": {"amount": cny("500.00"), "key": "repay-o-1-p"}},
    "payoff": {"summary": "Early payoff (提前还款) for what `payoff` says today",
               "value": {"amount": cny("2023.00"), "key": "repay-o-1-off", "payoff": True}},
}
COLLECTIONS_EXAMPLES: dict[str, Any] = {"ninety": {"summary": "Assets more than 90 days overdue",
                                                   "value": {"after_days": 90}}}
PACKAGE_EXAMPLES: dict[str, Any] = {"one": {"summary": "Package two assets in collections",
                                            "value": {"package_id": "pkg-2027-06", "order_ids": ["o-1", "o-2"]}}}
SALE_EXAMPLES: dict[str, Any] = {"buyer": {"summary": "Sold to a collections agency for 600.00",
                                           "value": {"buyer": "agency-x", "proceeds": cny("600.00")}}}


class FunderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["direct_lending", "trust", "factoring", "self_held"] = Field(
        description="直贷, 信托, 保理 or the platform's own self-held funds (自持资金, at most one funder).")
    capital: MoneyIn = Field(description="The capital it commits, zero or more, whole cents.")
    priority: int = Field(default=0, ge=-1000, le=1000, description="Routed first: the higher.")
    price: str = Field(default="0", pattern=PRICE, description="Its annual rate, a fraction: 0.06.")
    status: Literal["active", "paused"] = "active"


class CapitalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: MoneyIn = Field(description="More capital, above zero, whole cents, in the funder's currency.")


class FunderOut(BaseModel):
    code: str
    name: str
    kind: str
    capital: MoneyOut
    outstanding: MoneyOut = Field(description="Its principal out in assets.")
    available: MoneyOut = Field(description="What it may still lend: capital - outstanding.")
    priority: int
    price: str
    status: str


class AssetOut(BaseModel):
    order_id: str
    user_id: str
    funder: str = Field(description="Who holds it now.")
    first_funder: str = Field(description="Who took it when financed (before any repurchase).")
    principal: MoneyOut
    fee: MoneyOut
    subsidy: MoneyOut
    subsidy_by: str | None
    term: int
    term_rate: str
    stage: str = Field(description="Financed after payment or after shipment.")
    over_capacity: bool = Field(description="Kept on self-held funds beyond their capital.")
    status: str = Field(description="financed, repaid, refunded, collections, packaged or sold.")
    financed_at: datetime
    repurchase_price: MoneyOut | None
    package_id: str | None


class BillOut(BaseModel):
    order_id: str
    number: int = Field(description="The period, from 1.")
    due_on: date = Field(description="Its due date, in Beijing time.")
    status: str = Field(description="open, overdue, paid or closed.")
    principal: MoneyOut
    fee: MoneyOut
    total: MoneyOut = Field(description="The period's principal and fee.")
    penalty: MoneyOut = Field(description="The overdue penalty (罚息) assessed so far.")
    paid: MoneyOut = Field(description="What has been repaid of it.")
    waived: MoneyOut = Field(description="Its fee waived by an early payoff.")
    owed: MoneyOut = Field(description="What is still owed on it, penalty assessed included.")
    days_overdue: int


class AssetBillsOut(BaseModel):
    asset: AssetOut
    bills: list[BillOut]


class PayoffOut(BaseModel):
    order_id: str
    amount: MoneyOut = Field(description="What paying it all off today costs.")


class RepayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: MoneyIn = Field(description="What the user paid, above zero, whole cents.")
    key: str = Field(min_length=1, max_length=200, pattern=CODE, description="Applied once per key.")
    payoff: bool = Field(default=False, description="Early payoff: the amount must be what `payoff` says.")


class RepaymentOut(BaseModel):
    order_id: str
    ok: bool
    reason: str | None = Field(description="Why it was refused: more_than_owed, payoff_amount_mismatch, "
                                           "asset_<status>.")
    expected: MoneyOut | None = Field(description="What would be accepted, when refused for the amount.")
    amount: MoneyOut
    principal: MoneyOut = Field(description="Of it, to principal (the line gets that much back).")
    fee: MoneyOut
    penalty: MoneyOut
    waived: MoneyOut = Field(description="Fees waived by an early payoff.")
    replayed: bool = Field(description="The key was applied before: this is its first answer.")


class CollectionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after_days: int = Field(ge=0, le=3650, description="Assets with a bill more than this many days past due.")


class CollectionsOut(BaseModel):
    orders: list[str] = Field(description="The assets moved to collections now (repurchased from their funder).")


class PackageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    package_id: str = Field(min_length=1, max_length=200, pattern=CODE)
    order_ids: list[Annotated[str, Field(min_length=1, max_length=200, pattern=CODE)]] = Field(
        min_length=1, max_length=1000, description="Assets in collections.")


class SaleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    buyer: str = Field(min_length=1, max_length=200)
    proceeds: MoneyIn = Field(description="Zero up to the package's face value, whole cents.")


class PackageOut(BaseModel):
    id: str
    face_value: MoneyOut = Field(description="What the users still owed on its assets when packaged.")
    orders: list[str]
    status: str = Field(description="open or sold.")
    buyer: str | None
    proceeds: MoneyOut | None


def _money(value: Money | None) -> MoneyOut | None:
    return None if value is None else MoneyOut.of(value)


def _rate(value: Decimal) -> str:
    return format(value.normalize(), "f")


def funder_out(f: funding.Funder) -> FunderOut:
    return FunderOut(code=f.code, name=f.name, kind=f.kind, capital=MoneyOut.of(f.capital),
                     outstanding=MoneyOut.of(f.outstanding), available=MoneyOut.of(f.available),
                     priority=f.priority, price=_rate(f.price), status=f.status)


def asset_out(a: funding.Asset) -> AssetOut:
    return AssetOut(order_id=a.order_id, user_id=a.user_id, funder=a.funder, first_funder=a.first_funder,
                    principal=MoneyOut.of(a.principal), fee=MoneyOut.of(a.fee), subsidy=MoneyOut.of(a.subsidy),
                    subsidy_by=a.subsidy_by, term=a.term, term_rate=_rate(a.term_rate), stage=a.stage,
                    over_capacity=a.over_capacity, status=a.status, financed_at=a.financed_at,
                    repurchase_price=_money(a.repurchase_price), package_id=a.package_id)


def bill_out(b: funding.Bill, now: datetime) -> BillOut:
    return BillOut(order_id=b.order_id, number=b.number, due_on=b.due_on, status=b.status(now),
                   principal=MoneyOut.of(b.principal), fee=MoneyOut.of(b.fee), total=MoneyOut.of(b.total),
                   penalty=MoneyOut.of(b.penalty), paid=MoneyOut.of(b.principal_paid + b.fee_paid + b.penalty_paid),
                   waived=MoneyOut.of(b.fee_waived), owed=MoneyOut.of(b.owed), days_overdue=b.days_overdue(now))


def package_out(p: funding.Package) -> PackageOut:
    return PackageOut(id=p.id, face_value=MoneyOut.of(p.face_value), orders=list(p.orders), status=p.status,
                      buyer=p.buyer, proceeds=_money(p.proceeds))


def repayment_out(r: funding.Repayment) -> RepaymentOut:
    return RepaymentOut(order_id=r.order_id, ok=r.ok, reason=r.reason, expected=_money(r.expected),
                        amount=MoneyOut.of(r.amount), principal=MoneyOut.of(r.principal), fee=MoneyOut.of(r.fee),
                        penalty=MoneyOut.of(r.penalty), waived=MoneyOut.of(r.waived), replayed=r.replayed)


def router() -> APIRouter:
    api = APIRouter(prefix="/funding", tags=["funding"])
    moves = problem_responses(401, 403, 404, 409, 413, 422, 429, 500, 503)
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)
    back_office = [requires(OPERATOR)]
    readers = [requires(OPERATOR, ANALYST)]

    @api.get("/funders", summary="The funders in routing order", dependencies=readers, responses=reads)
    def listed(platform: PlatformDep) -> list[FunderOut]:
        """Priority (higher first), then price (cheaper first), then code; each with its
        capital, what is out in assets and what it may still lend."""
        with UnitOfWork(platform.db) as uow:
            return [funder_out(f) for f in funding.funders(uow)]

    @api.put("/funders/{funder_id}", summary="Add a funder or set its terms (资方)", dependencies=back_office,
             responses=moves)
    def define(funder_id: FunderId, body: Annotated[FunderIn, Body(openapi_examples=FUNDER_EXAMPLES)],
               platform: PlatformDep) -> FunderOut:
        """Its capital, priority, price and status; what it has outstanding is kept. Its kind
        and currency do not change (422); a second self-held funder is a 409."""
        with UnitOfWork(platform.db) as uow:
            return funder_out(funding.define_funder(
                uow, code=funder_id, name=body.name, kind=body.kind, capital=body.capital.money(),
                priority=body.priority, price=Decimal(body.price), status=body.status, now=platform.clock.now()))

    @api.get("/funders/{funder_id}", summary="A funder", dependencies=readers, responses=reads)
    def show(funder_id: FunderId, platform: PlatformDep) -> FunderOut:
        with UnitOfWork(platform.db) as uow:
            return funder_out(funding.funder(uow, funder_id))

    @api.post("/funders/{funder_id}/capital", summary="Commit more of a funder's capital",
              dependencies=back_office, responses=moves, response_model=FunderOut)
    def add_capital(funder_id: FunderId, body: Annotated[CapitalIn, Body(openapi_examples=CAPITAL_EXAMPLES)],
                    platform: PlatformDep, once: IdempotencyDep) -> Response:
        """Adds to its capital (each call adds: send an `Idempotency-Key` to retry safely)."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                added = funder_book.add_capital(uow, funder_id, body.amount.money(), now=platform.clock.now())
            return JSONResponse(funder_out(added).model_dump(mode="json"))
        return once.run(act)

    @api.get("/funders/{funder_id}/assets", summary="The assets a funder holds, the latest first",
             dependencies=readers, responses=reads)
    def held(funder_id: FunderId, platform: PlatformDep,
             status: Annotated[AssetStatus | None, Query(description="Only in this status.")] = None,
             ) -> list[AssetOut]:
        with UnitOfWork(platform.db) as uow:
            funding.funder(uow, funder_id)
            return [asset_out(a) for a in routing.assets(uow, funder=funder_id, status=status)]

    @api.get("/assets/{order_id}", summary="A financed order's asset and its bills", dependencies=readers,
             responses=reads)
    def asset(order_id: OrderId, platform: PlatformDep) -> AssetBillsOut:
        now = platform.clock.now()
        with UnitOfWork(platform.db) as uow:
            found = funding.asset_of(uow, order_id)
            if found is None:
                raise not_found(f"asset of order {order_id}")
            return AssetBillsOut(asset=asset_out(found), bills=[bill_out(b, now) for b in funding.bills_of(uow, order_id)])

    @api.get("/users/{user_id}/bills", summary="A user's bills (账单), by due date",
             dependencies=[requires(SERVICE, OPERATOR, ANALYST)], responses=reads)
    def bills(user_id: UserId, platform: PlatformDep) -> list[BillOut]:
        """Every bill of every financed order of the user, the soonest due first: what it
        was, what has been paid, what is still owed, and whether it is overdue."""
        now = platform.clock.now()
        with UnitOfWork(platform.db) as uow:
            return [bill_out(b, now) for b in funding.user_bills(uow, user_id)]

    @api.get("/assets/{order_id}/payoff", summary="What an early payoff (提前还款) costs today",
             dependencies=[requires(SERVICE, OPERATOR)], responses=reads)
    def payoff(order_id: OrderId, platform: PlatformDep) -> PayoffOut:
        """All unpaid principal and penalties, the fees already due and the current period's;
        the later periods' fees are waived. Reads only."""
        with UnitOfWork(platform.db) as uow:
            if funding.asset_of(uow, order_id) is None:
                raise not_found(f"asset of order {order_id}")
            return PayoffOut(order_id=order_id,
                             amount=MoneyOut.of(funding.payoff_quote(uow, order_id, now=platform.clock.now())))

    @api.post("/assets/{order_id}/repayments", summary="Repay (还款): in full, in part or paying off early",
              dependencies=[requires(SERVICE)], responses=moves, response_model=RepaymentOut)
    def repay(order_id: OrderId, body: Annotated[RepayIn, Body(openapi_examples=REPAY_EXAMPLES)],
              platform: PlatformDep, once: IdempotencyDep) -> Response:
        """Spread over the open bills oldest first (penalty, fee, then principal of each);
        the principal repaid comes back to the user's line and to the asset's holder."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                done = funding.repay(uow, order_id=order_id, amount=body.amount.money(), key=body.key,
                                     now=platform.clock.now(), payoff=body.payoff)
                uow.commit()
            return JSONResponse(repayment_out(done).model_dump(mode="json"))
        return once.run(act)

    @api.post("/collections", summary="Send assets long overdue to collections (催收), repurchasing them",
              dependencies=back_office, responses=moves, response_model=CollectionsOut)
    def collections(body: Annotated[CollectionsIn, Body(openapi_examples=COLLECTIONS_EXAMPLES)],
                    platform: PlatformDep, once: IdempotencyDep) -> Response:
        """Penalties are assessed to today first; an asset a funder holds is bought back at
        its outstanding principal with self-held funds (资产回购). Again finds nothing more."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                moved = funding.send_to_collections(uow, now=platform.clock.now(), after_days=body.after_days)
            return JSONResponse(CollectionsOut(orders=moved).model_dump(mode="json"))
        return once.run(act)

    @api.post("/packages", summary="Package assets in collections for sale", dependencies=back_office,
              responses=moves)
    def make_package(body: Annotated[PackageIn, Body(openapi_examples=PACKAGE_EXAMPLES)],
                     platform: PlatformDep) -> PackageOut:
        """Its face value is what the users still owe on them, penalties included. The same
        package again changes nothing; other assets under its id are a 409."""
        with UnitOfWork(platform.db) as uow:
            return package_out(funding.package_assets(uow, package_id=body.package_id, order_ids=body.order_ids,
                                                      now=platform.clock.now()))

    @api.get("/packages/{package_id}", summary="A package of assets", dependencies=readers, responses=reads)
    def show_package(package_id: PackageId, platform: PlatformDep) -> PackageOut:
        with UnitOfWork(platform.db) as uow:
            return package_out(funding.package(uow, package_id))

    @api.post("/packages/{package_id}/sale", summary="Sell a package (资产处置)", dependencies=back_office,
              responses=moves, response_model=PackageOut)
    def sell(package_id: PackageId, body: Annotated[SaleIn, Body(openapi_examples=SALE_EXAMPLES)],
             platform: PlatformDep, once: IdempotencyDep) -> Response:
        """The proceeds are spread over its assets by what each owes, first as recovered
        principal; the rest is written off and the bills closed. Selling it again to the
        same buyer for the same proceeds changes nothing; otherwise a 409."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                sold = funding.sell_package(uow, package_id=package_id, buyer=body.buyer,
                                            proceeds=body.proceeds.money(), now=platform.clock.now())
            return JSONResponse(package_out(sold).model_dump(mode="json"))
        return once.run(act)

    return api
