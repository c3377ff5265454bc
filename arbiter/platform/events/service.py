"""Emitting and reading platform events.

`emit` appends inside the caller's unit of work, so the event commits or rolls back with the
change it reports; a repeat with the same key records nothing. Consumers read in id order
after the last id they handled (`read`), or everything about one subject (`about`). Amounts
in payloads are strings, as everywhere in JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events.models import PlatformEvent
from arbiter.platform.sql import insert_if_absent

EVENTS = PlatformEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    kind: str
    subject: str
    payload: dict[str, Any]
    at: datetime


def emit(uow: UnitOfWork, kind: str, subject: str, payload: dict[str, Any], at: datetime, *,
         key: str | None = None) -> None:
    """Append an event to the caller's transaction (committed with it). `key` defaults to
    kind and subject: one event of a kind per subject."""
    values = dict(key=key or f"{kind}:{subject}", kind=kind, subject=subject,
                  payload=json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False), at=utc(at))
    uow.session.execute(insert_if_absent(EVENTS, uow.engine.dialect.name, values))


def _event(row: Any) -> Event:
    at = as_utc(row.at)
    assert at is not None
    return Event(row.id, row.kind, row.subject, json.loads(row.payload), at)


def read(uow: UnitOfWork, kinds: tuple[str, ...] | None = None, *, after: int = 0,
         limit: int = 1000) -> list[Event]:
    """Events after id `after`, in the order they were recorded, optionally of some kinds."""
    query = select(EVENTS).where(EVENTS.c.id > after).order_by(EVENTS.c.id).limit(limit)
    if kinds is not None:
        query = query.where(EVENTS.c.kind.in_(kinds))
    return [_event(row) for row in uow.session.execute(query)]


def about(uow: UnitOfWork, subject: str) -> list[Event]:
    """Every event about `subject`, oldest first."""
    query = select(EVENTS).where(EVENTS.c.subject == subject).order_by(EVENTS.c.id)
    return [_event(row) for row in uow.session.execute(query)]
