"""The users module's tables: accounts, addresses, bank cards, known devices, failed logins,
verification challenges (and the simulated SMS outbox), user tags with their lifecycle, the
tag job's cursor and the order facts it has counted.

Personal numbers are never stored: the ID number, the real name and bank cards are kept as a
masked form plus a keyed HMAC-SHA256 digest (`*_digest`). The phone is kept as entered, since
it is the login name and where codes are sent; a cancelled account's phone, names and
addresses are replaced by placeholders. Times are UTC (`arbiter.platform.columns`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import NAME_LENGTH, amount_column, time_column

ID_LENGTH = 64
DIGEST_LENGTH = 64  # a hex SHA-256
STATUSES = ("active", "review", "refused", "cancelled")


class UserAccount(SQLModel, table=True):
    """One account (账户): registered by phone and password. Status: active, review (held by
    the register scene for a person), refused (the review said no) or cancelled (注销: personal
    data anonymised, login impossible; the row and its id stay)."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(
            "status in ('active', 'review', 'refused', 'cancelled')", name="ck_user_account_status"
        ),
        Index("ix_user_account_id_number_digest", "id_number_digest"),
    )

    id: str = Field(primary_key=True, max_length=ID_LENGTH)
    phone: str = Field(unique=True, max_length=64)  # a placeholder once cancelled
    password_hash: str = Field(max_length=300)  # "scrypt$n$r$p$salt$hash"; "!" once cancelled
    status: str = Field(max_length=16)
    status_reason: str | None = Field(default=None, max_length=NAME_LENGTH)
    nickname: str = Field(default="", max_length=NAME_LENGTH)
    real_name_masked: str | None = Field(default=None, max_length=NAME_LENGTH)
    real_name_digest: str | None = Field(default=None, max_length=DIGEST_LENGTH)
    id_number_masked: str | None = Field(default=None, max_length=18)
    id_number_digest: str | None = Field(default=None, max_length=DIGEST_LENGTH)
    level: int = Field(default=0)
    phone_verified: bool = Field(default=False)
    registered_at: datetime = time_column(nullable=False)
    updated_at: datetime = time_column(nullable=False)
    last_login_at: datetime | None = time_column()
    cancelled_at: datetime | None = time_column()


class UserAddress(SQLModel, table=True):
    """A delivery address (收货地址). Orders copy what they need when placed."""

    __tablename__ = "user_address"

    id: str = Field(primary_key=True, max_length=ID_LENGTH)
    user_id: str = Field(index=True, max_length=ID_LENGTH)
    name: str = Field(max_length=NAME_LENGTH)
    phone: str = Field(max_length=40)
    region: str = Field(max_length=NAME_LENGTH)  # province (省)
    city: str = Field(max_length=NAME_LENGTH)
    detail: str = Field(max_length=500)
    is_default: bool = Field(default=False)
    position: int = Field(default=0)  # 1 for the user's first address, then counting up


class UserBankCard(SQLModel, table=True):
    """A bound bank card (银行卡): its masked form and keyed digest, never the number."""

    __tablename__ = "user_bank_card"
    __table_args__ = (UniqueConstraint("user_id", "digest", name="uq_user_bank_card_digest"),)

    id: str = Field(primary_key=True, max_length=ID_LENGTH)
    user_id: str = Field(index=True, max_length=ID_LENGTH)
    masked: str = Field(max_length=40)
    digest: str | None = Field(default=None, max_length=DIGEST_LENGTH)
    added_at: datetime = time_column(nullable=False)


class UserDevice(SQLModel, table=True):
    """A device the user registered or logged in on; `device` is the SHA-256 of its id."""

    __tablename__ = "user_device"

    user_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    device: str = Field(primary_key=True, max_length=DIGEST_LENGTH)
    first_seen_at: datetime = time_column(nullable=False)
    last_seen_at: datetime = time_column(nullable=False)


class UserLoginFailure(SQLModel, table=True):
    """One wrong password, for `user.failed_logins_1h`."""

    __tablename__ = "user_login_failure"
    __table_args__ = (Index("ix_user_login_failure_user_at", "user_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=ID_LENGTH)
    at: datetime = time_column(nullable=False)


class UserChallenge(SQLModel, table=True):
    """A verification the user must pass (a login the rules asked to verify, or confirming the
    phone): open -> done, failed (too many wrong codes) or expired. Only a salted digest of
    the code is kept; `context` holds what the login recorded on success needs, then is
    cleared."""

    __tablename__ = "user_challenge"
    __table_args__ = (
        CheckConstraint("purpose in ('login', 'phone')", name="ck_user_challenge_purpose"),
        CheckConstraint(
            "status in ('open', 'done', 'failed', 'expired')", name="ck_user_challenge_status"
        ),
    )

    id: str = Field(primary_key=True, max_length=ID_LENGTH)
    user_id: str = Field(index=True, max_length=ID_LENGTH)
    purpose: str = Field(max_length=16)
    method: str = Field(max_length=16)  # sms | face | fingerprint
    code_salt: str = Field(max_length=64)
    code_digest: str = Field(max_length=DIGEST_LENGTH)
    context: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    attempts: int = Field(default=0)
    status: str = Field(max_length=16)
    created_at: datetime = time_column(nullable=False)
    expires_at: datetime = time_column(nullable=False)


class UserSimulatedMessage(SQLModel, table=True):
    """What the simulated verifier "sent" (tests, demos, the embedded default): a real SMS or
    face gateway writes nothing here."""

    __tablename__ = "user_sms_outbox"

    challenge_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    user_id: str = Field(index=True, max_length=ID_LENGTH)
    method: str = Field(max_length=16)
    phone_masked: str = Field(max_length=40)
    code: str = Field(max_length=16)
    sent_at: datetime = time_column(nullable=False)


class UserTag(SQLModel, table=True):
    """One live or expired tag of a user (用户标签). `source`: orders and profile (the tag
    job, which recomputes them), decision:<scene> (a rule's tag_user effect) or what a caller
    names. A tag whose `expires_at` has passed is not read."""

    __tablename__ = "user_tag"
    __table_args__ = (Index("ix_user_tag_expires", "expires_at"),)

    user_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    tag: str = Field(primary_key=True, max_length=NAME_LENGTH)
    value: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(max_length=NAME_LENGTH)
    computed_at: datetime = time_column(nullable=False)
    expires_at: datetime | None = time_column()


class UserTagCursor(SQLModel, table=True):
    """How far the tag job has read the platform events: every event counted once."""

    __tablename__ = "user_tag_cursor"

    name: str = Field(primary_key=True, max_length=NAME_LENGTH)
    last_event_id: int = Field(default=0)
    updated_at: datetime = time_column(nullable=False)


class UserOrderFact(SQLModel, table=True):
    """One order as the tag job counted it, from its `order.paid` / `order.completed` events
    (the first one seen gives amount, lines and time) and its `aftersales.refunded` events."""

    __tablename__ = "user_order_fact"
    __table_args__ = (Index("ix_user_order_fact_user", "user_id", "ordered_at"),)

    order_id: str = Field(primary_key=True, max_length=NAME_LENGTH)
    user_id: str = Field(max_length=ID_LENGTH)
    currency: str = Field(max_length=3)
    amount: Decimal = amount_column()
    refunded: Decimal = amount_column(default=Decimal(0))
    lines: str = Field(sa_column=Column(Text, nullable=False))  # JSON [{category, quantity, amount}]
    ordered_at: datetime = time_column(nullable=False)
    completed_at: datetime | None = time_column()
