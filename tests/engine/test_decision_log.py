"""The decision log's input digest: the canonical text it is taken of is exactly what it was
when every value went through `to_json` first, so digests stay comparable across releases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbiter.dsl.runtime import to_json
from arbiter.engine.decision_log import canonical_json, input_digest
from arbiter.money import Money

KEYS = st.text(max_size=8)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10**9, max_value=10**9),
    st.builds(lambda d: Money(d, "CNY"),
              st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=0, max_value=10**6)),
    st.datetimes(timezones=st.just(UTC)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    st.frozensets(st.text(max_size=6), max_size=4),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(KEYS, inner, max_size=4),
        st.dictionaries(KEYS, inner, max_size=3).map(MappingProxyType),
    ),
    max_leaves=20,
)


def reference(value: Any) -> str:
    return json.dumps(to_json(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_the_canonical_text_is_the_to_json_text(context: dict[str, Any]) -> None:
    assert canonical_json(context) == reference(context)


def test_a_known_context_has_a_known_digest() -> None:
    context = {"user": {"id": "u1", "level": 2, "tags": frozenset({"vip", "new"})},
               "order": {"amount": Money(Decimal("299"), "CNY"), "at": datetime(2026, 11, 11, tzinfo=UTC)},
               "$now": datetime(2030, 1, 1, tzinfo=UTC)}
    assert canonical_json({k: v for k, v in context.items() if k != "$now"}) == (
        '{"order":{"amount":{"amount":"299.00","currency":"CNY"},"at":"2026-11-11T00:00:00+00:00"},'
        '"user":{"id":"u1","level":2,"tags":["new","vip"]}}')
    assert input_digest(context) == input_digest({**context, "$now": None})


def test_a_value_without_a_json_form_is_refused() -> None:
    with pytest.raises(TypeError):
        canonical_json({"user": {"id": object()}})
