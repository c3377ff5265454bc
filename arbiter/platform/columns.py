"""Column types and time helpers every platform module's tables share.

Amounts are exact. PostgreSQL keeps them as NUMERIC(20, 4); SQLite has no exact decimal type
(its NUMERIC is a float), so there `Amount` keeps whole ten-thousandths in a 64-bit INTEGER:
`used + :n <= total` must be exact arithmetic inside the database on both. Times are stored
in UTC (`utc` before writing, `as_utc` after reading: SQLite hands back naive values).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Numeric, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine
from sqlmodel import Field

from arbiter.errors import InvalidInput
from arbiter.money import CENT

NAME_LENGTH = 200
SCALE = Decimal("0.0001")  # the finest amount a budget or coupon carries
MAX_AMOUNT = Decimal("100000000000")  # 10^11: stays exact as Redis/Lua integers of SCALE


def utc(at: datetime) -> datetime:
    """`at` in UTC; a naive time is taken to be UTC already."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def as_utc(at: datetime | None) -> datetime | None:
    return None if at is None else utc(at)


def exact(amount: Decimal, what: str = "amount") -> Decimal:
    """`amount` checked to fit the columns: at most four decimals, below MAX_AMOUNT."""
    if amount != amount.quantize(SCALE):
        raise InvalidInput(f"{what}: {amount} has more than four decimals")
    if abs(amount) >= MAX_AMOUNT:
        raise InvalidInput(f"{what}: {amount} is beyond the largest amount {MAX_AMOUNT}")
    return amount


def tidy(amount: Decimal) -> Decimal:
    """Cents when the amount is whole cents (20.0000 -> 20.00), else the four decimals."""
    quantized = amount.quantize(SCALE)
    return quantized.quantize(CENT) if quantized == quantized.quantize(CENT) else quantized


def to_units(amount: Decimal) -> int:
    """Whole ten-thousandths: how SQLite and Redis keep an amount exactly."""
    return int(exact(amount) / SCALE)


def from_units(units: int | str) -> Decimal:
    return tidy(Decimal(int(units)) * SCALE)


class Amount(TypeDecorator[Decimal]):
    """An exact decimal of at most four places (an amount, a percent): NUMERIC(20, 4) on
    PostgreSQL, whole ten-thousandths on SQLite."""

    impl = Numeric(20, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(20, 4))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return to_units(Decimal(value))
        return exact(Decimal(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return from_units(value)
        return tidy(Decimal(value))


def amount_column(nullable: bool = False, default: Decimal | None = None) -> Any:
    return Field(default=default, sa_column=Column(Amount(), nullable=nullable))


def time_column(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))
