"""Where idempotency records live: a SQL table, or Redis when the service has one.

`claim` is insert-first: the first of two concurrent requests with one key inserts the
record (pending) and runs; the other finds the record and gets it back, to wait for the
first response or to be refused when its body differs. Nobody reads then writes.
Records expire: a pending one after its lease (its owner died mid-way), a done one after the
retention period.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert

from arbiter.clock import Clock
from arbiter.platform.idempotency.models import DONE, PENDING, IdempotencyRecord

RECORDS: Table = getattr(IdempotencyRecord, "__table__")  # noqa: B009 - typed as a Table here
LEASE = timedelta(seconds=60)
RETENTION = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Recorded:
    """A record found by a claim that lost: the request it was made for, and the response once
    there is one."""

    fingerprint: str
    done: bool
    status: int | None = None
    body: str | None = None
    media_type: str | None = None


class IdempotencyStore(Protocol):
    def claim(self, scope: str, key: str, fingerprint: str) -> Recorded | None:
        """None when this call claimed the key (go ahead), else the record already there."""

    def complete(self, scope: str, key: str, status: int, body: str, media_type: str) -> None:
        """Store the first response."""

    def release(self, scope: str, key: str) -> None:
        """Drop a pending claim whose request failed, so that a retry may run."""


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _insert_if_absent(dialect: str) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(RECORDS).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(RECORDS).on_conflict_do_nothing()
    raise NotImplementedError(f"idempotency records are not written for the {dialect} dialect")


class SqlIdempotency:
    def __init__(self, engine: Engine, clock: Clock, *, lease: timedelta = LEASE,
                 retention: timedelta = RETENTION) -> None:
        self.engine = engine
        self.clock = clock
        self.lease = lease
        self.retention = retention

    def _where(self, scope: str, key: str) -> Any:
        return (RECORDS.c.scope == scope) & (RECORDS.c.key == key)

    def claim(self, scope: str, key: str, fingerprint: str) -> Recorded | None:
        for _ in range(3):  # the record may expire between our insert and our read
            now = _utc(self.clock.now())
            with self.engine.begin() as connection:
                connection.execute(delete(RECORDS).where(self._where(scope, key), RECORDS.c.expires_at < now))
                inserted = connection.execute(
                    _insert_if_absent(connection.dialect.name)
                    .values(scope=scope, key=key, fingerprint=fingerprint, status=PENDING,
                            created_at=now, expires_at=now + self.lease)
                    .returning(RECORDS.c.key)
                ).first()
                if inserted is not None:
                    return None
                row = connection.execute(
                    select(RECORDS.c.fingerprint, RECORDS.c.status, RECORDS.c.response_status,
                           RECORDS.c.response_body, RECORDS.c.media_type)
                    .where(self._where(scope, key))
                ).first()
            if row is not None:
                return Recorded(row.fingerprint, row.status == DONE, row.response_status,
                                row.response_body, row.media_type)
        raise RuntimeError("an idempotency record kept vanishing while being claimed")

    def complete(self, scope: str, key: str, status: int, body: str, media_type: str) -> None:
        now = _utc(self.clock.now())
        with self.engine.begin() as connection:
            connection.execute(
                update(RECORDS).where(self._where(scope, key)).values(
                    status=DONE, response_status=status, response_body=body,
                    media_type=media_type, expires_at=now + self.retention,
                )
            )

    def release(self, scope: str, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(RECORDS).where(self._where(scope, key), RECORDS.c.status == PENDING))


# Deletes the record only while it is still pending: a release must never drop a response.
_RELEASE = """
local value = redis.call('GET', KEYS[1])
if value and cjson.decode(value)['done'] == false then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisIdempotency:
    """Records as JSON strings under `arbiter:idem:{<scope>:<sha256(key)>}` (each record its own
    Redis Cluster hash slot: no call touches two), claimed with
    `SET NX PX <lease>`, completed with `SET XX PX <retention>`."""

    def __init__(self, client: Any, *, prefix: str = "arbiter", lease: timedelta = LEASE,
                 retention: timedelta = RETENTION) -> None:
        self.client = client
        self.prefix = prefix
        self.lease_ms = int(lease.total_seconds() * 1000)
        self.retention_ms = int(retention.total_seconds() * 1000)
        self._release = client.register_script(_RELEASE)

    def _name(self, scope: str, key: str) -> str:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return f"{self.prefix}:idem:{{{scope}:{digest}}}"

    def claim(self, scope: str, key: str, fingerprint: str) -> Recorded | None:
        name = self._name(scope, key)
        pending = json.dumps({"fingerprint": fingerprint, "done": False})
        for _ in range(3):
            if self.client.set(name, pending, nx=True, px=self.lease_ms):
                return None
            raw = self.client.get(name)
            if raw is None:
                continue  # expired in between: try to claim again
            value = json.loads(raw)
            return Recorded(value["fingerprint"], bool(value["done"]), value.get("status"),
                            value.get("body"), value.get("media_type"))
        raise RuntimeError("an idempotency record kept vanishing while being claimed")

    def complete(self, scope: str, key: str, status: int, body: str, media_type: str) -> None:
        name = self._name(scope, key)
        raw = self.client.get(name)
        fingerprint = json.loads(raw)["fingerprint"] if raw is not None else ""
        value = json.dumps({"fingerprint": fingerprint, "done": True, "status": status,
                            "body": body, "media_type": media_type})
        self.client.set(name, value, px=self.retention_ms)

    def release(self, scope: str, key: str) -> None:
        self._release(keys=[self._name(scope, key)])
