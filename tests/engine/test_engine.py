"""The engine's hit policies, ordering, exclusion groups, failure policies and explanations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import compile_program
from arbiter.engine.engine import Engine, UnknownScene
from arbiter.engine.rule_tests import run_tests
from arbiter.errors import InvalidInput

BASE = """
tag user.level: int { default 0 }
tag user.risk: int
tag user.tags: set { default [] }
tag order.amount: money
effect show(content: string)
effect pass()
effect review(reason: string)
effect reject(reason: string)
effect verify(method: enum("sms", "face"))
"""

CLOCK = FixedClock(datetime(2026, 11, 11, 12, 0, tzinfo=UTC))


def engine(rules: str) -> Engine:
    result = check_sources({"base.rules": BASE, "case.rules": rules})
    assert result.ok, [d.message for d in result.diagnostics]
    return Engine(compile_program(result), CLOCK, version=7)


def contents(decision) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(e) for e in decision.effects]


FIRST = """
scene popup { on_failure open fallback show(content: "default") }
strategy popup_v1 {
    scene popup
    hit first
    rule vip { priority 10 when user.level >= 3 then show(content: "vip") }
    rule big_order { priority 10 when order.amount >= 300 then show(content: "big") }
    rule anyone { priority 0 when user.level >= 0 then show(content: "anyone") }
}
"""


def test_first_hit_takes_the_highest_priority_match_and_breaks_ties_by_rule_name() -> None:
    eng = engine(FIRST)
    decision = eng.decide("popup", {"user": {"level": 5}, "order": {"amount": "500"}})
    # vip and big_order share priority 10: the tie goes to the rule name, "big_order" < "vip".
    assert contents(decision) == ['show(content: "big")']
    assert decision.fired == ("popup_v1.big_order",)
    assert decision.strategy == "popup_v1"
    assert decision.ruleset_version == 7
    assert len(decision.ruleset_hash) == 64
    decision = eng.decide("popup", {"user": {"level": 1}, "order": {"amount": "10"}})
    assert contents(decision) == ['show(content: "anyone")']


def test_a_scene_failing_open_answers_with_its_fallback_and_the_reason() -> None:
    decision = engine(FIRST).decide("popup", {"user": {"level": 1}})  # order.amount is missing
    assert decision.failed is True
    assert decision.failure_policy == "open"
    assert contents(decision) == ['show(content: "default")']
    assert decision.reason == "case.rules:7:39: tag `order.amount` is missing and has no default"


ALL = """
scene badges { }
strategy badges_v1 {
    scene badges
    hit all
    rule gold { priority 30 group "tier" when user.level >= 5 then show(content: "gold") }
    rule silver { priority 20 group "tier" when user.level >= 3 then show(content: "silver") }
    rule big { priority 10 when order.amount >= 300 then show(content: "big spender") }
    rule tagged { priority 5 when "new" in user.tags then show(content: "welcome") }
}
"""


def test_all_fires_every_match_in_priority_order_with_one_per_exclusion_group() -> None:
    eng = engine(ALL)
    decision = eng.decide("badges", {"user": {"level": 6, "tags": ["new"]}, "order": {"amount": "300.00"}})
    assert contents(decision) == ['show(content: "gold")', 'show(content: "big spender")', 'show(content: "welcome")']
    assert decision.fired == ("badges_v1.gold", "badges_v1.big", "badges_v1.tagged")
    decision = eng.decide("badges", {"user": {"level": 3}, "order": {"amount": "299.99"}})
    assert contents(decision) == ['show(content: "silver")']


def test_explain_says_why_each_rule_did_or_did_not_fire() -> None:
    decision = engine(ALL).decide(
        "badges", {"user": {"level": 6}, "order": {"amount": "100"}}, explain=True
    )
    notes = {t.rule: t.note for t in decision.trace}
    assert notes == {
        "badges_v1.gold": "matched",
        "badges_v1.silver": 'matched, but excluded by `badges_v1.gold` in group "tier"',
        "badges_v1.big": "did not match",
        "badges_v1.tagged": "did not match",
    }
    big = next(t for t in decision.trace if t.rule == "badges_v1.big")
    assert [(p.text, str(p.value)) for p in big.parts] == [
        ("order.amount >= 300", "False"),
        ("order.amount", "100 CNY"),
    ]


SCORE = """
scene login { on_failure closed fallback reject(reason: "risk check unavailable") }
strategy login_risk {
    scene login
    hit score
    rule risky_user { score 40 when user.risk >= 70 }
    rule flagged { score 30 when "flagged" in user.tags }
    rule fresh { score 10 when user.level == 0 }
    band low { from 0 then pass() }
    band medium { from 40 then verify(method: "sms") }
    band high { from 70 then reject(reason: "high risk") }
}
"""


@pytest.mark.parametrize(
    ("user", "score", "effects"),
    [
        ({"risk": 10, "level": 2}, 0, ["pass()"]),
        ({"risk": 80, "level": 2}, 40, ['verify(method: "sms")']),
        ({"risk": 80, "level": 0}, 50, ['verify(method: "sms")']),
        ({"risk": 80, "level": 0, "tags": ["flagged"]}, 80, ['reject(reason: "high risk")']),
    ],
)
def test_score_sums_matching_rules_and_picks_the_band(user: dict[str, object], score: int, effects: list[str]) -> None:
    decision = engine(SCORE).decide("login", {"user": user})
    assert decision.score == score
    assert contents(decision) == effects


def test_a_scene_failing_closed_refuses_with_the_reason() -> None:
    decision = engine(SCORE).decide("login", {"user": {"level": 1}})  # user.risk missing
    assert (decision.failed, decision.failure_policy) == (True, "closed")
    assert contents(decision) == ['reject(reason: "risk check unavailable")']
    assert "user.risk" in (decision.reason or "")


def test_bad_input_is_refused_with_the_tag_named() -> None:
    with pytest.raises(InvalidInput, match=r"order.amount: floats are not accepted"):
        engine(FIRST).decide("popup", {"order": {"amount": 12.5}})
    with pytest.raises(UnknownScene, match="unknown scene `nope`; scenes: popup"):
        engine(FIRST).decide("nope", {})


def test_rule_file_tests_report_the_effects_that_differ() -> None:
    rules = FIRST + """
