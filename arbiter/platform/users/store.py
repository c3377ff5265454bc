"""The users module's tables as SQL tables, and the lookups every use case shares."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Table, select

from arbiter.platform.db import UnitOfWork
from arbiter.platform.users import models
from arbiter.platform.users.views import UserNotFound


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


ACCOUNTS = _table(models.UserAccount)
ADDRESSES = _table(models.UserAddress)
CARDS = _table(models.UserBankCard)
DEVICES = _table(models.UserDevice)
FAILURES = _table(models.UserLoginFailure)
CHALLENGES = _table(models.UserChallenge)
OUTBOX = _table(models.UserSimulatedMessage)
TAGS = _table(models.UserTag)
CURSORS = _table(models.UserTagCursor)
ORDER_FACTS = _table(models.UserOrderFact)

ACTIVE, REVIEW, REFUSED, CANCELLED = models.STATUSES


def new_id(prefix: str) -> str:
    """Random, so that ids say nothing about how many users there are or who came first."""
    return f"{prefix}-{uuid.uuid4().hex}"


def dialect(uow: UnitOfWork) -> str:
    return uow.engine.dialect.name


def account(uow: UnitOfWork, user_id: str) -> Any | None:
    return uow.session.execute(select(ACCOUNTS).where(ACCOUNTS.c.id == user_id)).first()


def account_by_phone(uow: UnitOfWork, phone: str) -> Any | None:
    return uow.session.execute(select(ACCOUNTS).where(ACCOUNTS.c.phone == phone)).first()


def require_account(uow: UnitOfWork, user_id: str) -> Any:
    row = account(uow, user_id) if isinstance(user_id, str) else None
    if row is None:
        raise UserNotFound(f"user {user_id!r} does not exist")
    return row
