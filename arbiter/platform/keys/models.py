"""The `api_keys` table: one row per key, never deleted (a revoked key keeps its row, so that
what it did stays attributable).

The secret is stored as its SHA-256 hex digest only. Secrets are 256 random bits, so a fast
hash is enough: there is nothing to guess that a slow hash would protect.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, DateTime
from sqlmodel import Field, SQLModel

SERVICE = "service"  # decisions and platform calls from other services
OPERATOR = "operator"  # rules, promotions, lists, the review queue
ANALYST = "analyst"  # experiments, reports, read-only data
MERCHANT = "merchant"  # its own shop's data only
ADMIN = "admin"  # everything
ROLES = (SERVICE, OPERATOR, ANALYST, MERCHANT, ADMIN)

NAME_LENGTH = 200


class ApiKeyRow(SQLModel, table=True):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "role in ('service', 'operator', 'analyst', 'merchant', 'admin')",
            name="ck_api_keys_role",
        ),
        # A merchant key is always bound to its shop: without one it could see every shop.
        CheckConstraint("role <> 'merchant' OR shop IS NOT NULL", name="ck_api_keys_merchant_shop"),
    )

    id: str = Field(primary_key=True, max_length=32)
    secret_sha256: str = Field(max_length=64)
    role: str = Field(max_length=16)
    shop: str | None = Field(default=None, max_length=NAME_LENGTH)
    name: str | None = Field(default=None, max_length=NAME_LENGTH)
    created_by: str = Field(max_length=NAME_LENGTH)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_by: str | None = Field(default=None, max_length=NAME_LENGTH)
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
