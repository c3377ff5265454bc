"""Experiment use cases: start and stop at run time, record conversions, and the report.

The report is intention-to-treat: a unit belongs to the variant of its FIRST exposure (its
earliest day), and counts as converted when it placed at least one order at or after that
moment; its metric is the sum of those orders' amounts (exact Decimal). Units whose first
exposure falls outside [since, until) are left out, and orders at or after `until` too.
The figures come from `arbiter.engine.experiment_stats`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, and_, func, select
from sqlmodel import col

from arbiter.clock import Clock, SystemClock
from arbiter.dsl.model import Experiment
from arbiter.engine.experiment_stats import (
    SRM_THRESHOLD,
    Results,
    SampleRatio,
    VariantCounts,
    VariantResult,
    analyse,
)
from arbiter.errors import ArbiterError, CurrencyMismatch, InvalidInput
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.experiments.models import (
    AMOUNT_SCALE,
    ConversionEvent,
    ExperimentState,
    ExperimentStateChange,
    utc,
)
from arbiter.platform.experiments.stores import EXPOSURES, insert_if_absent

CONVERSIONS: Table = getattr(ConversionEvent, "__table__")  # noqa: B009 - typed as a Table here

STATUSES = ("draft", "running", "stopped")


class ConflictingConversion(ArbiterError):
    """An order id already recorded with another unit, amount, currency or time."""

    code = "experiments.conversion.conflict"


@dataclass(frozen=True, slots=True)
class StateChange:
    name: str
    status: str
    changed_by: str
    changed_at: datetime
    why: str
    changed: bool  # False when the experiment already had that status


@dataclass(frozen=True, slots=True)
class ConversionRecorded:
    order_id: str
    recorded: bool  # False when the order was already there (a replay)


@dataclass(frozen=True, slots=True)
class Report:
    experiment: str
    scene: str
    unit: str
    currency: str | None  # of the metric; None when no order was joined
    since: datetime | None
    until: datetime | None
    results: Results
    undeclared: Mapping[str, int] = field(default_factory=dict)  # units in variants no longer declared

    @property
    def variants(self) -> tuple[VariantResult, ...]:
        return self.results.variants

    @property
    def srm(self) -> SampleRatio | None:
        return self.results.srm


def _change(uow: UnitOfWork, name: str, status: str, by: str, why: str, clock: Clock | None) -> StateChange:
    if status not in STATUSES:
        raise InvalidInput(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    name, by, why = name.strip(), by.strip(), why.strip()
    if not name:
        raise InvalidInput("name: the experiment's name is required")
    if not by:
        raise InvalidInput("by: say who changes the experiment")
    if not why:
        raise InvalidInput("why: say why the experiment changes")
    at = utc((clock or SystemClock()).now())
    session = uow.session
    # The row lock orders concurrent operators on PostgreSQL; SQLite serialises writers anyway.
    state = session.get(ExperimentState, name, with_for_update=True)
    if state is not None and state.status == status:
        return StateChange(name, status, state.changed_by, utc(state.changed_at), state.why, False)
    if state is None:
        state = ExperimentState(name=name, status=status, changed_by=by, changed_at=at, why=why)
    else:
        state.status, state.changed_by, state.changed_at, state.why = status, by, at, why
    session.add(state)
    session.add(ExperimentStateChange(name=name, status=status, changed_by=by, changed_at=at, why=why))
    uow.commit()
    return StateChange(name, status, by, at, why, True)


def start(uow: UnitOfWork, name: str, by: str, why: str, *, clock: Clock | None = None) -> StateChange:
    """Run the experiment from now on (the engines pick it up on their next reload)."""
    return _change(uow, name, "running", by, why, clock)


def stop(uow: UnitOfWork, name: str, by: str, why: str, *, clock: Clock | None = None) -> StateChange:
    """Stop the experiment: its units go back to the scene's default strategy."""
    return _change(uow, name, "stopped", by, why, clock)


def statuses(uow: UnitOfWork) -> dict[str, str]:
    """{experiment: status} as operators set it; the Engine's `experiment_status`."""
    rows = uow.session.execute(select(col(ExperimentState.name), col(ExperimentState.status)))
    return {name: status for name, status in rows}


def history(uow: UnitOfWork, name: str) -> list[StateChange]:
    """Every start and stop of an experiment, oldest first."""
    query = (
        select(ExperimentStateChange)
        .where(col(ExperimentStateChange.name) == name)
        .order_by(col(ExperimentStateChange.changed_at), col(ExperimentStateChange.id))
    )
    return [
        StateChange(c.name, c.status, c.changed_by, utc(c.changed_at), c.why, True)
        for c in uow.session.scalars(query)
    ]


