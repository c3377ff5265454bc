"""The fixed whitelist of functions rules may call, with their types and implementations.

Each function checks its argument types (returning the result type, or a message that the
checker turns into a diagnostic) and has one implementation shared by the compiled code and
the reference interpreter, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from arbiter.dsl import types as t

Checker = Callable[[Sequence[t.Type]], "t.Type | str"]


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    signature: str  # shown in messages and the reference
    check: Checker
    impl: Callable[..., Any]
    needs_now: bool = False  # the implementation takes the evaluation time as its first argument
    summary: str = ""


def _arity(types: Sequence[t.Type], lo: int, hi: int | None = None) -> str | None:
    hi = lo if hi is None else hi
    if not lo <= len(types) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        return f"takes {want} argument{'s' if hi != 1 else ''}, got {len(types)}"
    return None


def _unary(accepts: Callable[[t.Type], bool], result: Callable[[t.Type], t.Type], what: str) -> Checker:
    def check(types: Sequence[t.Type]) -> t.Type | str:
        problem = _arity(types, 1)
        if problem:
            return problem
        if types[0] != t.UNKNOWN and not accepts(types[0]):
            return f"expects {what}, got {types[0]}"
        return result(types[0])

    return check


def _check_len(types: Sequence[t.Type]) -> t.Type | str:
    problem = _arity(types, 1)
    if problem:
        return problem
    arg = types[0]
    if arg == t.UNKNOWN or t.is_stringlike(arg) or arg == t.SET or isinstance(arg, t.ListType):
        return t.INT
    return f"expects a string, a set or a list, got {arg}"


def _check_round(types: Sequence[t.Type]) -> t.Type | str:
    problem = _arity(types, 1, 2)
    if problem:
        return problem
    value = types[0]
    if not (value in (t.DECIMAL, t.INT, t.UNKNOWN) or isinstance(value, t.MoneyType)):
        return f"expects a decimal or money as its first argument, got {value}"
    if len(types) == 2 and types[1] not in (t.INT, t.UNKNOWN):
        return f"expects an int number of places as its second argument, got {types[1]}"
    return t.DECIMAL if value == t.INT else value


def _check_two_strings(types: Sequence[t.Type]) -> t.Type | str:
    problem = _arity(types, 2)
    if problem:
        return problem
    for arg in types:
        if arg != t.UNKNOWN and not t.is_stringlike(arg):
            return f"expects two strings, got {arg}"
    return t.BOOL


def _check_now(types: Sequence[t.Type]) -> t.Type | str:
    return _arity(types, 0) or t.DATETIME


def _round(value: Decimal | int, places: int = 0) -> Decimal:
    exponent = Decimal(1).scaleb(-places)
    return Decimal(value).quantize(exponent, rounding=ROUND_HALF_UP)


def _days_since(now: datetime, moment: datetime) -> int:
    return (now - moment).days


def _hours_since(now: datetime, moment: datetime) -> int:
    return int((now - moment).total_seconds() // 3600)


def _floor(value: Decimal | int) -> int:
    return int(Decimal(value).to_integral_value(rounding=ROUND_FLOOR))


def _ceil(value: Decimal | int) -> int:
    return int(Decimal(value).to_integral_value(rounding=ROUND_CEILING))


def _numeric_or_money(x: t.Type) -> bool:
    return t.is_numeric(x) or isinstance(x, t.MoneyType)


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("len", "len(string | set | list) -> int", _check_len, len,
                 summary="the number of characters, members or items"),
        Function("lower", "lower(string) -> string", _unary(t.is_stringlike, lambda _: t.STRING, "a string"),
                 str.lower, summary="the string in lower case"),
        Function("upper", "upper(string) -> string", _unary(t.is_stringlike, lambda _: t.STRING, "a string"),
                 str.upper, summary="the string in upper case"),
        Function("starts_with", "starts_with(string, string) -> bool", _check_two_strings, str.startswith,
                 summary="whether the first string starts with the second"),
        Function("ends_with", "ends_with(string, string) -> bool", _check_two_strings, str.endswith,
                 summary="whether the first string ends with the second"),
        Function("round", "round(decimal | money, places = 0) -> same", _check_round, _round,
                 summary="rounded half up to the given number of decimal places"),
        Function("abs", "abs(int | decimal | money) -> same", _unary(_numeric_or_money, lambda x: x, "a number or money"),
                 abs, summary="the absolute value"),
        Function("floor", "floor(decimal) -> int", _unary(t.is_numeric, lambda _: t.INT, "a number"), _floor,
                 summary="the largest integer not above the value"),
        Function("ceil", "ceil(decimal) -> int", _unary(t.is_numeric, lambda _: t.INT, "a number"), _ceil,
                 summary="the smallest integer not below the value"),
        Function("now", "now() -> datetime", _check_now, lambda now: now, needs_now=True,
                 summary="the time of the decision (from the engine's clock)"),
        Function("days_since", "days_since(datetime) -> int",
                 _unary(lambda x: x == t.DATETIME, lambda _: t.INT, "a datetime"), _days_since, needs_now=True,
                 summary="whole days from the moment to the time of the decision"),
        Function("hours_since", "hours_since(datetime) -> int",
                 _unary(lambda x: x == t.DATETIME, lambda _: t.INT, "a datetime"), _hours_since, needs_now=True,
                 summary="whole hours from the moment to the time of the decision"),
    )
}
