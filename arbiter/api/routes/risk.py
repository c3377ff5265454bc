"""Risk routes: the review queue (人工审核) — list, show, assign, approve and reject cases — and
the managed block and allow lists (黑白名单), for role `operator` (`analyst` reads lists).

A case is decided by the calling key: its id is the operator the trail records. A move the
case's state refuses (already decided, overdue) is a 409 problem saying why; a case whose
subject kind has no registered resumer is a 503 (nothing changed). The resumers come from
`app.state.review_resumers` (a `Resumers`), which the composition root fills with the order,
payment and withdrawal modules' functions; none are registered by default.

List changes are audited (`risk_list.add`, `risk_list.remove`) with the key as the author.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from arbiter.api.auth import requires
from arbiter.api.dependencies import PrincipalDep, ServicesDep
from arbiter.api.errors import ApiProblem, problem_responses
from arbiter.api.wiring import Services
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys.models import ANALYST, OPERATOR
from arbiter.platform.risk import lists, review
from arbiter.platform.risk.models import NAME_LENGTH, VALUE_LENGTH

CaseId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")]
ListName = Annotated[str, Path(min_length=1, max_length=NAME_LENGTH, pattern=r"^[\x21-\x7e]+$")]
ListValue = Annotated[str, Path(min_length=1, max_length=VALUE_LENGTH)]
Status = Literal["open", "approved", "rejected", "expired"]
SubjectKind = Literal["order", "payment", "withdrawal", "registration", "credit_application"]

ASSIGN_EXAMPLES: dict[str, Any] = {
    "self": {"summary": "Take the case yourself", "value": {}},
    "other": {"summary": "Give the case to another operator", "value": {"to": "k_0a1b2c3d4e5f"}},
}
APPROVE_EXAMPLES: dict[str, Any] = {
    "approve": {"summary": "Approve after calling the user", "value": {"note": "called the user: it was her"}},
}
REJECT_EXAMPLES: dict[str, Any] = {
    "reject": {"summary": "Reject, saying why", "value": {"note": "a device farm: 12 accounts this week"}},
}
ENTRY_EXAMPLES: dict[str, Any] = {
    "block": {"summary": "Block a device for a week",
              "value": {"reason": "chargeback ring", "expires_at": "2026-11-18T00:00:00+08:00"}},
}


class ActionOut(BaseModel):
    at: datetime
    actor: str
    action: str = Field(description="open, assign, approve, reject or expire.")
    note: str


class CaseOut(BaseModel):
    id: str
    scene: str
    subject_kind: str
    subject_id: str
    reasons: list[str] = Field(description="The reasons of the decision's review effects.")
    effects: list[dict[str, Any]] = Field(description="Every effect of the decision, amounts as strings.")
    explanation: dict[str, Any] = Field(description="Strategy, ruleset, fired rules, score and every rule's trace.")
    opened_at: datetime
    due_at: datetime = Field(description="The SLA: when an open case expires and its subject is cancelled.")
    status: str = Field(description="open, approved, rejected or expired.")
    assignee: str | None
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    actions: list[ActionOut] = Field(description="The audit trail, oldest first (only when one case is shown).")


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str | None = Field(default=None, min_length=1, max_length=200,
                           description="The operator (key id) to give the case to; the caller when absent.")


class DecideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=2000, description="Why; required to reject.")


class EntryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)
    expires_at: datetime | None = Field(default=None, description="When the entry stops counting; never when absent.")


class EntryOut(BaseModel):
    name: str
    value: str
    reason: str
    added_by: str
    added_at: datetime
    expires_at: datetime | None


def case_out(case: review.Case) -> CaseOut:
    data = case.to_json()
    return CaseOut(**data)


def _resumers(request: Request) -> review.Resumers | dict[str, review.Resumer]:
    found: review.Resumers | None = getattr(request.app.state, "review_resumers", None)
    return found if found is not None else review.Resumers()


def _shown(services: Services, case_id: str) -> CaseOut:
    with UnitOfWork(services.database) as uow:
        found = review.case(uow, case_id)
    if found is None:
        raise ApiProblem(404, "risk.review.not_found", "Not found", f"review case {case_id} was not found")
    return case_out(found)


def _moved(services: Services, result: review.ReviewResult) -> CaseOut:
    if not result.ok:
        raise ApiProblem(409, "risk.review.refused", "The case cannot move", result.reason or "refused",
                         case_id=result.case_id, case_status=result.status)
    return _shown(services, result.case_id)


def _no_resumer(exc: review.NoResumer) -> ApiProblem:
    return ApiProblem(503, "risk.review.no_resumer", "Cannot resume the subject", exc.message)


def router() -> APIRouter:  # noqa: C901 - one route per function below
    api = APIRouter(prefix="/risk", tags=["risk"])
    moves = problem_responses(401, 403, 404, 409, 413, 422, 429, 500, 503)
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)

    @api.get("/review-cases", summary="List review cases", dependencies=[requires(OPERATOR)], responses=reads)
    def list_cases(
        services: ServicesDep,
        status: Annotated[Status | None, Query(description="Only cases in this status.")] = None,
        scene: Annotated[str | None, Query(max_length=NAME_LENGTH)] = None,
        subject_kind: Annotated[SubjectKind | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[CaseOut]:
        """The soonest due first, without their trails."""
        with UnitOfWork(services.database) as uow:
            found = review.list_cases(uow, status, scene, subject_kind=subject_kind, limit=limit)
        return [case_out(c) for c in found]

    @api.get("/review-cases/{case_id}", summary="A review case and its trail", dependencies=[requires(OPERATOR)],
             responses=reads)
    def show_case(case_id: CaseId, services: ServicesDep) -> CaseOut:
        return _shown(services, case_id)

    @api.post("/review-cases/{case_id}/assign", summary="Assign a review case", dependencies=[requires(OPERATOR)],
              responses=moves)
    def assign(case_id: CaseId, services: ServicesDep, principal: PrincipalDep,
               body: Annotated[AssignRequest | None, Body(openapi_examples=ASSIGN_EXAMPLES)] = None) -> CaseOut:
        """Give an open case to the caller, or to the operator named in `to`."""
        to = body.to if body is not None and body.to is not None else principal.key_id
        with UnitOfWork(services.database) as uow:
            result = review.assign(uow, case_id, to, services.clock.now(), by=principal.key_id)
        return _moved(services, result)

    @api.post("/review-cases/{case_id}/approve", summary="Approve a review case: the subject resumes",
              dependencies=[requires(OPERATOR)], responses=moves)
    def approve(case_id: CaseId, request: Request, services: ServicesDep, principal: PrincipalDep,
                body: Annotated[DecideRequest | None, Body(openapi_examples=APPROVE_EXAMPLES)] = None) -> CaseOut:
        """Approve an open case before its SLA ends; the waiting order, payment or withdrawal
        goes ahead in the same transaction. Repeating the same approval answers it again."""
        note = body.note if body is not None else ""
        try:
            with UnitOfWork(services.database) as uow:
                result = review.approve(uow, case_id, principal.key_id, note, services.clock.now(),
                                        resumers=_resumers(request))
        except review.NoResumer as exc:
            raise _no_resumer(exc) from exc
        return _moved(services, result)

    @api.post("/review-cases/{case_id}/reject", summary="Reject a review case: the subject is cancelled",
              dependencies=[requires(OPERATOR)], responses=moves)
    def reject(case_id: CaseId, request: Request, services: ServicesDep, principal: PrincipalDep,
               body: Annotated[DecideRequest, Body(openapi_examples=REJECT_EXAMPLES)]) -> CaseOut:
        """Reject an open case, with a note saying why; the waiting subject is cancelled."""
        try:
            with UnitOfWork(services.database) as uow:
                result = review.reject(uow, case_id, principal.key_id, body.note, services.clock.now(),
                                       resumers=_resumers(request))
        except review.NoResumer as exc:
            raise _no_resumer(exc) from exc
        return _moved(services, result)

    @api.get("/lists/{name}", summary="The entries of a managed list", dependencies=[requires(OPERATOR, ANALYST)],
             responses=reads)
    def list_entries(
        name: ListName, services: ServicesDep,
        active: Annotated[bool, Query(description="Only the entries that count now.")] = False,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> list[EntryOut]:
        """By value; an expired entry stays listed (unless `active`) until it is removed."""
        with UnitOfWork(services.database) as uow:
            found = lists.list_entries(uow, name, now=services.clock.now() if active else None, limit=limit)
        return [EntryOut(**e.to_json()) for e in found]

    @api.put("/lists/{name}/entries/{value}", summary="Put a value on a managed list",
             dependencies=[requires(OPERATOR)], responses=moves)
    def add_entry(name: ListName, value: ListValue, services: ServicesDep, principal: PrincipalDep,
                  body: Annotated[EntryRequest, Body(openapi_examples=ENTRY_EXAMPLES)]) -> EntryOut:
        """Add the value, or replace its reason and expiry (audited)."""
        with UnitOfWork(services.database) as uow:
            entry = lists.add_entry(uow, name, value, reason=body.reason, by=principal.key_id,
                                    at=services.clock.now(), expires_at=body.expires_at)
        return EntryOut(**entry.to_json())

    @api.delete("/lists/{name}/entries/{value}", summary="Take a value off a managed list", status_code=204,
                dependencies=[requires(OPERATOR)], responses=moves)
    def remove_entry(name: ListName, value: ListValue, services: ServicesDep, principal: PrincipalDep,
                     reason: Annotated[str, Query(min_length=1, max_length=2000, description="Why.")]) -> None:
        """Audited; a 404 when the value is not on the list."""
        with UnitOfWork(services.database) as uow:
            removed = lists.remove_entry(uow, name, value, reason=reason, by=principal.key_id,
                                         at=services.clock.now())
        if not removed:
            raise ApiProblem(404, "risk.list.not_found", "Not found", f"{value} is not on list {name}")

    return api
