"""The report on generated data sets whose truth is known: 40,000 units split 50/50 through
the real Engine, control converting at 10% and treatment at 12% (a true lift of +20%); then
the same with 5% of the treatment's exposures lost, which the sample-ratio check must flag."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from arbiter.cli import app
from arbiter.clock import FixedClock
from arbiter.engine.engine import Engine as DecisionEngine
from arbiter.engine.experiments import Exposure
from arbiter.platform.db import UnitOfWork
from arbiter.platform.experiments import service
from arbiter.platform.experiments.service import CONVERSIONS, Report
from arbiter.platform.experiments.stores import BufferedExposures

from .support import experiment, rules_text, ruleset

UNITS = 40_000
RATES = {"control": 0.10, "treatment": 0.12}
TRUE_LIFT = RATES["treatment"] / RATES["control"] - 1
START = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


@dataclass
class Truth:
    units: dict[str, int] = field(default_factory=lambda: {"control": 0, "treatment": 0})
    conversions: dict[str, int] = field(default_factory=lambda: {"control": 0, "treatment": 0})
    gmv: dict[str, Decimal] = field(default_factory=lambda: {"control": Decimal(0), "treatment": Decimal(0)})


class LossySink:
    """An exposure logger with a bug: it loses a share of one variant's exposures."""

    def __init__(self, inner: BufferedExposures, variant: str, share: float, rng: random.Random) -> None:
        self.inner, self.variant, self.share, self.rng = inner, variant, share, rng
        self.lost: set[str] = set()

    def record(self, exposure: Exposure) -> None:
        if exposure.variant == self.variant and (exposure.unit in self.lost or self.rng.random() < self.share):
            self.lost.add(exposure.unit)
            return
        self.inner.record(exposure)


def generate(db: Engine, *, seed: int, lose_treatment: float = 0.0, prefix: str = "u") -> Truth:
    """Decide for every unit through the Engine (a tenth come back the next day), let units
    convert at their variant's rate with one or two orders after exposure, add orders placed
    before exposure (which must not count), and store it all."""
    rng = random.Random(seed)
    clock = FixedClock(START)
    buffer = BufferedExposures(capacity=2 * UNITS)
    sink = LossySink(buffer, "treatment", lose_treatment, rng)
    decider = DecisionEngine(ruleset(), clock, exposures=sink)
    truth = Truth()
    orders: list[dict[str, Any]] = []
    returning: list[str] = []
    for i in range(UNITS):
        clock.advance(timedelta(seconds=1))
        unit = f"{prefix}{i}"
        decision = decider.decide("popup", {"user": {"id": unit}})
        variant = decision.variant
        assert variant in RATES
        if i % 10 == 0:
            returning.append(unit)
        if rng.random() < 0.03:  # bought before ever seeing the popup
            orders.append(order(f"pre-{i}", unit, rng, clock.now() - timedelta(hours=2)))
        if unit in sink.lost:
            continue
        truth.units[variant] += 1
        if rng.random() < RATES[variant]:
            truth.conversions[variant] += 1
            for n in range(rng.choice((1, 1, 2))):
                placed = order(f"o-{i}-{n}", unit, rng, clock.now() + timedelta(minutes=rng.randint(0, 4000)))
                orders.append(placed)
                truth.gmv[variant] += placed["amount"]
    clock.advance(timedelta(days=1))
    for unit in returning:
        decider.decide("popup", {"user": {"id": unit}})
    assert buffer.dropped == 0
    buffer.flush(db)
    assert buffer.failures == 0 and len(buffer) == 0
    with db.begin() as connection:
        connection.execute(insert(CONVERSIONS), orders)
    return truth


def order(order_id: str, unit: str, rng: random.Random, at: datetime) -> dict[str, Any]:
    amount = Decimal(rng.randint(1_000, 99_999)) / 100
    return {"order_id": order_id, "unit": unit, "amount": amount, "currency": "CNY", "at": at}


def report(db: Engine) -> Report:
    with UnitOfWork(db) as uow:
        return service.report(uow, experiment())


def test_the_report_recovers_a_known_lift(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    truth = generate(sqlite_engine, seed=2026)
    found = report(sqlite_engine)
    control, treatment = found.variants
    # The counts and the GMV are exactly what was generated.
    for result in (control, treatment):
        assert result.units == truth.units[result.name]
        assert result.conversions == truth.conversions[result.name]
        assert result.metric == truth.gmv[result.name]
    assert control.units + treatment.units == UNITS
    # The intervals cover the true rates and the true lift; the estimate is close to it.
    assert control.rate_interval is not None and control.rate_interval.covers(RATES["control"])
    assert treatment.rate_interval is not None and treatment.rate_interval.covers(RATES["treatment"])
    assert treatment.lift is not None and treatment.lift_interval is not None
    assert treatment.lift_interval.covers(TRUE_LIFT)
    standard_error = (treatment.lift_interval.high - treatment.lift_interval.low) / (2 * 1.96)
    assert abs(treatment.lift - TRUE_LIFT) < 3 * standard_error
    assert treatment.lift_interval.low > 0  # the lift is detected
    assert found.srm is not None and not found.srm.flagged
    # `arbiter experiment report` prints the same figures.
    rules = tmp_path / "popup.rules"
    rules.write_text(rules_text(), encoding="utf-8")
    monkeypatch.setenv("ARBITER_DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(app, ["experiment", "report", "popup_ab", str(rules), "--format", "json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert [(v["units"], v["conversions"], Decimal(v["metric"])) for v in printed["variants"]] == [
        (v.units, v.conversions, v.metric) for v in found.variants
    ]
    assert printed["variants"][1]["lift_interval"] == [treatment.lift_interval.low, treatment.lift_interval.high]
    assert printed["srm"]["flagged"] is False
    text = CliRunner().invoke(app, ["experiment", "report", "popup_ab", str(rules)]).stdout
    assert f"{treatment.lift * 100:+.2f}% [{treatment.lift_interval.low * 100:+.2f}%, " in text
    print(
        f"\nknown lift: control {control.conversions}/{control.units} = {control.rate:.4f}, "
        f"treatment {treatment.conversions}/{treatment.units} = {treatment.rate:.4f}, "
        f"lift {treatment.lift:+.4f} [{treatment.lift_interval.low:+.4f}, {treatment.lift_interval.high:+.4f}], "
        f"SRM p = {found.srm.p_value:.4f}, GMV {control.metric} / {treatment.metric}"
    )


def test_a_sample_ratio_mismatch_is_flagged(db: Engine) -> None:
    truth = generate(db, seed=7, lose_treatment=0.05)
    found = report(db)
    control, treatment = found.variants
    assert (control.units, treatment.units) == (truth.units["control"], truth.units["treatment"])
    assert treatment.units < 0.97 * control.units
    assert found.srm is not None and found.srm.flagged and found.srm.p_value < 0.001
    print(f"\nsample ratio mismatch: {control.units} / {treatment.units}, "
          f"chi² = {found.srm.chi_square:.2f}, p = {found.srm.p_value:.2e}")


def test_a_clean_split_of_another_population_is_not_flagged(sqlite_engine: Engine) -> None:
    generate(sqlite_engine, seed=11, prefix="member-")
    found = report(sqlite_engine)
    assert found.srm is not None and not found.srm.flagged, found.srm
