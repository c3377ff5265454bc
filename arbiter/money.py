"""Money: an exact Decimal amount with a currency.

Never float. Arithmetic between two Money values requires the same currency. Rounding to the
cent happens only where a caller asks for it (`quantize_cents`), with ROUND_HALF_UP unless a
mode is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from arbiter.errors import CurrencyMismatch, InvalidInput

DEFAULT_CURRENCY = "CNY"
CENT = Decimal("0.01")
# Amounts beyond these are refused at the boundary: they are never real prices, and a number
# such as 1e999999 would otherwise cost unbounded time in conversions and arithmetic.
MAX_MAGNITUDE = 18  # digits before the point
MAX_PLACES = 12  # digits after it


def to_decimal(value: object, *, what: str = "amount") -> Decimal:
    """Convert an int, Decimal or numeric string to Decimal; refuse floats, junk and numbers
    out of range."""
    return _bounded(_to_decimal(value, what), what)


def _bounded(value: Decimal, what: str) -> Decimal:
    if value and (value.adjusted() >= MAX_MAGNITUDE or -value.as_tuple().exponent > MAX_PLACES):  # type: ignore[operator]
        raise InvalidInput(
            f"{what}: {value:.6g} is out of range (at most {MAX_MAGNITUDE} digits before the point "
            f"and {MAX_PLACES} after)"
        )
    return value


def _to_decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool):
        raise InvalidInput(f"{what}: expected a number, got a boolean")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidInput(f"{what}: {value} is not a finite number")
        return value
    if isinstance(value, int):
        if abs(value) >= 10**MAX_MAGNITUDE:
            raise InvalidInput(f"{what}: the number is out of range")
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidInput(f"{what}: {value!r} is not a finite number")
        raise InvalidInput(f"{what}: floats are not accepted for exact amounts; send {value!r} as a string")
    if isinstance(value, str):
        if len(value) > 64 or not value.isascii():
            raise InvalidInput(f"{what}: {value[:20]!r} is not a number")
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidInput(f"{what}: {value!r} is not a number") from None
        if not result.is_finite():
            raise InvalidInput(f"{what}: {value!r} is not a finite number")
        return result
    raise InvalidInput(f"{what}: expected a number, got {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", to_decimal(self.amount))
        if not (isinstance(self.currency, str) and len(self.currency) == 3 and self.currency.isupper()):
            raise InvalidInput(f"currency: {self.currency!r} is not a three-letter code such as CNY")

    @classmethod
    def of(cls, amount: object, currency: str = DEFAULT_CURRENCY) -> Money:
        return cls(to_decimal(amount), currency)

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Money:
        return cls(Decimal("0"), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, float | Money):
            raise TypeError("money can be multiplied only by an int or a Decimal")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def quantize_cents(self, rounding: str = ROUND_HALF_UP) -> Money:
        return Money(self.amount.quantize(CENT, rounding=rounding), self.currency)

    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def to_json(self) -> dict[str, str]:
        """JSON carries amounts as strings, at least to the cent ("30.00", "0.125")."""
        amount = self.amount
        if amount.as_tuple().exponent > -2:  # type: ignore[operator]
            amount = amount.quantize(CENT)
        return {"amount": str(amount), "currency": self.currency}
