"""What the platform-flow routes share: the `Platform` a call runs on, a shop a merchant key
may act for, money in and out, and the not-found problem.

Routes of the platform flows are plain functions (FastAPI runs them in a worker thread, so a
unit of work may block); each opens its own `UnitOfWork` on `platform.db`. Amounts travel as
strings with their currency (`MoneyIn`, `MoneyOut`), never as JSON numbers: a float would
lose cents.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from arbiter.api.auth import Principal
from arbiter.api.errors import ApiProblem
from arbiter.api.wiring import Services
from arbiter.money import CENT, Money
from arbiter.platform.keys.models import MERCHANT
from arbiter.platform.runtime import Platform

AMOUNT_PATTERN = r"^-?\d{1,15}(\.\d{1,2})?$"


async def get_platform(request: Request) -> Platform:
    """The platform on the rules published now (a 503 problem before any are)."""
    services: Services = request.app.state.services
    return services.platform()


PlatformDep = Annotated[Platform, Depends(get_platform)]


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, "not-found", "Not found", f"{what} was not found")


def shop_of(principal: Principal, shop: str) -> str:
    """The shop a caller may act for: a merchant key only its own; another shop looks absent
    (404), as if it did not exist."""
    if principal.role == MERCHANT and principal.shop != shop:
        raise not_found(f"shop {shop}")
    return shop


class MoneyOut(BaseModel):
    amount: str = Field(examples=["278.00"])
    currency: str = Field(examples=["CNY"])

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls(amount=str(money.amount.quantize(CENT)), currency=money.currency)


class MoneyIn(BaseModel):
    """An amount as a string of yuan with at most two decimals, and its currency."""

    model_config = ConfigDict(extra="forbid")
    amount: str = Field(pattern=AMOUNT_PATTERN, examples=["199.00"])
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")

    @field_validator("amount")
    @classmethod
    def _decimal(cls, value: str) -> str:
        try:
            Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not an amount") from None
        return value

    def money(self) -> Money:
        return Money(Decimal(self.amount), self.currency)
