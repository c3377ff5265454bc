"""Apps built with `create_app()` for the API tests, on SQLite (a temp file) and on
PostgreSQL + Redis (a schema of their own, dropped afterwards), with a key for every role.

`api` is module-scoped and parametrized over both backends; tests that need an app of their
own (other settings) use `start_api`. Times are fixed: the clock stands at
2026-11-11T12:00:00Z, inside the demo rules' Singles' Day season.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from arbiter.api.app import create_app
from arbiter.api.settings import Settings
from arbiter.api.wiring import Services
from arbiter.clock import FixedClock
from arbiter.platform.catalog import service as catalog
from arbiter.platform.db import UnitOfWork, make_engine
from arbiter.platform.demo import world
from arbiter.platform.keys import service as keys

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
PROBLEM = "application/problem+json"
ROLES = ("service", "operator", "analyst", "merchant", "admin")
SHOP = "shop-fashion-001"
OTHER_SHOP = "shop-other-002"


@dataclass
class Api:
    client: TestClient
    app: FastAPI
    backend: str
    tokens: dict[str, str] = field(default_factory=dict)  # role (and "merchant-other") -> key

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def key(self, role: str, shop: str | None = None) -> str:
        with UnitOfWork(self.services.database) as uow:
            return keys.create(uow, role=role, shop=shop, by="tests", clock=self.services.clock).token

    def headers(self, role: str, **more: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **more}

    def call(self, role: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if role is not None:
            headers.update(self.headers(role))
        return self.client.request(method, path, headers=headers, **kwargs)

    def post(self, role: str | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.call(role, "POST", path, **kwargs)

    def get(self, role: str | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.call(role, "GET", path, **kwargs)

    def put(self, role: str | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.call(role, "PUT", path, **kwargs)


def base_settings(**overrides: Any) -> Settings:
    # No rate limit and no key cache unless a test asks: each test sees exactly what it did.
    return replace(Settings(rate_limit_per_second=0, key_cache_seconds=0), **overrides)


@contextmanager
def start_api(settings: Settings, backend: str = "sqlite", clock: FixedClock | None = None) -> Iterator[Api]:
    app = create_app(settings, clock=clock or FixedClock(NOW))
    with TestClient(app, raise_server_exceptions=False) as client:
        api = Api(client, app, backend)
        for role in ROLES:
            api.tokens[role] = api.key(role, SHOP if role == "merchant" else None)
        api.tokens["merchant-other"] = api.key("merchant", OTHER_SHOP)
        yield api


@contextmanager
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """A URL whose connections live in a fresh schema, dropped on the way out."""
    schema = f"api_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


@contextmanager
def backend_settings(backend: str, request: pytest.FixtureRequest, tmp: Path, **overrides: Any) -> Iterator[Settings]:
    if backend == "sqlite":
        yield base_settings(database_url=f"sqlite:///{tmp / 'arbiter.db'}", **overrides)
        return
    postgres_url = request.getfixturevalue("postgres_url")
    redis_url = request.getfixturevalue("redis_url")
    with postgres_schema(postgres_url) as url:
        yield base_settings(database_url=url, redis_url=redis_url, redis_prefix=unique("arbiter-test"), **overrides)


@pytest.fixture(scope="module", params=["sqlite", "services"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """An app on the demo rules, on SQLite or on PostgreSQL + Redis."""
    with backend_settings(request.param, request, tmp_path_factory.mktemp("api")) as settings:
        with start_api(settings, request.param) as started:
            yield started


@pytest.fixture(scope="module")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """An app on the demo rules on SQLite only, for what does not depend on the stores."""
    tmp = tmp_path_factory.mktemp("api")
    with start_api(base_settings(database_url=f"sqlite:///{tmp / 'arbiter.db'}")) as started:
        yield started


@pytest.fixture(scope="module")
def shop(api: Api) -> Iterator[Api]:
    """`api` with the demo world (its goods, the Shanghai warehouse, live promotions), built
    once per app."""
    platform = api.services.platform()
    with UnitOfWork(platform.db) as uow:
        if catalog.get_sku(uow, world.PHONE) is None:
            world.build(uow, platform, NOW)
    yield api


def unique(prefix: str) -> str:
    """A name no other test (nor another run sharing Redis) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def assert_problem(response: httpx.Response, status: int, type_: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    if type_ is not None:
        assert body["type"] == f"urn:arbiter:problem:{type_}"
    return body
