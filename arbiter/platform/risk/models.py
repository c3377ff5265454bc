"""The risk module's tables: the entries of the block and allow lists operators manage, and
the review queue (人工审核) — the cases a `review` decision opens and every action on them.

Who added or removed a list entry, when and why is kept in the shared audit trail
(`risk_list.add`, `risk_list.remove`); the row keeps the entry's current state. A review case
keeps its own trail in `risk_review_action`. Times are stored in UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import time_column

NAME_LENGTH = 100
VALUE_LENGTH = 200
KEY_LENGTH = 200
CASE_ID_LENGTH = 40

# A case moves once: open -> approved | rejected | expired.
OPEN = "open"
APPROVED = "approved"
REJECTED = "rejected"
EXPIRED = "expired"
CASE_STATUSES = (OPEN, APPROVED, REJECTED, EXPIRED)

# What waits on a case: the action the decision held.
SUBJECT_KINDS = ("order", "payment", "withdrawal", "registration", "credit_application")


class RiskListEntry(SQLModel, table=True):
    """One value on one managed list (黑白名单): a user id, device id, IP, card or address."""

    __tablename__ = "risk_list_entry"

    name: str = Field(primary_key=True, max_length=NAME_LENGTH)  # e.g. blocklist, device_blocklist
    value: str = Field(primary_key=True, max_length=VALUE_LENGTH)
    reason: str
    added_by: str = Field(max_length=200)
    added_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True), nullable=True)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in (" + ", ".join(f"'{v}'" for v in values) + ")"


class RiskReviewCase(SQLModel, table=True):
    """A decision held for a person (审核单): what waits (subject), why (effects and the
    decision's explanation, JSON), by when (due_at, the SLA) and how it ended.

    `key` makes opening idempotent; the status moves by one conditional UPDATE
    (`... WHERE status = 'open'`), so a case is decided exactly once."""

    __tablename__ = "risk_review_case"
    __table_args__ = (
        UniqueConstraint("key", name="uq_risk_review_case_key"),
        CheckConstraint(_one_of("status", CASE_STATUSES), name="ck_risk_review_case_status"),
        CheckConstraint(_one_of("subject_kind", SUBJECT_KINDS), name="ck_risk_review_case_subject_kind"),
        Index("ix_risk_review_case_status_due", "status", "due_at"),
        Index("ix_risk_review_case_subject", "subject_kind", "subject_id"),
    )

    id: str = Field(primary_key=True, max_length=CASE_ID_LENGTH)
    key: str = Field(max_length=KEY_LENGTH)
    scene: str = Field(max_length=NAME_LENGTH)
    subject_kind: str = Field(max_length=32)
    subject_id: str = Field(max_length=VALUE_LENGTH)
    reasons: str = Field(sa_column=Column(Text, nullable=False))  # JSON list: the review effects' reasons
    effects: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of effects
    explanation: str = Field(sa_column=Column(Text, nullable=False))  # JSON: rules, fired, trace
    opened_at: datetime = time_column(nullable=False)
    due_at: datetime = time_column(nullable=False)
    status: str = Field(default=OPEN, max_length=16)
    assignee: str | None = Field(default=None, max_length=200)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = time_column(nullable=True)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # the decider's


class RiskReviewAction(SQLModel, table=True):
    """One line of a case's audit trail: who did what to it, when, and their note."""

    __tablename__ = "risk_review_action"
    __table_args__ = (Index("ix_risk_review_action_case", "case_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="risk_review_case.id", max_length=CASE_ID_LENGTH)
    at: datetime = time_column(nullable=False)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=16)  # open | assign | approve | reject | expire
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