def record_conversion(uow: UnitOfWork, order_id: str, unit: str, amount: Money, at: datetime) -> ConversionRecorded:
    """Record a paid order of `unit`, once per `order_id`: a replay with the same figures is
    acknowledged and changes nothing; the same id with other figures is refused."""
    order_id, unit = order_id.strip(), unit.strip()
    if not order_id:
        raise InvalidInput("order_id is required")
    if not unit:
        raise InvalidInput("unit is required")
    if amount.amount < 0:
        raise InvalidInput(f"amount: {amount} is negative; refunds are not conversions")
    exponent = amount.amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -AMOUNT_SCALE:
        raise InvalidInput(f"amount: {amount} has more than {AMOUNT_SCALE} decimal places")
    row = {"order_id": order_id, "unit": unit, "amount": amount.amount, "currency": amount.currency, "at": utc(at)}
    session = uow.session
    statement = insert_if_absent(CONVERSIONS, session.get_bind().dialect.name).values(**row)
    # RETURNING says whether the row went in (rowcount is not reliable across drivers).
    if session.execute(statement.returning(CONVERSIONS.c.order_id)).first() is not None:
        uow.commit()
        return ConversionRecorded(order_id, True)
    existing = session.get(ConversionEvent, order_id)
    if existing is None:  # deleted in between: nothing sensible to compare with
        raise ConflictingConversion(f"order {order_id}: recorded and gone at once; retry")
    same = (
        existing.unit == unit
        and Decimal(existing.amount) == amount.amount
        and existing.currency == amount.currency
        and utc(existing.at) == utc(at)
    )
    if not same:
        raise ConflictingConversion(
            f"order {order_id} was recorded as {existing.amount} {existing.currency} for unit "
            f"{existing.unit} at {utc(existing.at).isoformat()}; refusing different figures"
        )
    return ConversionRecorded(order_id, False)


def _first_exposures(name: str, since: datetime | None, until: datetime | None) -> Any:
    """Each unit's first exposure (its earliest day's row), within [since, until)."""
    exposure = EXPOSURES.alias("exposure")
    earlier = EXPOSURES.alias("earlier")
    has_earlier = (
        select(earlier.c.day)
        .where(earlier.c.experiment == exposure.c.experiment, earlier.c.unit == exposure.c.unit,
               earlier.c.day < exposure.c.day)
        .exists()
    )
    query = select(exposure.c.unit, exposure.c.variant, exposure.c.first_at).where(
        exposure.c.experiment == name, ~has_earlier
    )
    if since is not None:
        query = query.where(exposure.c.first_at >= utc(since))
    if until is not None:
        query = query.where(exposure.c.first_at < utc(until))
    return query.subquery("first_exposure")


def report(
    uow: UnitOfWork,
    experiment: Experiment,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    confidence: float = 0.95,
    srm_threshold: float = SRM_THRESHOLD,
) -> Report:
    """Exposures, conversions and the metric per variant, with intervals, lifts and the
    sample-ratio check against the declared weights."""
    first = _first_exposures(experiment.name, since, until)
    joined = and_(CONVERSIONS.c.unit == first.c.unit, CONVERSIONS.c.at >= first.c.first_at)
    if until is not None:
        joined = and_(joined, CONVERSIONS.c.at < utc(until))
    per_unit = (
        select(
            first.c.variant,
            func.count(CONVERSIONS.c.order_id),
            func.sum(CONVERSIONS.c.amount),
            func.min(CONVERSIONS.c.currency),
            func.max(CONVERSIONS.c.currency),
        )
        .select_from(first.outerjoin(CONVERSIONS, joined))
        .group_by(first.c.variant, first.c.unit)
    )
    units: dict[str, int] = {}
    conversions: dict[str, int] = {}
    metric: dict[str, Decimal] = {}
    currencies: set[str] = set()
    # Per-unit sums come back from SQL; the sums over units are made here, in Decimal, so that
    # they stay exact on SQLite too (which adds NUMERIC columns as floating point).
    for variant, orders, amount, low, high in uow.session.execute(per_unit):
        units[variant] = units.get(variant, 0) + 1
        if orders:
            conversions[variant] = conversions.get(variant, 0) + 1
            metric[variant] = metric.get(variant, Decimal(0)) + Decimal(amount)
            currencies.update((low, high))
    if len(currencies) > 1:
        raise CurrencyMismatch(
            f"experiment {experiment.name}: orders in {', '.join(sorted(currencies))}; "
            "the metric needs one currency"
        )
    declared = [v.name for v in experiment.variants]
    counts = [
        VariantCounts(v.name, v.weight, units.get(v.name, 0), conversions.get(v.name, 0),
                      metric.get(v.name, Decimal(0)))
        for v in experiment.variants
    ]
    return Report(
        experiment=experiment.name,
        scene=experiment.scene,
        unit=experiment.unit,
        currency=next(iter(currencies), None),
        since=since,
        until=until,
        results=analyse(counts, confidence=confidence, srm_threshold=srm_threshold),
        undeclared={name: n for name, n in sorted(units.items()) if name not in declared},
    )
