"""Shared helpers of the credit and funding tests: the demo rules compiled once, an engine at a
fixed time, amounts in CNY, and a user with a line."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine as Database

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_paths
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.engine.engine import Engine
from arbiter.money import Money
from arbiter.platform.credit import limits
from arbiter.platform.db import UnitOfWork

RULES = Path(__file__).resolve().parents[3] / "rules"
T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Beijing

# A clean user for the payment scene: a phone on a 3000-yuan order passes without a check.
CLEAN = {"user": {"risk_score": 5, "level": 3}, "order": {"item_count": 1}}


@cache
def ruleset() -> Ruleset:
    return compile_program(check_paths([RULES]))


def engine(at: datetime = T0) -> Engine:
    return Engine(ruleset(), FixedClock(at), version=1)


def cny(amount: str) -> Money:
    return Money.of(amount)


def with_line(db: Database, user: str, limit: str, tier: str = "B", at: datetime = T0) -> None:
    with UnitOfWork(db) as uow:
        limits.grant(uow, user, cny(limit), tier, now=at)
        uow.commit()


def context(**extra: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {k: dict(v) for k, v in CLEAN.items()}
    for namespace, values in extra.items():
        merged.setdefault(namespace, {}).update(values) if isinstance(values, dict) else merged.update({namespace: values})
    return merged
