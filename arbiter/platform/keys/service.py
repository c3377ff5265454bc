"""API key use cases: create (the token is shown once), look up and verify, list, revoke.

A token reads `ak_<id>_<secret>`: the id (12 hex digits) finds the row, the secret (43
URL-safe characters, 256 bits) proves possession. Only `sha256(secret)` is stored and it is
compared in constant time. Creating and revoking a key are audited.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import col, select

from arbiter.clock import Clock
from arbiter.errors import ArbiterError, InvalidInput
from arbiter.platform.audit import service as audit
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys.models import MERCHANT, NAME_LENGTH, ROLES, ApiKeyRow

PREFIX = "ak"
_TOKEN = re.compile(r"^ak_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


class KeyNotFound(ArbiterError):
    code = "keys.not_found"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as stored, without its secret."""

    id: str
    role: str
    shop: str | None
    name: str | None
    created_by: str
    created_at: datetime
    revoked_by: str | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def of(cls, row: ApiKeyRow) -> ApiKey:
        return cls(row.id, row.role, row.shop, row.name, row.created_by, _aware(row.created_at),
                   row.revoked_by, _aware(row.revoked_at) if row.revoked_at else None)


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A key with the digest of its secret: what a verifier caches."""

    key: ApiKey
    secret_sha256: str

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(secret_digest(secret), self.secret_sha256)


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: ApiKey
    token: str  # shown once; never stored


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    found = _TOKEN.match(token.strip())
    return (found.group(1), found.group(2)) if found else None


def _text(value: str | None, what: str, *, required: bool = False) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidInput(f"{what} is required")
        return None
    value = value.strip()
    if len(value) > NAME_LENGTH or not value.isprintable():
        raise InvalidInput(f"{what}: 1 to {NAME_LENGTH} printable characters")
    return value


def create(
    uow: UnitOfWork,
    *,
    role: str,
    by: str,
    clock: Clock,
    shop: str | None = None,
    name: str | None = None,
) -> CreatedKey:
    """A new key for `role` (bound to `shop`, which a merchant key must have)."""
    if role not in ROLES:
        raise InvalidInput(f"role: {role!r} is not one of {', '.join(ROLES)}")
    shop = _text(shop, "shop")
    if role == MERCHANT and shop is None:
        raise InvalidInput("a merchant key needs --shop: it may only ever see its own shop")
    name = _text(name, "name")
    by = _text(by, "by", required=True) or ""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    row = ApiKeyRow(id=key_id, secret_sha256=secret_digest(secret), role=role, shop=shop,
                    name=name, created_by=by, created_at=now)
    uow.session.add(row)
    audit.record(uow, actor=by, action="keys.create", target=key_id, at=now,
                 detail={"role": role, "shop": shop, "name": name})
    uow.commit()
    return CreatedKey(ApiKey.of(row), f"{PREFIX}_{key_id}_{secret}")


def lookup(uow: UnitOfWork, key_id: str) -> StoredKey | None:
    row = uow.session.get(ApiKeyRow, key_id)
    return None if row is None else StoredKey(ApiKey.of(row), row.secret_sha256)


def verify(uow: UnitOfWork, token: str) -> ApiKey | None:
    """The active key a token belongs to, or None (malformed, unknown, wrong secret, revoked)."""
    parsed = parse_token(token)
    if parsed is None:
        return None
    stored = lookup(uow, parsed[0])
    if stored is None or not stored.matches(parsed[1]) or not stored.key.active:
        return None
    return stored.key


def keys(uow: UnitOfWork, *, include_revoked: bool = True) -> list[ApiKey]:
    query = select(ApiKeyRow).order_by(col(ApiKeyRow.created_at), col(ApiKeyRow.id))
    if not include_revoked:
        query = query.where(col(ApiKeyRow.revoked_at).is_(None))
    return [ApiKey.of(row) for row in uow.session.exec(query)]


def revoke(uow: UnitOfWork, key_id: str, *, by: str, clock: Clock) -> ApiKey:
    """Revoke a key from now on; revoking a revoked key changes nothing."""
    by = _text(by, "by", required=True) or ""
    now = clock.now()
    result = uow.session.execute(
        update(ApiKeyRow)
        .where(col(ApiKeyRow.id) == key_id, col(ApiKeyRow.revoked_at).is_(None))
        .values(revoked_at=now, revoked_by=by)
    )
    if int(getattr(result, "rowcount", 0)) == 1:
        audit.record(uow, actor=by, action="keys.revoke", target=key_id, at=now)
        uow.commit()
    uow.session.expire_all()
    stored = lookup(uow, key_id)
    if stored is None:
        raise KeyNotFound(f"there is no API key {key_id}")
    return stored.key
