"""Authentication and roles: an API key in, a `Principal` (key id, role, shop) out.

A key comes as `Authorization: Bearer ak_<id>_<secret>` or `X-API-Key: ak_<id>_<secret>`.
No key, or one that is malformed, unknown, wrong or revoked, is a 401 problem; a valid key
whose role the route does not admit is a 403 problem. `admin` is admitted everywhere.

Every `/v1` route declares its roles with `requires(...)`, once, in its decorator; the roles
are read back off the routes (`route_roles`) to document them in OpenAPI and to let a test
fail on a route that declares none. After the role check, the key's rate limit is taken
(`arbiter.api.limits`).

Verified keys are cached for `key_cache_seconds` (the row, including the secret's digest, so
the secret is still compared on every request): a revoked key is refused within that time.
The check runs on the event loop while the key is cached and the rate limit is decided
locally; only a database read or a Redis call goes to a worker thread.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import fastapi.routing
from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine as Database
from starlette.concurrency import run_in_threadpool

from arbiter.api.errors import ApiProblem
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys import service as keys
from arbiter.platform.keys.models import ADMIN, ROLES

REFUSALS = {
    401: "No API key, or not a valid one.",
    403: "The key's role may not make this call.",
    429: "Too many requests for this key; `Retry-After` says when to retry.",
}
CACHE_LIMIT = 10_000  # cached key rows; past it the cache starts afresh


@dataclass(frozen=True, slots=True)
class Principal:
    """Who makes a request: the key's id (what audits record), its role and shop."""

    key_id: str
    role: str
    shop: str | None = None

    def may(self, roles: Iterable[str]) -> bool:
        return self.role == ADMIN or self.role in roles


def unauthenticated(detail: str) -> ApiProblem:
    return ApiProblem(401, "unauthenticated", "Authentication required", detail,
                      headers={"WWW-Authenticate": 'Bearer realm="arbiter"'})


class Lookup(enum.Enum):
    """What `KeyVerifier.verify_cached` answers when only the database can tell."""

    NEEDED = "needed"


