"""The `ruleset_versions` table: one row per set of rule files saved or published together.

A version is identified by its `number` (unique, allocated in order) and the content `hash`
of its sources. Its status goes draft -> published -> archived; at most one row is published
at a time, which a partial unique index enforces, so two publishers racing cannot both win.
The sources are stored as JSON text `{file name: text}` and never change once published.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, DateTime, Index, Text, text
from sqlmodel import Field, SQLModel

DRAFT = "draft"
PUBLISHED = "published"
ARCHIVED = "archived"
STATUSES = (DRAFT, PUBLISHED, ARCHIVED)


class RulesetVersion(SQLModel, table=True):
    __tablename__ = "ruleset_versions"
    __table_args__ = (
        CheckConstraint(
            "status in ('draft', 'published', 'archived')", name="ck_ruleset_versions_status"
        ),
        # At most one published version, whatever the number of concurrent publishers.
        Index(
            "uq_ruleset_versions_one_published",
            "status",
            unique=True,
            sqlite_where=text("status = 'published'"),
            postgresql_where=text("status = 'published'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True, index=True)
    hash: str = Field(max_length=64)
    status: str = Field(max_length=16)
    sources: str = Field(sa_column=Column(Text, nullable=False))  # JSON {file name: text}
    why: str = Field(sa_column=Column(Text, nullable=False))
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    published_by: str | None = Field(default=None, max_length=200)
    published_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    rollback_of: int | None = Field(default=None)  # the number of the version republished
