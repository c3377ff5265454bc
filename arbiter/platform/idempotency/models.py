"""The `idempotency_records` table: one row per (caller, key).

A row is `pending` from the claim until the first response is stored (`done`). `expires_at`
bounds both: a pending row whose owner died is taken over after its lease, and a done row
is forgotten after the retention period.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text
from sqlmodel import Field, SQLModel

KEY_LENGTH = 255
PENDING = "pending"
DONE = "done"


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_records"

    scope: str = Field(primary_key=True, max_length=64)  # whose key: the caller's key id
    key: str = Field(primary_key=True, max_length=KEY_LENGTH)
    fingerprint: str = Field(max_length=64)  # SHA-256 of the request it was first used for
    status: str = Field(max_length=16)
    response_status: int | None = Field(default=None)
    response_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    media_type: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
