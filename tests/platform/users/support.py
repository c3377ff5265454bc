"""Shared pieces of the users tests: valid numbers, a registered user, raw rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine as Database

from arbiter.clock import FixedClock
from arbiter.engine.engine import Engine
from arbiter.platform.db import UnitOfWork
from arbiter.platform.users import service as users

RULES = Path(__file__).resolve().parents[3] / "rules"
T0 = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
PHONE = "13800138000"
PASSWORD = "correct horse battery"
KEY = b"0123456789abcdef-test-key"
ID_NUMBER = "110105199003071239"  # check digit 9
CARD = "6222020000090123"  # passes Luhn
HOME = {"device_id": "dev-home", "ip": "10.0.0.1", "ip_region": "上海"}


def register(db: Database, engine: Engine, phone: str = PHONE, *, context: dict[str, Any] | None = None,
             now: datetime = T0) -> str:
    with UnitOfWork(db) as uow:
        result = users.register(uow, engine, phone=phone, password=PASSWORD,
                                context=HOME if context is None else context, now=now)
    assert result.ok and result.user_id is not None, result
    return result.user_id


def login(db: Database, engine: Engine, clock: FixedClock, *, password: str = PASSWORD, phone: str = PHONE,
          context: dict[str, Any] | None = None) -> users.Login:
    with UnitOfWork(db) as uow:
        return users.login(uow, engine, phone=phone, password=password,
                           context=HOME if context is None else context, now=clock.now())


def code_of(db: Database, challenge_id: str | None) -> str:
    assert challenge_id is not None
    with UnitOfWork(db) as uow:
        code = users.simulated_code(uow, challenge_id)
    assert code is not None and len(code) == 6
    return code


def at(clock: FixedClock, moment: datetime) -> FixedClock:
    clock.advance(moment - clock.now())
    return clock


def raw_rows(db: Database) -> list[dict[str, Any]]:
    """Every row of every users table, as stored."""
    metadata = MetaData()
    metadata.reflect(db)
    rows = []
    with db.connect() as connection:
        for name, table in sorted(metadata.tables.items()):
            if name.startswith("user_"):
                rows += [{"table": name, **row._asdict()} for row in connection.execute(select(table))]
    return rows


def stored_text(db: Database) -> str:
    return "\n".join(repr(row) for row in raw_rows(db))


def account_row(db: Database, user_id: str) -> dict[str, Any]:
    found = [r for r in raw_rows(db) if r["table"] == "user_account" and r["id"] == user_id]
    assert len(found) == 1
    return found[0]
