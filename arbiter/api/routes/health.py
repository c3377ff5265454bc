"""The liveness check: `GET /health`, unversioned, for load balancers and `make run`."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

import arbiter


class Health(BaseModel):
    status: Literal["ok"]
    version: str


def router() -> APIRouter:
    api = APIRouter(tags=["health"])

    @api.get("/health", summary="Liveness check")
    def health() -> Health:
        return Health(status="ok", version=arbiter.__version__)

    return api
