"""The decision log table: one row per decision, from `LogRecord.to_row()`.

Effects and fired rules are JSON text (amounts inside as strings); the input is kept as a
digest of the prepared context, never the context itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Index, Text
from sqlmodel import Field, SQLModel


def utc(at: datetime) -> datetime:
    """`at` in UTC; a naive time is taken to be UTC already."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class DecisionLogEntry(SQLModel, table=True):
    __tablename__ = "decision_log"
    __table_args__ = (
        Index("ix_decision_log_scene_at", "scene", "at"),
        Index("ix_decision_log_experiment_variant", "experiment", "variant"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    scene: str = Field(max_length=200)
    ruleset_version: int | None = None
    ruleset_hash: str = Field(max_length=64)
    strategy: str | None = Field(default=None, max_length=200)
    experiment: str | None = Field(default=None, max_length=200)
    variant: str | None = Field(default=None, max_length=200)
    input_digest: str = Field(max_length=64)
    effects: str = Field(sa_type=Text, nullable=False)  # JSON list
    fired: str = Field(sa_type=Text, nullable=False)  # JSON list of rule ids
    latency_us: float  # a duration, not money
    failed: bool = False
    reason: str | None = Field(default=None, sa_type=Text)
