"""Recording and reading the audit trail.

`record` only adds the entry to the unit of work: the use case that makes the change commits
it together with the entry, so a change is never without its entry (nor the reverse). Where
the change commits on its own (a rules publish), the caller records right after it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from arbiter.platform.audit.models import AuditEntry
from arbiter.platform.db import UnitOfWork

MAX_LIMIT = 1_000


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "detail": dict(self.detail),
        }


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time stored here is UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def record(
    uow: UnitOfWork,
    *,
    actor: str,
    action: str,
    target: str,
    at: datetime,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Add an entry to the unit of work; the caller commits."""
    uow.session.add(AuditEntry(
        at=at, actor=actor, action=action, target=target,
        detail=json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True, default=str),
    ))


def entries(
    uow: UnitOfWork, *, action: str | None = None, actor: str | None = None, limit: int = 100
) -> list[Entry]:
    """The latest entries first, optionally of one action (or action prefix `rules.`) or actor."""
    query = select(AuditEntry)
    if action is not None:
        if action.endswith("."):
            query = query.where(col(AuditEntry.action).startswith(action))
        else:
            query = query.where(AuditEntry.action == action)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    query = query.order_by(col(AuditEntry.id).desc()).limit(max(1, min(limit, MAX_LIMIT)))
    return [
        Entry(row.id or 0, _aware(row.at), row.actor, row.action, row.target, json.loads(row.detail))
        for row in uow.session.exec(query)
    ]
