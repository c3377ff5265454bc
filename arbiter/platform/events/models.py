"""The `platform_event` table: the outbox every module appends its events to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class PlatformEvent(SQLModel, table=True):
    """One event. `key` makes emitting idempotent: the same key is recorded once."""

    __tablename__ = "platform_event"
    __table_args__ = (
        UniqueConstraint("key", name="uq_platform_event_key"),
        Index("ix_platform_event_kind_id", "kind", "id"),
        Index("ix_platform_event_subject", "subject"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)
    kind: str = Field(max_length=100)  # a dotted name: order.paid, aftersales.refunded, ...
    subject: str = Field(max_length=200)  # what it is about: an order id, a user id, ...
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON object
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
