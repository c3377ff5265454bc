"""Experiment use cases on SQLite and PostgreSQL: start/stop with history, idempotent
conversions, and the report's joins on a small hand-made data set (exact figures)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from arbiter.clock import FixedClock
from arbiter.engine.engine import Engine as DecisionEngine
from arbiter.errors import CurrencyMismatch, InvalidInput
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.experiments import service
from arbiter.platform.experiments.service import ConflictingConversion

from .support import T0, experiment, expose, hand_made, order, ruleset


def test_start_and_stop_are_recorded_and_feed_the_engine(db: Engine) -> None:
    clock = FixedClock(T0)
    with UnitOfWork(db) as uow:
        assert service.statuses(uow) == {}
        started = service.start(uow, "popup_ab", "ana", "launch", clock=clock)
    assert started.changed and started.status == "running" and started.changed_at == T0
    clock.advance(timedelta(hours=1))
    with UnitOfWork(db) as uow:
        again = service.start(uow, "popup_ab", "bob", "twice", clock=clock)
    assert not again.changed and again.changed_by == "ana" and again.changed_at == T0
    clock.advance(timedelta(hours=1))
    with UnitOfWork(db) as uow:
        stopped = service.stop(uow, "popup_ab", "bob", "bug in v2", clock=clock)
        status = service.statuses(uow)
        history = service.history(uow, "popup_ab")
    assert stopped.changed and status == {"popup_ab": "stopped"}
    assert [(h.status, h.changed_by, h.why) for h in history] == [
        ("running", "ana", "launch"), ("stopped", "bob", "bug in v2"),
    ]
    decision = DecisionEngine(ruleset(), clock, experiment_status=status).decide("popup", {"user": {"id": "u1"}})
    assert decision.experiment is None


def test_a_status_change_needs_who_and_why(db: Engine) -> None:
    with UnitOfWork(db) as uow, pytest.raises(InvalidInput):
        service.stop(uow, "popup_ab", "ana", "  ")
    with UnitOfWork(db) as uow, pytest.raises(InvalidInput):
        service.start(uow, "popup_ab", "", "why")


def test_conversions_are_idempotent_by_order_id(db: Engine) -> None:
    amount = Money.of("199.90")
    with UnitOfWork(db) as uow:
        assert service.record_conversion(uow, "o-1", "u1", amount, T0).recorded
    with UnitOfWork(db) as uow:
        assert not service.record_conversion(uow, "o-1", "u1", Money.of("199.9000"), T0).recorded
    with UnitOfWork(db) as uow, pytest.raises(ConflictingConversion):
        service.record_conversion(uow, "o-1", "u1", Money.of("10"), T0)
    with UnitOfWork(db) as uow, pytest.raises(InvalidInput):
        service.record_conversion(uow, "o-2", "u1", Money.of("-1"), T0)
    with UnitOfWork(db) as uow, pytest.raises(InvalidInput):
        service.record_conversion(uow, "o-3", "u1", Money.of("0.00001"), T0)


def test_the_report_joins_first_exposures_with_later_orders(db: Engine) -> None:
    hand_made(db)
    with UnitOfWork(db) as uow:
        report = service.report(uow, experiment())
    control, treatment = report.variants
    assert (control.units, control.conversions, control.metric) == (4, 1, Decimal("100.10"))
    assert (treatment.units, treatment.conversions, treatment.metric) == (4, 3, Decimal("130.01"))
    assert control.metric_per_unit == Decimal("25.03")  # 25.025 rounded half up
    assert treatment.metric_per_unit == Decimal("32.50")  # 32.5025
    assert treatment.lift == pytest.approx(2.0)
    assert report.currency == "CNY" and report.undeclared == {}
    assert report.srm is not None and report.srm.p_value == 1.0 and not report.srm.flagged


def test_the_report_window(db: Engine) -> None:
    hand_made(db)
    with UnitOfWork(db) as uow:
        # c3 was first exposed on day 2; orders from day 2 on are cut (o4, o6).
        report = service.report(uow, experiment(), since=T0, until=T0 + timedelta(days=1))
    control, treatment = report.variants
    assert (control.units, control.conversions, control.metric) == (3, 1, Decimal("100.10"))
    assert (treatment.units, treatment.conversions, treatment.metric) == (4, 2, Decimal("50.06"))
    with UnitOfWork(db) as uow:
        later = service.report(uow, experiment(), since=T0 + timedelta(hours=12))
    assert [v.units for v in later.variants] == [1, 0]


def test_variants_no_longer_declared_are_set_aside(db: Engine) -> None:
    expose(db, [("u1", "control", T0), ("u2", "old_variant", T0)])
    with UnitOfWork(db) as uow:
        report = service.report(uow, experiment())
    assert [v.units for v in report.variants] == [1, 0]
    assert report.undeclared == {"old_variant": 1}


def test_a_metric_in_two_currencies_is_refused(db: Engine) -> None:
    expose(db, [("u1", "control", T0), ("u2", "treatment", T0)])
    order(db, "o1", "u1", "10", T0)
    order(db, "o2", "u2", "10", T0, currency="USD")
    with UnitOfWork(db) as uow, pytest.raises(CurrencyMismatch):
        service.report(uow, experiment())
