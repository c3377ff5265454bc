"""Experiment assignment: GrowthBook-compatible hashing, coverage, stickiness, namespaces,
holdouts and exposures, through the engine."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import compile_program
from arbiter.engine.engine import Engine
from arbiter.engine.experiments import (
    Exposure,
    InMemoryAssignments,
    bucket_ranges,
    choose_variation,
    fnv1a32,
    gb_hash,
)


def test_hash_matches_growthbook_v2_vector() -> None:
    assert gb_hash("seed", "a") == 0.0505
    assert gb_hash("seed", "b") == 0.2696
    assert fnv1a32("") == 0x811C9DC5


def test_hash_is_stable_across_processes() -> None:
    units = [f"u{i}" for i in range(200)] + ["会员-7", "user@example.com"]
    here = [gb_hash("exp-1", u) for u in units]
    code = (
        "import json, sys\n"
        "from arbiter.engine.experiments import gb_hash\n"
        "units = json.loads(sys.stdin.read())\n"
        "print(json.dumps([gb_hash('exp-1', u) for u in units]))\n"
    )
    import json

    out = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(units), capture_output=True, text=True, check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
        cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]),
    )
    assert json.loads(out.stdout) == here


def test_bucket_ranges_follow_weights_and_coverage() -> None:
    assert bucket_ranges([Decimal(1), Decimal(1)], Decimal(1)) == [(0.0, 0.5), (0.5, 1.0)]
    assert bucket_ranges([Decimal(1), Decimal(1)], Decimal("0.5")) == [(0.0, 0.25), (0.5, 0.75)]
    assert bucket_ranges([Decimal(2), Decimal(3), Decimal(5)], Decimal(1)) == [(0.0, 0.2), (0.2, 0.5), (0.5, 1.0)]
    assert choose_variation(0.6, [(0.0, 0.25), (0.5, 0.75)]) == 1
    assert choose_variation(0.3, [(0.0, 0.25), (0.5, 0.75)]) == -1


@settings(max_examples=200, deadline=None)
@given(
    low=st.integers(0, 100), high=st.integers(0, 100), unit=st.text(min_size=1, max_size=12),
    weights=st.lists(st.integers(1, 10), min_size=2, max_size=4),
)
def test_raising_coverage_never_moves_an_assigned_unit(low: int, high: int, unit: str, weights: list[int]) -> None:
    low, high = sorted((low, high))
    n = gb_hash("cov", unit)
    w = [Decimal(x) for x in weights]
    before = choose_variation(n, bucket_ranges(w, Decimal(low) / 100))
    after = choose_variation(n, bucket_ranges(w, Decimal(high) / 100))
    if before >= 0:
        assert after == before


RULES = """
tag user.id: string
tag user.level: int { default 0 }
effect show(content: string)
scene popup { strategy popup_a }
strategy popup_a { scene popup hit first rule r { then show(content: "A") } }
strategy popup_b { scene popup hit first rule r { then show(content: "B") } }
strategy popup_c { scene popup hit first rule r { then show(content: "C") } }
"""

CLOCK = FixedClock(datetime(2026, 11, 11, 12, 0, tzinfo=UTC))


class Sink:
    def __init__(self) -> None:
        self.exposures: list[Exposure] = []

    def record(self, exposure: Exposure) -> None:
        self.exposures.append(exposure)


def build(extra: str, **kwargs: object) -> Engine:
    result = check_sources({"rules.rules": RULES + extra})
    assert result.ok, [d.message for d in result.diagnostics]
    return Engine(compile_program(result), CLOCK, **kwargs)  # type: ignore[arg-type]


AB = """
experiment popup_ab {
    scene popup
    unit user.id
    seed "popup-ab"
    status running
    variant control { strategy popup_a weight %d }
    variant treatment { strategy popup_b weight %d }
}
"""


def test_units_split_by_weight_and_each_decision_records_an_exposure() -> None:
    sink = Sink()
    engine = build(AB % (50, 50), exposures=sink)
    seen = {"A": 0, "B": 0}
    for i in range(2000):
        decision = engine.decide("popup", {"user": {"id": f"u{i}"}})
        seen[decision.effects[0].get("content")] += 1
        assert decision.experiment == "popup_ab"
        assert decision.variant == ("control" if decision.strategy == "popup_a" else "treatment")
    assert 900 < seen["A"] < 1100 and seen["A"] + seen["B"] == 2000
    assert len(sink.exposures) == 2000
    assert sink.exposures[0] == Exposure("popup_ab", sink.exposures[0].variant, "u0", CLOCK.now())


def test_a_stored_assignment_survives_a_weight_change() -> None:
    store = InMemoryAssignments()
    before = build(AB % (50, 50), assignments=store)
    first = {f"u{i}": before.decide("popup", {"user": {"id": f"u{i}"}}).variant for i in range(500)}
    after = build(AB % (10, 90), assignments=store)
    again = {f"u{i}": after.decide("popup", {"user": {"id": f"u{i}"}}).variant for i in range(500)}
    assert again == first
    stateless = build(AB % (10, 90))
    moved = sum(1 for u, v in first.items() if stateless.decide("popup", {"user": {"id": u}}).variant != v)
    assert moved > 100  # without the store, the new weights would have moved units


LAYER = """
experiment left {
    scene popup unit user.id status running namespace "popup_layer" range [0%, 50%]
    variant only { strategy popup_b weight 1 }
}
experiment right {
    scene popup unit user.id status running namespace "popup_layer" range [50%, 100%]
    variant only { strategy popup_c weight 1 }
}
"""


def test_experiments_in_one_namespace_never_share_a_unit() -> None:
    engine = build(LAYER)
    counts = {"left": 0, "right": 0, None: 0}
    for i in range(3000):
        counts[engine.decide("popup", {"user": {"id": f"u{i}"}}).experiment] += 1
    # Every unit lands in exactly one of the two halves of the namespace.
    assert counts[None] == 0
    assert 1300 < counts["left"] < 1700


def test_a_holdout_keeps_its_units_on_the_default_strategy() -> None:
    engine = build(AB % (50, 50) + 'holdout global { unit user.id seed "hold" traffic 10% }')
    held = [i for i in range(3000) if engine.decide("popup", {"user": {"id": f"u{i}"}}).experiment is None]
    assert 200 < len(held) < 400
    for i in held[:20]:
        assert engine.decide("popup", {"user": {"id": f"u{i}"}}).strategy == "popup_a"
        assert gb_hash("hold", f"u{i}") < 0.1


def test_a_stopped_experiment_serves_nobody() -> None:
    engine = build(AB % (50, 50), experiment_status={"popup_ab": "stopped"})
    assert engine.decide("popup", {"user": {"id": "u1"}}).experiment is None


def test_run_time_statuses_survive_a_reload() -> None:
    engine = build(AB.replace("status running", "status draft") % (50, 50), experiment_status={"popup_ab": "running"})
    assert engine.decide("popup", {"user": {"id": "u1"}}).experiment == "popup_ab"
    engine.swap(engine.ruleset, 2)
    assert engine.decide("popup", {"user": {"id": "u1"}}).experiment == "popup_ab"
    engine.set_experiment_status({"popup_ab": "stopped"})
    assert engine.decide("popup", {"user": {"id": "u1"}}).experiment is None
