"""Run-time pieces shared by compiled code and the reference interpreter.

Both evaluation paths call these same helpers, so division, zero values and the wrapping of
results (money back into Money) cannot differ between them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from arbiter.dsl import types as t
from arbiter.dsl.nodes import Span
from arbiter.errors import ArbiterError
from arbiter.money import Money


class EvaluationError(ArbiterError):
    """Evaluating a rule failed on this context: a missing value, a division by zero."""

    code = "dsl.eval.error"

    def __init__(self, message: str, span: Span | None = None, *, code: str | None = None) -> None:
        where = f"{span}: " if span is not None and span.line > 0 else ""
        super().__init__(f"{where}{message}", code=code)
        self.span = span


class MissingValue(EvaluationError):
    code = "dsl.eval.missing"


def div(a: Any, b: Any) -> Any:
    """Exact decimal division; int / int is a decimal too. Division by zero is an error."""
    if b == 0:
        raise ZeroDivisionError("division by zero")
    return Decimal(a) / Decimal(b)


def zero_of(type_: t.Type) -> Any:
    if type_ == t.INT:
        return 0
    if type_ == t.DURATION:
        return timedelta(0)
    return Decimal(0)


def output(value: Any, type_: t.Type) -> Any:
    """A runtime value as callers see it: money wrapped with its currency."""
    if isinstance(type_, t.MoneyType) and isinstance(value, Decimal | int):
        return Money(Decimal(value), type_.currency)
    if isinstance(type_, t.ListType) and isinstance(value, tuple | list):
        return [output(v, type_.item) for v in value]
    if isinstance(type_, t.RecordType) and isinstance(value, Mapping):
        return {k: output(v, type_.field(k) or t.UNKNOWN) for k, v in value.items()}
    if type_ == t.SET and isinstance(value, frozenset):
        return sorted(value)
    return value


@dataclass(frozen=True, slots=True)
class EffectValue:
    """One effect of a decision: its type and its fields, in declaration order."""

    name: str
    fields: tuple[tuple[str, Any], ...]

    def get(self, key: str, default: Any = None) -> Any:
        for k, v in self.fields:
            if k == key:
                return v
        return default

    def to_json(self) -> dict[str, Any]:
        return {"type": self.name, **{k: to_json(v) for k, v in self.fields}}

    def __str__(self) -> str:
        inner = ", ".join(f"{k}: {show(v)}" for k, v in self.fields)
        return f"{self.name}({inner})"


def to_json(value: Any) -> Any:
    if isinstance(value, Money):
        return value.to_json()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, Mapping):
        return {k: to_json(v) for k, v in value.items()}
    return value


def show(value: Any) -> str:
    """A value as rule files write it."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Money):
        return f"{value.amount} {value.currency}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, frozenset):
        return "[" + ", ".join(show(v) for v in sorted(value)) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds and seconds % size == 0:
                return f"{seconds // size}{unit}"
        return f"{seconds}s"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
