"""Shared pieces of the experiments tests: a small rule set with a 50/50 experiment and a
hand-made data set whose figures are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.dsl.model import Experiment
from arbiter.engine.experiments import Exposure
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.experiments import service
from arbiter.platform.experiments.stores import BufferedExposures

T0 = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)

RULES = """
tag user.id: string
effect show(content: string)
scene popup { strategy popup_a }
strategy popup_a { scene popup hit first rule r { then show(content: "A") } }
strategy popup_b { scene popup hit first rule r { then show(content: "B") } }
experiment popup_ab {
    scene popup
    unit user.id
    seed "popup-ab"
    status running
    variant control { strategy popup_a weight %d }
    variant treatment { strategy popup_b weight %d }
}
"""


def rules_text(control: int = 50, treatment: int = 50) -> str:
    return RULES % (control, treatment)


def ruleset(control: int = 50, treatment: int = 50) -> Ruleset:
    result = check_sources({"popup.rules": rules_text(control, treatment)})
    assert result.ok, [d.message for d in result.diagnostics]
    return compile_program(result)


def experiment(control: int = 50, treatment: int = 50) -> Experiment:
    return ruleset(control, treatment).program.experiments["popup_ab"]


def expose(db: Engine, exposures: list[tuple[str, str, datetime]]) -> None:
    sink = BufferedExposures()
    for unit, variant, at in exposures:
        sink.record(Exposure("popup_ab", variant, unit, at))
    sink.flush(db)
    assert sink.failures == 0


def order(db: Engine, order_id: str, unit: str, amount: str, at: datetime, currency: str = "CNY") -> None:
    with UnitOfWork(db) as uow:
        service.record_conversion(uow, order_id, unit, Money.of(amount, currency), at)


def hand_made(db: Engine) -> None:
    """Control: c1..c4, treatment: t1..t4; t4 was later seen in control (its first exposure
    decides); c2 ordered only before its exposure; t1 ordered twice."""
    expose(db, [
        ("c1", "control", T0), ("c2", "control", T0), ("c3", "control", T0 + timedelta(days=1)),
        ("c4", "control", T0), ("c1", "control", T0 + timedelta(days=1)),
        ("t1", "treatment", T0), ("t2", "treatment", T0), ("t3", "treatment", T0),
        ("t4", "treatment", T0), ("t4", "control", T0 + timedelta(days=2)),
    ])
    order(db, "o1", "c1", "100.10", T0 + timedelta(hours=1))
    order(db, "o2", "c2", "999.00", T0 - timedelta(hours=1))  # before the exposure: not counted
    order(db, "o3", "t1", "50.05", T0 + timedelta(minutes=5))
    order(db, "o4", "t1", "49.95", T0 + timedelta(days=3))
    order(db, "o5", "t2", "0.01", T0)  # at the very moment of exposure: counted
    order(db, "o6", "t4", "30.00", T0 + timedelta(days=2, hours=1))
    order(db, "o7", "stranger", "77.00", T0)  # never exposed
