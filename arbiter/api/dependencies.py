"""Request dependencies shared by the routes: the settings, the wired services and the caller.

Who the caller is, and whether its role may make the call, is decided by `requires(...)`
(`arbiter.api.auth`), which every `/v1` route declares; it leaves the principal on the
request, where `current_principal` picks it up for the route's body. They do no I/O, so they
are coroutines: FastAPI runs a plain function dependency in a worker thread, a hop per
dependency per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from arbiter.api.auth import Principal, unauthenticated
from arbiter.api.settings import Settings
from arbiter.api.wiring import Services


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def current_principal(request: Request) -> Principal:
    """The principal `requires` authenticated for this request."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # a route that forgot `requires`: refuse rather than serve anonymously
        raise unauthenticated("this call needs an API key")
    return principal


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
