"""The `audit_log` table: append-only, one row per audited change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_at", "action", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str = Field(max_length=200)  # an API key id, or who ran the command
    action: str = Field(max_length=100)  # a dotted verb: rules.publish, keys.revoke, ...
    target: str = Field(max_length=200)  # what it acted on: a version number, a key id, ...
    detail: str = Field(sa_column=Column(Text, nullable=False))  # JSON object
