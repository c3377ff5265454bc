"""The risk module's tables: the entries of the block and allow lists operators manage.

Who added or removed an entry, when and why is kept in the shared audit trail
(`risk_list.add`, `risk_list.remove`); the row keeps the entry's current state.
Times are stored in UTC (see `arbiter.platform.experiments.models.utc`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel

NAME_LENGTH = 100
VALUE_LENGTH = 200


class RiskListEntry(SQLModel, table=True):
    """One value on one managed list (黑白名单): a user id, device id, IP, card or address."""

    __tablename__ = "risk_list_entry"

    name: str = Field(primary_key=True, max_length=NAME_LENGTH)  # e.g. blocklist, device_blocklist
    value: str = Field(primary_key=True, max_length=VALUE_LENGTH)
    reason: str
    added_by: str = Field(max_length=200)
    added_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True), nullable=True)
