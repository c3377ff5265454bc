"""Managed lists (黑白名单): the block and allow lists of users, devices, IPs, cards and
addresses that operators keep at run time, and the `ListStore` decisions read them through.

Use cases (`add_entry`, `remove_entry`, `list_entries`) take a unit of work, commit once, and
write who did it, when and why to the audit trail in the same transaction. Adding a value
already on the list replaces its reason and expiry. An entry counts until `expires_at`
(excluded); an expired entry stays in the table, visible to operators, until removed.

`SqlLists` answers `contains` from SQL, optionally through a `RedisListCache`: one small key
per looked-up (list, value) holding its expiry, or its absence, for `ttl` seconds. Readers
fill a key only if it is missing (`SET NX`) while the use cases overwrite it after they
commit, so a reader that loaded the old state just before a change never hides the change;
if the overwrite itself fails, the stale answer lasts at most `ttl`. A cache that fails is
bypassed; a database that fails raises `StoreUnavailable` (the scene's policy answers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from arbiter.engine.stores import StoreUnavailable
from arbiter.errors import InvalidInput
from arbiter.platform.audit import service as audit
from arbiter.platform.db import UnitOfWork
from arbiter.platform.experiments.models import utc
from arbiter.platform.risk.models import NAME_LENGTH, VALUE_LENGTH, RiskListEntry

ENTRIES = getattr(RiskListEntry, "__table__")  # noqa: B009 - typed as a Table here
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ABSENT = "-"  # cached: not on the list
_NEVER = ""  # cached: on the list, no expiry


@dataclass(frozen=True, slots=True)
class ListEntry:
    name: str
    value: str
    reason: str
    added_by: str
    added_at: datetime
    expires_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or utc(now) < self.expires_at

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "reason": self.reason,
            "added_by": self.added_by,
            "added_at": self.added_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


def _aware(at: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every time stored here is UTC.
    return None if at is None else (at if at.tzinfo is not None else at.replace(tzinfo=UTC))


def _entry(row: RiskListEntry) -> ListEntry:
    added_at = _aware(row.added_at)
    assert added_at is not None
    return ListEntry(row.name, row.value, row.reason, row.added_by, added_at, _aware(row.expires_at))


def _micros(at: datetime) -> int:
    return (utc(at) - _EPOCH) // timedelta(microseconds=1)


class RedisListCache:
    """A read-through cache of list lookups; `client` is a `redis.Redis`."""

    def __init__(self, client: Any, prefix: str = "arbiter", ttl: int = 60) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl = ttl
        self.failures = 0
        self.last_error: str | None = None

    def key(self, name: str, value: str) -> str:
        return f"{self.prefix}:list:{{{name}:{value}}}"

    def get(self, name: str, value: str) -> str | None:
        """The cached state (`-` absent, `` no expiry, else the expiry in microseconds since the
        epoch), or None when not cached or the cache cannot be reached."""
        try:
            state = self.client.get(self.key(name, value))
        except Exception as exc:
            self._failed(exc)
            return None
        return state.decode("utf-8") if isinstance(state, bytes) else state

    def fill(self, name: str, value: str, state: str) -> None:
        """What a reader loaded from SQL, only if nothing newer was written meanwhile."""
        self._set(name, value, state, only_if_missing=True)

    def put(self, name: str, value: str, state: str) -> None:
        """What a use case has just committed."""
        self._set(name, value, state, only_if_missing=False)

    def _set(self, name: str, value: str, state: str, *, only_if_missing: bool) -> None:
        try:
            self.client.set(self.key(name, value), state, ex=self.ttl, nx=only_if_missing)
        except Exception as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        from redis.exceptions import RedisError

        if not isinstance(exc, RedisError):
            raise exc
        self.failures += 1
        self.last_error = f"{exc.__class__.__name__}: {exc}"


def cached_state(expires_at: datetime | None, present: bool) -> str:
    if not present:
        return _ABSENT
    return _NEVER if expires_at is None else str(_micros(expires_at))


class SqlLists:
    """`ListStore` over the `risk_list_entry` table, with an optional Redis cache."""

    def __init__(self, engine: Engine, cache: RedisListCache | None = None) -> None:
        self.engine = engine
        self.cache = cache

    def contains(self, name: str, value: str, now: datetime) -> bool:
        state = self.cache.get(name, value) if self.cache is not None else None
        if state is None:
            state = self._load(name, value)
            if self.cache is not None:
                self.cache.fill(name, value, state)
        if state == _ABSENT:
            return False
        return state == _NEVER or _micros(now) < int(state)

    def _load(self, name: str, value: str) -> str:
        query = select(ENTRIES.c.expires_at).where(ENTRIES.c.name == name, ENTRIES.c.value == value)
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(query).all()
        except SQLAlchemyError as exc:
            lines = str(exc).strip().splitlines()
            raise StoreUnavailable(f"lists: {exc.__class__.__name__}: {lines[0] if lines else ''}") from exc
        return cached_state(_aware(rows[0][0]), True) if rows else _ABSENT


def _check(name: str, value: str, reason: str, by: str) -> None:
    if not name or len(name) > NAME_LENGTH:
        raise InvalidInput(f"a list name has 1 to {NAME_LENGTH} characters")
    if not value or len(value) > VALUE_LENGTH:
        raise InvalidInput(f"a list value has 1 to {VALUE_LENGTH} characters")
    if not reason.strip():
        raise InvalidInput("say why: a list change needs a reason")
    if not by.strip():
        raise InvalidInput("say who: a list change needs its author")


def add_entry(
    uow: UnitOfWork,
    name: str,
    value: str,
    *,
    reason: str,
    by: str,
    at: datetime,
    expires_at: datetime | None = None,
    cache: RedisListCache | None = None,
) -> ListEntry:
    """Put `value` on list `name` (or replace its reason and expiry), audited, committed."""
    _check(name, value, reason, by)
    if expires_at is not None and utc(expires_at) <= utc(at):
        raise InvalidInput("an entry must expire after it is added")
    row = uow.session.get(RiskListEntry, (name, value))
    if row is None:
        row = RiskListEntry(name=name, value=value, reason=reason, added_by=by, added_at=utc(at))
    row.reason, row.added_by, row.added_at = reason, by, utc(at)
    row.expires_at = utc(expires_at) if expires_at is not None else None
    uow.session.add(row)
    audit.record(uow, actor=by, action="risk_list.add", target=f"{name}:{value}", at=utc(at), detail={
        "list": name, "value": value, "reason": reason,
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
    })
    uow.commit()
    entry = _entry(row)
    if cache is not None:
        cache.put(name, value, cached_state(entry.expires_at, True))
    return entry


def remove_entry(
    uow: UnitOfWork,
    name: str,
    value: str,
    *,
    reason: str,
    by: str,
    at: datetime,
    cache: RedisListCache | None = None,
) -> bool:
    """Take `value` off list `name`, audited; False (and nothing written) when it was not on it."""
    _check(name, value, reason, by)
    row = uow.session.get(RiskListEntry, (name, value))
    if row is None:
        return False
    uow.session.delete(row)
    audit.record(uow, actor=by, action="risk_list.remove", target=f"{name}:{value}", at=utc(at),
                 detail={"list": name, "value": value, "reason": reason})
    uow.commit()
    if cache is not None:
        cache.put(name, value, _ABSENT)
    return True


def list_entries(
    uow: UnitOfWork, name: str, *, now: datetime | None = None, limit: int = 1_000
) -> list[ListEntry]:
    """The entries of list `name` by value; with `now`, only those still active then."""
    query = select(RiskListEntry).where(col(RiskListEntry.name) == name)
    if now is not None:
        query = query.where((col(RiskListEntry.expires_at).is_(None)) | (col(RiskListEntry.expires_at) > utc(now)))
    query = query.order_by(col(RiskListEntry.value)).limit(max(1, min(limit, 10_000)))
    return [_entry(row) for row in uow.session.scalars(query)]
