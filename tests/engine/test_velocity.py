"""Velocity features and managed lists: typed in the language, fed by recorded events, read by
decisions in sliding windows that expire on a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import compile_program
from arbiter.engine.engine import Engine
from arbiter.engine.lists import InMemoryLists
from arbiter.engine.stores import StoreUnavailable
from arbiter.engine.velocity import InMemoryVelocity, record_event

RULES = """
tag user.id: string
tag passthrough.device_id: string { default "" }
tag payment.card: string { default "" }
tag payment.amount: money { default 0 }
effect pass()
effect verify(method: enum("sms", "face"))
effect reject(reason: string)
scene login { on_failure closed fallback reject(reason: "risk check unavailable") }
strategy login_risk {
    scene login
    hit first
    rule blocked { priority 100 when user.id in list("blocklist") then reject(reason: "blocked") }
    rule too_many_failures { priority 90 when count(login_failed by user.id within 10m) >= 3 then reject(reason: "too many failures") }
    rule shared_device { priority 80 when distinct(user.id by passthrough.device_id within 1d) >= 3 then verify(method: "sms") }
    rule big_spender { priority 70 when sum(payment.amount by payment.card within 1d) >= 5000 then verify(method: "face") }
    rule ok { then pass() }
}
"""
T0 = datetime(2026, 11, 11, 20, 0, tzinfo=UTC)


def setup() -> tuple[Engine, FixedClock, InMemoryVelocity, InMemoryLists]:
    result = check_sources({"risk.rules": RULES})
    assert result.ok, [d.message for d in result.diagnostics]
    clock = FixedClock(T0)
    velocity, lists = InMemoryVelocity(), InMemoryLists()
    return Engine(compile_program(result), clock, velocity=velocity, lists=lists), clock, velocity, lists


def effects(engine: Engine, ctx: dict[str, object]) -> list[str]:
    return [str(e) for e in engine.decide("login", ctx).effects]


def test_features_are_typed_and_named_by_their_canonical_text() -> None:
    result = check_sources({"risk.rules": RULES})
    features = result.program.features
    assert sorted(features) == [
        "count(login_failed by user.id within 10m)",
        "distinct(user.id by passthrough.device_id within 1d)",
        "sum(payment.amount by payment.card within 1d)",
    ]
    assert str(features["sum(payment.amount by payment.card within 1d)"].type) == "money(CNY)"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("count(orders by user.id within 1h) > 1", "unknown event `orders`"),
        ("sum(user.id by user.id within 1h) > 1", "cannot sum string values"),
        ("any(l in [1, 2] where count(order by user.id within 1h) > l)",
         "`count(... by ...)` counts recorded events: it cannot use `l`"),
        ("list(\"blocklist\") == 1", "cannot compare managed list with int"),
    ],
)
def test_wrong_velocity_and_list_uses_are_diagnostics(expression: str, message: str) -> None:
    result = check_sources({"r.rules": RULES + f"condition c = {expression}\n"})
    assert message in [d.message for d in result.errors]


def test_a_window_counts_only_recent_events_and_each_event_once() -> None:
    engine, clock, velocity, _ = setup()
    ruleset = engine.ruleset
    for minutes, event in ((0, "e1"), (4, "e2"), (4, "e2"), (8, "e3")):
        record_event(ruleset, velocity, "login_failed", {"user": {"id": "u1"}}, T0 + timedelta(minutes=minutes), event)
    clock.advance(timedelta(minutes=9))
    assert effects(engine, {"user": {"id": "u1"}}) == ['reject(reason: "too many failures")']
    clock.advance(timedelta(minutes=1))  # 20:10: the failure at 20:00 has left the 10-minute window
    assert effects(engine, {"user": {"id": "u1"}}) == ["pass()"]
    assert effects(engine, {"user": {"id": "u2"}}) == ["pass()"]


def test_distinct_accounts_per_device_and_sums_per_card() -> None:
    engine, clock, velocity, _ = setup()
    ruleset = engine.ruleset
    for i, user in enumerate(["a", "b", "b", "c"]):
        record_event(ruleset, velocity, "login", {"user": {"id": user}, "passthrough": {"device_id": "d1"}},
                     T0 + timedelta(minutes=i), f"l{i}")
    clock.advance(timedelta(hours=1))
    assert effects(engine, {"user": {"id": "z"}, "passthrough": {"device_id": "d1"}}) == ['verify(method: "sms")']
    for i, amount in enumerate(["2999.99", "2000.00"]):
        record_event(ruleset, velocity, "payment", {"user": {"id": "z"}, "payment": {"card": "c1", "amount": amount}},
                     T0 + timedelta(minutes=10 + i), f"p{i}")
    feature = ruleset.program.features["sum(payment.amount by payment.card within 1d)"]
    assert velocity.read(feature, "c1", clock.now()) == Decimal("4999.99")
    assert effects(engine, {"user": {"id": "z"}, "payment": {"card": "c1"}}) == ["pass()"]
    record_event(ruleset, velocity, "payment", {"user": {"id": "z"}, "payment": {"card": "c1", "amount": "0.01"}},
                 T0 + timedelta(minutes=30), "p2")
    assert effects(engine, {"user": {"id": "z"}, "payment": {"card": "c1"}}) == ['verify(method: "face")']


def test_managed_lists_with_expiry() -> None:
    engine, clock, _, lists = setup()
    lists.add("blocklist", "u9", reason="chargeback ring", by="ops", expires_at=T0 + timedelta(days=1))
    assert effects(engine, {"user": {"id": "u9"}}) == ['reject(reason: "blocked")']
    clock.advance(timedelta(days=1))
    assert effects(engine, {"user": {"id": "u9"}}) == ["pass()"]


class DownVelocity(InMemoryVelocity):
    def read(self, feature, key, now):  # type: ignore[no-untyped-def]
        raise StoreUnavailable("redis: connection refused")


def test_a_store_that_is_down_follows_the_scenes_failure_policy() -> None:
    result = check_sources({"risk.rules": RULES})
    engine = Engine(compile_program(result), FixedClock(T0), velocity=DownVelocity())
    decision = engine.decide("login", {"user": {"id": "u1"}})
    assert (decision.failed, decision.failure_policy) == (True, "closed")
    assert decision.reason == "a store is unavailable: redis: connection refused"
    assert [str(e) for e in decision.effects] == ['reject(reason: "risk check unavailable")']