test vip_sees_vip { scene popup given { user: { level: 3 }, order: { amount: 10 } } expect show(content: "vip") }
test wrong { scene popup given { user: { level: 0 }, order: { amount: 10 } } expect show(content: "vip") }
test nothing { scene popup given { user: { level: -1 }, order: { amount: 10 } } expect [] }
"""
    result = check_sources({"base.rules": BASE, "case.rules": rules})
    results = run_tests(compile_program(result))
    assert [(r.test.name, r.passed) for r in results] == [("vip_sees_vip", True), ("wrong", False), ("nothing", True)]
    wrong = results[1]
    assert [str(e) for e in wrong.actual] == ['show(content: "anyone")']
    assert [str(e) for e in wrong.expected] == ['show(content: "vip")']


def test_scenes_refuse_clients_and_access_modes_they_do_not_declare() -> None:
    from arbiter.engine.engine import ClientNotAllowed

    eng = engine('scene gate { access embedded clients [checkout_service] }\n'
                 'strategy gate_v1 { scene gate hit first rule ok { then pass() } }')
    assert [str(e) for e in eng.decide("gate", {}, client="checkout_service", access="embedded").effects] == ["pass()"]
    with pytest.raises(ClientNotAllowed, match="client `web` may not call scene `gate`"):
        eng.decide("gate", {}, client="web")
    with pytest.raises(ClientNotAllowed, match="scene `gate` is reached embedded only, not api"):
        eng.decide("gate", {}, access="api")
