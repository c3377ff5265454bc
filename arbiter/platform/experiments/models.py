"""The experiments module's tables: sticky assignments, daily exposures, the run-time state
operators set (start/stop, with its history) and the conversion events joined from orders.

Times are stored in UTC: PostgreSQL keeps `timestamptz`; SQLite keeps the UTC wall time as
text, so every value is normalised with `utc` before it is written or compared.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import DateTime, Index, Numeric
from sqlmodel import Field, SQLModel

NAME_LENGTH = 200
AMOUNT_SCALE = 4  # digits after the point an amount may carry


def utc(at: datetime) -> datetime:
    """`at` in UTC; a naive time is taken to be UTC already."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class ExperimentAssignment(SQLModel, table=True):
    """The variant a unit was first given: written once (insert if absent), never updated."""

    __tablename__ = "experiment_assignment"

    experiment: str = Field(primary_key=True, max_length=NAME_LENGTH)
    unit: str = Field(primary_key=True, max_length=NAME_LENGTH)
    variant: str = Field(max_length=NAME_LENGTH)
    assigned_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)


class ExperimentExposure(SQLModel, table=True):
    """At most one row per unit, experiment and day: the variant and the first time that day."""

    __tablename__ = "experiment_exposure"

    experiment: str = Field(primary_key=True, max_length=NAME_LENGTH)
    unit: str = Field(primary_key=True, max_length=NAME_LENGTH)
    day: date = Field(primary_key=True)
    variant: str = Field(max_length=NAME_LENGTH)
    first_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)


class ExperimentState(SQLModel, table=True):
    """The status operators set at run time; it overrides the status in the rule files."""

    __tablename__ = "experiment_state"

    name: str = Field(primary_key=True, max_length=NAME_LENGTH)
    status: str = Field(max_length=16)  # draft | running | stopped
    changed_by: str = Field(max_length=NAME_LENGTH)
    changed_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    why: str


class ExperimentStateChange(SQLModel, table=True):
    """Every start and stop, for the audit trail."""

    __tablename__ = "experiment_state_change"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=NAME_LENGTH)
    status: str = Field(max_length=16)
    changed_by: str = Field(max_length=NAME_LENGTH)
    changed_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    why: str


class ConversionEvent(SQLModel, table=True):
    """A paid order of a unit, recorded once per order id (the idempotency key)."""

    __tablename__ = "experiment_conversion"
    __table_args__ = (Index("ix_experiment_conversion_unit_at", "unit", "at"),)

    order_id: str = Field(primary_key=True, max_length=NAME_LENGTH)
    unit: str = Field(max_length=NAME_LENGTH)
    amount: Decimal = Field(sa_type=Numeric(20, AMOUNT_SCALE), nullable=False)
    currency: str = Field(max_length=3)
    at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
