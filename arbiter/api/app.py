"""The HTTP service's factory: `create_app()` builds a FastAPI app on demand.

Nothing is built at import time: uvicorn calls the factory
(`uvicorn --factory arbiter.api.app:create_app`), tests call it with the settings (and clock)
they want. `arbiter.api.wiring.Services` is the composition root: the app starts it in its
lifespan and stops it on shutdown. Routes are versioned under `/v1` and each declares the
roles it admits (`arbiter.api.auth.requires`); `/health`, `/ready` and `/metrics` stay
unversioned and open, for load balancers and scrapers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

import arbiter
from arbiter.api import errors, observability
from arbiter.api.auth import api_routes, document_roles, route_roles
from arbiter.api.middleware import BodySizeLimit
from arbiter.api.observability import RequestContext, configure_logging
from arbiter.api.routes import (
    aftersales,
    audit,
    cart,
    catalog,
    credit,
    decisions,
    experiments,
    fulfillment,
    funding,
    health,
    merchants,
    orders,
    payments,
    pricing,
    promotions,
    risk,
    rules,
    settlement,
    suppliers,
    users,
)
from arbiter.api.settings import Settings, load_settings
from arbiter.api.wiring import Services
from arbiter.clock import Clock
from arbiter.platform.payments.channels import UnknownChannel
from arbiter.platform.payments.charging import CallbackRefused, ForgedCallback
from arbiter.platform.promotions.budgets import BudgetUnavailable, UnknownBudget
from arbiter.platform.promotions.service import CodeSpaceExhausted

DESCRIPTION = """\
arbiter decides promotions, prices and risk for an e-commerce platform from rules written in
a small language. Errors are RFC 9457 problem details (`application/problem+json`).

Every `/v1` call needs an API key (`Authorization: Bearer ak_…` or `X-API-Key: ak_…`), made
with `arbiter keys create --role ROLE`; each operation lists the roles it admits. Calls that
move money, stock or budget accept an `Idempotency-Key`.
"""


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings if settings is not None else load_settings()
    configure_logging(settings.log_level)
    services = Services(settings, clock)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(services.start)
        try:
            yield
        finally:
            await run_in_threadpool(services.stop)

    app = FastAPI(
        title="arbiter",
        version=arbiter.__version__,
        description=DESCRIPTION,
        # Our handlers answer every error; FastAPI's defaults would leak other shapes.
        debug=False,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.services = services
    errors.install_error_handlers(app)
    errors.register_errors(
        app,
        (experiments.UnknownExperiment, 404),
        (UnknownBudget, 404),
        (BudgetUnavailable, 503),
        (CodeSpaceExhausted, 503),
        (ForgedCallback, 400),
        (CallbackRefused, 409),
        (UnknownChannel, 404),
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Added last, so outermost: 413s and auth refusals get a request id and a log line too.
    app.add_middleware(RequestContext, metrics=services.metrics)

    v1 = APIRouter(prefix="/v1")
    # The decision engine's areas, then the platform flows'.
    areas = (decisions, pricing, rules, experiments, promotions, risk, audit,
             catalog, users, cart, orders, payments, fulfillment, aftersales, suppliers,
             merchants, settlement, credit, funding)
    for area in areas:
        v1.include_router(area.router())
    app.include_router(health.router())
    app.include_router(observability.router())
    app.include_router(v1)

    services.metrics.route_paths = {id(route): path for path, route in api_routes(app)}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = errors.document_problems(FastAPI.openapi(app))
            app.openapi_schema = document_roles(schema, route_roles(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
