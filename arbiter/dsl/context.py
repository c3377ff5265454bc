"""Preparing a context: caller-supplied values checked and converted to their tags' types.

A context is `{namespace: {tag: value}}` (nested dicts or pydantic models). Preparation keeps
only declared tags, drops None (it means "missing"), converts each value to the runtime form of
its tag's type (money as a Decimal in the tag's currency, lists as tuples, sets as frozensets,
date-times aware) and refuses what does not fit with an error naming the tag. With
`fill_defaults`, missing tags that declare a default get it, so compiled code rarely needs the
slow path. The evaluation time travels in the context under NOW_KEY.

`ContextShape` does the per-catalog work once (a ruleset keeps one); `prepare` is the
one-off form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from arbiter.dsl import types as t
from arbiter.dsl.model import MISSING, Tag
from arbiter.errors import InvalidInput
from arbiter.money import to_decimal

NOW_KEY = "$now"  # not an identifier, so it can never collide with a namespace
VELOCITY_KEY = "$velocity"  # a reader of velocity features (engine.velocity)
LISTS_KEY = "$lists"  # a reader of managed lists (engine.lists)

# Values that need no conversion when they already have the runtime type.
_PASS_THROUGH: dict[t.Type, type] = {t.STRING: str, t.BOOL: bool}
# Inputs that `t.coerce` turns into a decimal or an amount by `to_decimal` alone.
_NUMBER_INPUTS = (Decimal, int, str)
# A plain decimal string within `to_decimal`'s bounds (at most 18 digits before the point and
# 12 after, no sign but a minus, no spaces or exponent): `to_decimal` would return exactly
# `Decimal(value)` for it, after checks that cannot fail. Every other string takes its path.
_PLAIN_NUMBER = re.compile(r"-?[0-9]{1,18}(?:\.[0-9]{1,12})?").fullmatch


class ContextShape:
    """The tag catalog arranged for preparing contexts quickly."""

    def __init__(self, tags: Mapping[str, Tag]) -> None:
        self.namespaces: dict[str, dict[str, Tag]] = {}
        self.defaults: dict[str, dict[str, Any]] = {}
        for tag in tags.values():
            self.namespaces.setdefault(tag.namespace, {})[tag.name] = tag
            if tag.default is not MISSING:
                self.defaults.setdefault(tag.namespace, {})[tag.name] = tag.default
        # Per namespace, per tag: the type a value may already have to pass unchanged, whether
        # it is a number (`to_decimal` converts it: what `t.coerce` would do, without its
        # dispatch on the type), the type and the path, looked up once here rather than per value.
        self._plan = tuple(
            (namespace, {name: _spec(tag) for name, tag in declared.items()}, self.defaults.get(namespace, {}))
            for namespace, declared in self.namespaces.items()
        )

    def prepare(self, raw: Mapping[str, Any] | Any, *, now: datetime | None = None, fill_defaults: bool = False) -> dict[str, Any]:
        if type(raw) is not dict:
            raw = _as_mapping(raw, "the context")
        prepared: dict[str, Any] = {}
        for namespace, declared, defaults in self._plan:
            values: dict[str, Any] = defaults.copy() if fill_defaults else {}
            supplied = raw.get(namespace)
            if supplied is not None:
                if type(supplied) is not dict:
                    supplied = _as_mapping(supplied, namespace)
                for name, value in supplied.items():
                    spec = declared.get(name)
                    if spec is None or value is None:
                        continue
                    if type(value) is spec[0]:
                        values[name] = value
                    elif spec[1] and type(value) is str and _PLAIN_NUMBER(value):
                        values[name] = Decimal(value)
                    elif spec[1] and type(value) in _NUMBER_INPUTS:
                        values[name] = to_decimal(value, what=spec[3])
                    else:
                        values[name] = t.coerce(value, spec[2], spec[3])
            prepared[namespace] = values
        if now is not None:
            prepared[NOW_KEY] = now
        return prepared


def prepare(
    raw: Mapping[str, Any] | Any,
    tags: Mapping[str, Tag],
    *,
    now: datetime | None = None,
    fill_defaults: bool = False,
) -> dict[str, Any]:
    return ContextShape(tags).prepare(raw, now=now, fill_defaults=fill_defaults)


def _spec(tag: Tag) -> tuple[type | None, bool, t.Type, str]:
    numeric = tag.type == t.DECIMAL or isinstance(tag.type, t.MoneyType)
    return _PASS_THROUGH.get(tag.type), numeric, tag.type, tag.path


def _as_mapping(value: Any, where: str) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if hasattr(value, "model_dump"):
        dumped: Mapping[str, Any] = value.model_dump()
        return dumped
    raise InvalidInput(f"{where}: expected an object of tags, got {type(value).__name__}")
