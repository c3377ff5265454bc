"""Request dependencies shared by the routes: the service's settings and who is calling.

`current_principal` is the seam for authentication and roles. Today every caller is the
anonymous principal; when auth arrives, this function (and nothing in the routes) changes to
read credentials and refuse with a 401/403 problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from arbiter.api.settings import Settings


@dataclass(frozen=True, slots=True)
class Principal:
    """Who makes a request, and the roles it holds."""

    subject: str
    roles: frozenset[str] = frozenset()


ANONYMOUS = Principal("anonymous")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def current_principal() -> Principal:
    return ANONYMOUS


SettingsDep = Annotated[Settings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
