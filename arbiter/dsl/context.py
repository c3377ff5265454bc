"""Preparing a context: caller-supplied values checked and converted to their tags' types.

A context is `{namespace: {tag: value}}` (nested dicts or pydantic models). Preparation keeps
only declared tags, drops None (it means "missing"), converts each value to the runtime form of
its tag's type (money as a Decimal in the tag's currency, lists as tuples, sets as frozensets,
date-times aware) and refuses what does not fit with an error naming the tag. With
`fill_defaults`, missing tags that declare a default get it, so compiled code rarely needs the
slow path. The evaluation time travels in the context under NOW_KEY.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from arbiter.dsl import types as t
from arbiter.dsl.model import MISSING, Tag
from arbiter.errors import InvalidInput

NOW_KEY = "$now"  # not an identifier, so it can never collide with a namespace


def prepare(
    raw: Mapping[str, Any] | Any,
    tags: Mapping[str, Tag],
    *,
    now: datetime | None = None,
    fill_defaults: bool = False,
) -> dict[str, Any]:
    raw = _as_mapping(raw, "the context")
    by_namespace: dict[str, dict[str, Tag]] = {}
    for tag in tags.values():
        by_namespace.setdefault(tag.namespace, {})[tag.name] = tag
    prepared: dict[str, Any] = {}
    for namespace, declared in by_namespace.items():
        supplied = raw.get(namespace)
        values: dict[str, Any] = {}
        if supplied is not None:
            supplied = _as_mapping(supplied, namespace)
            for name, value in supplied.items():
                found = declared.get(name)
                if found is None or value is None:
                    continue
                values[name] = t.coerce(value, found.type, found.path)
        if fill_defaults:
            for name, tag in declared.items():
                if name not in values and tag.default is not MISSING:
                    values[name] = tag.default
        prepared[namespace] = values
    if now is not None:
        prepared[NOW_KEY] = now
    return prepared


def _as_mapping(value: Any, where: str) -> Mapping[str, Any]:
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}: expected an object of tags, got {type(value).__name__}")
    return value
