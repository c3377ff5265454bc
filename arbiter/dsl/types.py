"""The types of the rule language and how runtime values are coerced to them.

Types: bool, int, decimal, money(CUR), string, enum(values), set (of strings), list(record
fields) and lists of scalars, datetime, duration. At run time money is a plain Decimal in the
currency its type names: the checker proves every currency statically, so compiled code does
Decimal arithmetic and the boundary wraps results back into Money.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from arbiter.errors import InvalidInput
from arbiter.money import MAX_MAGNITUDE, Money, to_decimal

MAX_CONTEXT_LIST = 1_000
_INTEGER = re.compile(r"-?[0-9]{1,18}")  # ASCII digits only: "１２" and "²" are not integers


@dataclass(frozen=True, slots=True)
class Type:
    """A scalar type named by `name`; subclasses add parameters."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class MoneyType(Type):
    currency: str = "CNY"

    def __str__(self) -> str:
        return f"money({self.currency})"


@dataclass(frozen=True, slots=True)
class EnumType(Type):
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "enum(" + ", ".join(f'"{v}"' for v in self.values) + ")"


@dataclass(frozen=True, slots=True)
class RecordType(Type):
    fields: tuple[tuple[str, Type], ...] = ()

    def field(self, name: str) -> Type | None:
        for key, type_ in self.fields:
            if key == name:
                return type_
        return None

    def __str__(self) -> str:
        return "record(" + ", ".join(f"{k}: {t}" for k, t in self.fields) + ")"


@dataclass(frozen=True, slots=True)
class ListType(Type):
    item: Type = None  # type: ignore[assignment]

    def __str__(self) -> str:
        if isinstance(self.item, RecordType):
            return "list(" + ", ".join(f"{k}: {t}" for k, t in self.item.fields) + ")"
        return f"list of {self.item}"


BOOL = Type("bool")
INT = Type("int")
DECIMAL = Type("decimal")
STRING = Type("string")
SET = Type("set")  # a set of strings
DATETIME = Type("datetime")
DURATION = Type("duration")
# The type of an expression the checker could not type (an error was already reported):
# it matches everything so that one mistake gives one diagnostic.
UNKNOWN = Type("unknown")
# `list("blocklist")`: a list operators manage at run time, looked up when a rule runs.
MANAGED_LIST = Type("managed list")
# An integer literal keeps this type until its context says money or decimal.
CNY = MoneyType("money", "CNY")

SCALARS: dict[str, Type] = {
    "bool": BOOL,
    "int": INT,
    "decimal": DECIMAL,
    "string": STRING,
    "set": SET,
    "datetime": DATETIME,
    "duration": DURATION,
}
TYPE_NAMES = ("bool", "int", "decimal", "money", "string", "enum", "set", "list", "datetime", "duration")


def money(currency: str = "CNY") -> MoneyType:
    return MoneyType("money", currency)


def enum(values: tuple[str, ...]) -> EnumType:
    return EnumType("enum", values)


def list_of(item: Type) -> ListType:
    return ListType("list", item)


def record(fields: tuple[tuple[str, Type], ...]) -> RecordType:
    return RecordType("record", fields)


def is_numeric(t: Type) -> bool:
    return t in (INT, DECIMAL)


def is_stringlike(t: Type) -> bool:
    return t == STRING or isinstance(t, EnumType)


def is_ordered(t: Type) -> bool:
    return t in (INT, DECIMAL, STRING, DATETIME, DURATION) or isinstance(t, MoneyType | EnumType)


# ----------------------------------------------------------------------------- coercion


def coerce(value: Any, type_: Type, where: str) -> Any:
    """Turn a context value into the runtime form of `type_`, or raise InvalidInput naming
    `where` (the tag or field). None never reaches here: it means "missing"."""
    if type_ == BOOL:
        if isinstance(value, bool):
            return value
        raise InvalidInput(f"{where}: expected true or false, got {_show(value)}")
    if type_ == INT:
        if isinstance(value, bool):
            raise InvalidInput(f"{where}: expected an integer, got a boolean")
        if isinstance(value, int):
            if abs(value) >= 10**MAX_MAGNITUDE:
                raise InvalidInput(f"{where}: the number is out of range")
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value)
        if isinstance(value, Decimal) and value.is_finite() and value.adjusted() < MAX_MAGNITUDE \
                and value == value.to_integral_value():
            return int(value)
        raise InvalidInput(f"{where}: expected an integer, got {_show(value)}")
    if type_ == DECIMAL:
        return to_decimal(value, what=where)
    if isinstance(type_, MoneyType):
        if isinstance(value, Money):
            if value.currency != type_.currency:
                raise InvalidInput(f"{where}: expected an amount in {type_.currency}, got {value.currency}")
            return value.amount
        if isinstance(value, Mapping) and "amount" in value:
            currency = value.get("currency", type_.currency)
            if currency != type_.currency:
                raise InvalidInput(f"{where}: expected an amount in {type_.currency}, got {currency}")
            return to_decimal(value["amount"], what=where)
        return to_decimal(value, what=where)
    if type_ == STRING:
        if isinstance(value, str):
            return value
        raise InvalidInput(f"{where}: expected a string, got {_show(value)}")
    if isinstance(type_, EnumType):
        if isinstance(value, str) and value in type_.values:
            return value
        raise InvalidInput(f"{where}: {_show(value)} is not one of {', '.join(type_.values)}")
    if type_ == SET:
        if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
            raise InvalidInput(f"{where}: expected a list of strings, got {_show(value)}")
        _check_length(value, where)
        for item in value:
            if not isinstance(item, str):
                raise InvalidInput(f"{where}: expected a list of strings, found {_show(item)}")
        return frozenset(value)
    if type_ == DATETIME:
        return _coerce_datetime(value, where)
    if type_ == DURATION:
        if isinstance(value, timedelta):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return timedelta(seconds=value)
        raise InvalidInput(f"{where}: expected a duration in seconds, got {_show(value)}")
    if isinstance(type_, ListType):
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise InvalidInput(f"{where}: expected a list, got {_show(value)}")
        _check_length(value, where)
        return tuple(coerce(item, type_.item, f"{where}[{i}]") for i, item in enumerate(value))
    if isinstance(type_, RecordType):
        if hasattr(value, "model_dump"):
            value = value.model_dump()
        if not isinstance(value, Mapping):
            raise InvalidInput(f"{where}: expected a record, got {_show(value)}")
        out: dict[str, Any] = {}
        for key, field_type in type_.fields:
            item = value.get(key)
            if item is not None:
                out[key] = coerce(item, field_type, f"{where}.{key}")
        return out
    raise InvalidInput(f"{where}: values of type {type_} cannot be supplied")


def _coerce_datetime(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{where}: {value!r} is not an ISO date or date-time") from None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise InvalidInput(f"{where}: expected a date-time, got {_show(value)}")


def _check_length(value: Any, where: str) -> None:
    if len(value) > MAX_CONTEXT_LIST:
        raise InvalidInput(f"{where}: {len(value)} items; the limit is {MAX_CONTEXT_LIST}")


def _show(value: Any) -> str:
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
