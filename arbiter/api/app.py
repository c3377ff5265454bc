"""The HTTP service's composition root: `create_app()` builds a FastAPI app on demand.

Nothing is built at import time: uvicorn calls the factory
(`uvicorn --factory arbiter.api.app:create_app`), tests call it with the settings they want.
Routes are versioned under `/v1` (the health check stays unversioned); every `/v1` route goes
through `current_principal`, the seam where authentication will plug in.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI

import arbiter
from arbiter.api import errors
from arbiter.api.dependencies import current_principal
from arbiter.api.middleware import BodySizeLimit
from arbiter.api.routes import health, rules
from arbiter.api.settings import Settings, load_settings

DESCRIPTION = """\
arbiter decides promotions, prices and risk for an e-commerce platform from rules written in
a small language. Errors are RFC 9457 problem details (`application/problem+json`).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings if settings is not None else load_settings()
    app = FastAPI(
        title="arbiter",
        version=arbiter.__version__,
        description=DESCRIPTION,
        # Our handlers answer every error; FastAPI's defaults would leak other shapes.
        debug=False,
    )
    app.state.settings = settings
    errors.install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(current_principal)])
    v1.include_router(rules.router())
    app.include_router(health.router())
    app.include_router(v1)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = errors.document_problems(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