class KeyVerifier:
    """Checks tokens against the `api_keys` table, caching each row for `ttl` seconds."""

    def __init__(self, database: Database, ttl: float,
                 timer: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self.ttl = ttl
        self.timer = timer
        # key id -> (the stored row or None when unknown, its principal, trusted until)
        self._cache: dict[str, tuple[keys.StoredKey | None, Principal | None, float]] = {}
        self._lock = threading.Lock()

    def _stored(self, key_id: str) -> tuple[keys.StoredKey | None, Principal | None]:
        now = self.timer()
        cached = self._cache.get(key_id)
        if cached is not None and cached[2] > now:
            return cached[0], cached[1]
        with UnitOfWork(self.database) as uow:
            stored = keys.lookup(uow, key_id)
        principal = None if stored is None else Principal(stored.key.id, stored.key.role, stored.key.shop)
        if self.ttl > 0:
            with self._lock:
                if len(self._cache) >= CACHE_LIMIT:
                    self._cache.clear()
                self._cache[key_id] = (stored, principal, now + self.ttl)
        return stored, principal

    def forget(self, key_id: str) -> None:
        with self._lock:
            self._cache.pop(key_id, None)

    def verify(self, token: str) -> Principal | None:
        parsed = keys.parse_token(token)
        if parsed is None:
            return None
        stored, principal = self._stored(parsed[0])
        return _checked(stored, principal, parsed[1])

    def verify_cached(self, token: str) -> Principal | None | Lookup:
        """`verify` without I/O: `Lookup.NEEDED` when the key is not in the cache (or stale)."""
        parsed = keys.parse_token(token)
        if parsed is None:
            return None
        cached = self._cache.get(parsed[0])
        if cached is None or cached[2] <= self.timer():
            return Lookup.NEEDED
        return _checked(cached[0], cached[1], parsed[1])


def _checked(stored: keys.StoredKey | None, principal: Principal | None, secret: str) -> Principal | None:
    if stored is None or not stored.matches(secret) or not stored.key.active:
        return None
    return principal


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return ""  # present but not a bearer token: refused as malformed
    api_key = request.headers.get("x-api-key")
    return api_key.strip() if api_key is not None else None


def _no_key() -> ApiProblem:
    return unauthenticated("send an API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`")


def _bad_key() -> ApiProblem:
    return unauthenticated("the API key is not valid (malformed, unknown or revoked)")


def authenticate(request: Request) -> Principal:
    token = token_of(request)
    if token is None:
        raise _no_key()
    verifier: KeyVerifier = request.app.state.services.keys
    principal = verifier.verify(token)
    if principal is None:
        raise _bad_key()
    return principal


class RoleCheck:
    """The dependency `requires` builds: authenticate, check the role, take the rate limit."""

    def __init__(self, roles: frozenset[str]) -> None:
        self.roles = roles

    async def __call__(self, request: Request) -> Principal:
        services = request.app.state.services
        token = token_of(request)
        if token is None:
            raise _no_key()
        verifier: KeyVerifier = services.keys
        found = verifier.verify_cached(token)
        principal = await run_in_threadpool(verifier.verify, token) if found is Lookup.NEEDED else found
        if principal is None:
            raise _bad_key()
        request.state.principal = principal
        if not principal.may(self.roles):
            allowed = ", ".join(sorted(self.roles | {ADMIN}))
            raise ApiProblem(403, "forbidden", "Not allowed for this role",
                             f"a `{principal.role}` key may not make this call; it needs: {allowed}",
                             role=principal.role)
        limiter = services.limiter
        if not limiter.admit_now(principal.key_id):
            await run_in_threadpool(limiter.enforce, principal.key_id)
        return principal


def requires(*roles: str) -> Any:
    """The dependency every `/v1` route declares: `dependencies=[requires("operator")]`."""
    unknown = sorted(set(roles) - set(ROLES))
    if not roles or unknown:
        raise ValueError(f"requires() takes roles among {', '.join(ROLES)}; got {roles}")
    return Depends(RoleCheck(frozenset(roles)))


def _role_checks(dependant: Any) -> Iterable[RoleCheck]:
    for sub in dependant.dependencies:
        if isinstance(sub.call, RoleCheck):
            yield sub.call
        yield from _role_checks(sub)


def api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) of every API route of the app, however FastAPI nests included
    routers (newer versions keep them as branches instead of copying their routes)."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if contexts is None:
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route.path, route
        return
    for context in contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            yield context.path or route.path, route


def route_roles(app: FastAPI) -> dict[tuple[str, str], frozenset[str] | None]:
    """{(method, path): the roles admitted (admin always among them)} for every API route;
    None for a route that declares no roles."""
    found: dict[tuple[str, str], frozenset[str] | None] = {}
    for path, route in api_routes(app):
        checks = list(_role_checks(route.dependant))
        roles: frozenset[str] | None = None
        if checks:
            roles = frozenset({ADMIN}.union(*(c.roles for c in checks)))
        for method in sorted(route.methods or ()):
            found[(method, path)] = roles
    return found


def document_roles(schema: dict[str, Any], roles: dict[tuple[str, str], frozenset[str] | None]) -> dict[str, Any]:
    """Add the key schemes, and each operation's roles (`x-roles` and a line in its
    description), to an OpenAPI document."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["bearer"] = {"type": "http", "scheme": "bearer", "description": "An API key `ak_<id>_<secret>`."}
    schemes["apiKey"] = {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    for (method, path), admitted in roles.items():
        operation = schema.get("paths", {}).get(path, {}).get(method.lower())
        if operation is None or admitted is None:
            continue
        ordered = [role for role in ROLES if role in admitted]
        operation["x-roles"] = ordered
        operation["security"] = [{"bearer": []}, {"apiKey": []}]
        # Every route with roles may refuse the key, its role or its rate, whatever it declares.
        responses = operation.setdefault("responses", {})
        for status, why in REFUSALS.items():
            responses.setdefault(str(status), {
                "description": why,
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            })
        line = "**Roles:** " + ", ".join(f"`{role}`" for role in ordered) + "."
        operation["description"] = f"{operation.get('description', '').rstrip()}\n\n{line}".lstrip()
    return schema
