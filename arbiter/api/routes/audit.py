"""`GET /v1/audit`: the audit trail — who published rules, changed lists, keys and
experiments, when, and what (role `admin`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from arbiter.api.auth import requires
from arbiter.api.dependencies import ServicesDep
from arbiter.api.errors import problem_responses
from arbiter.platform.audit import service as audit
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys.models import ADMIN


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="The API key id (or command user) that made the change.")
    action: str = Field(examples=["rules.publish"])
    target: str = Field(examples=["4"])
    detail: dict[str, Any]


def router() -> APIRouter:
    api = APIRouter(prefix="/audit", tags=["audit"])

    @api.get("", summary="Read the audit trail", dependencies=[requires(ADMIN)],
             responses=problem_responses(401, 403, 422, 429, 500))
    def entries(
        services: ServicesDep,
        action: Annotated[str | None, Query(max_length=100, description="One action, or a prefix ending in `.` (`rules.`).")] = None,
        actor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=audit.MAX_LIMIT)] = 100,
    ) -> list[AuditEntryOut]:
        """The latest entries first."""
        with UnitOfWork(services.database) as uow:
            found = audit.entries(uow, action=action, actor=actor, limit=limit)
        return [AuditEntryOut(id=e.id, at=e.at, actor=e.actor, action=e.action, target=e.target,
                              detail=dict(e.detail)) for e in found]

    return api
