"""Rule-file routes: check, save drafts, publish, roll back, list and diff ruleset versions.

`POST /v1/rules/check` answers what `arbiter check` prints, as JSON: every diagnostic with
its code, severity, message, location and hint, and the same summary line; rule problems are
a 200 with `ok: false`. Publishing refuses rules that do not compile with a 422 problem
carrying the same diagnostics (`rules.rejected`), and publishing what is published already
with a 409 problem. Publishes, draft publishes and rollbacks record the caller's key as who
published, are audited, and are served by this process at once (the others follow through
their reloaders).

Roles: `operator` writes; `operator` and `analyst` read and check.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from arbiter.api.auth import requires
from arbiter.api.dependencies import PrincipalDep, ServicesDep, SettingsDep
from arbiter.api.errors import problem_responses
from arbiter.api.limits import MAX_INT
from arbiter.api.wiring import Services
from arbiter.dsl.checker import check_sources
from arbiter.dsl.diagnostics import Diagnostic, summary
from arbiter.platform.audit import service as audit
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys.models import ANALYST, OPERATOR
from arbiter.platform.rules import service as rules

MAX_FILE_NAME = 200

_CLEAN = """\
tag user.tags: set { default [] }
effect show(content: string, slot: string)
scene home_popup { display "首页弹窗" }
strategy welcome {
  scene home_popup
  hit first
  rule new_user { when "new_user" in user.tags then show(content: "welcome", slot: "banner") }
}
"""

EXAMPLES: dict[str, Any] = {
    "clean": {
        "summary": "A rule file with no problems",
        "value": {"files": {"welcome.rules": _CLEAN}},
    },
    "unknown_tag": {
        "summary": "A rule file reading an undeclared tag",
        "value": {"files": {"welcome.rules": _CLEAN.replace("user.tags then", "user.tagz then")}},
    },
}


WHY = Field(min_length=1, max_length=2000, description="Why: recorded with the version and in the audit log.",
            examples=["Singles' Day popup goes live"])

PUBLISH_EXAMPLES: dict[str, Any] = {
    "publish": {
        "summary": "Publish rule files as the next version",
        "value": {"files": {"rules/welcome.rules": _CLEAN}, "why": "welcome popup for new users"},
    },
}
ROLLBACK_EXAMPLES: dict[str, Any] = {
    "rollback": {"summary": "Serve version 3's rules again", "value": {"version": 3, "why": "v4 shows the wrong popup"}},
}
DRAFT_PUBLISH_EXAMPLES: dict[str, Any] = {
    "publish_draft": {"summary": "Publish a reviewed draft", "value": {"why": "reviewed by the promotions team"}},
}


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: dict[str, str] = Field(
        min_length=1,
        description="Rule files to check together, as {file name: UTF-8 text}.",
    )


class PublishRequest(CheckRequest):
    why: str = WHY


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=MAX_INT, description="The version whose rules to serve again (as a new version).")
    why: str = WHY


class WhyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    why: str = WHY


class DiagnosticOut(BaseModel):
    code: str = Field(examples=["dsl.tag.unknown"])
    severity: Literal["error", "warning"]
    message: str = Field(examples=["unknown tag `user.tagz`; did you mean `user.tags`?"])
    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    hint: str | None = None


class CheckResponse(BaseModel):
    ok: bool = Field(description="True when no diagnostic is an error.")
    diagnostics: list[DiagnosticOut]
    summary: str = Field(examples=["1 error, 0 warnings"])


class VersionOut(BaseModel):
    number: int
    hash: str
    status: Literal["draft", "published", "archived"]
    why: str
    created_by: str = Field(description="The key id (or command user) that saved it.")
    created_at: datetime
    published_by: str | None
    published_at: datetime | None
    rollback_of: int | None
    files: list[str]


class VersionDetail(VersionOut):
    sources: dict[str, str]


class PublishOut(BaseModel):
    version: VersionOut
    archived: int | None = Field(description="The version it replaced, if any.")
    warnings: list[DiagnosticOut]
    serving: int | None = Field(description="The version this process serves now.")


class DraftOut(BaseModel):
    version: VersionOut
    ok: bool = Field(description="True when the draft compiles (it is saved either way).")
    diagnostics: list[DiagnosticOut]
    summary: str


class ChangesOut(BaseModel):
    added: list[str]
    removed: list[str]
    changed: list[str]


class DiffOut(BaseModel):
    a: int | None
    b: int | None
    rules: ChangesOut
    conditions: ChangesOut
    tags: ChangesOut
    effects: ChangesOut
    scenes: ChangesOut
    strategies: ChangesOut
    experiments: ChangesOut
    holdouts: ChangesOut
    promotions: ChangesOut
    tests: ChangesOut
    lines: list[str] = Field(description="A readable listing: `+ rules s.r`, `- tags user.age`, `~ scenes x`.")


def version_out(version: rules.Version) -> VersionOut:
    return VersionOut(
        number=version.number, hash=version.hash, status=version.status,  # type: ignore[arg-type]
        why=version.why, created_by=version.created_by, created_at=version.created_at,
        published_by=version.published_by, published_at=version.published_at,
        rollback_of=version.rollback_of, files=sorted(version.sources),
    )


def diagnostics_out(diagnostics: tuple[Diagnostic, ...]) -> list[DiagnosticOut]:
    return [DiagnosticOut.model_validate(d.to_json()) for d in diagnostics]


def _bounded(request: CheckRequest, max_files: int, max_file_bytes: int) -> None:
    """Refuse too many files, a too-large file or an unusable file name, naming each."""
    errors: list[dict[str, Any]] = []
    if len(request.files) > max_files:
        errors.append({
            "loc": ("body", "files"),
            "type": "too_many_files",
            "msg": f"at most {max_files} files may be checked at once, not {len(request.files)}",
        })
    for name, text in request.files.items():
        if not name.strip() or len(name) > MAX_FILE_NAME or not name.isprintable():
            errors.append({
                "loc": ("body", "files", name),
                "type": "file_name",
                "msg": f"a file name is 1 to {MAX_FILE_NAME} printable characters",
            })
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > max_file_bytes:
            errors.append({
                "loc": ("body", "files", name),
                "type": "file_too_large",
                "msg": f"the file has {size} bytes; the limit is {max_file_bytes}",
            })
    if errors:
        raise RequestValidationError(errors)


def router() -> APIRouter:
    api = APIRouter(prefix="/rules", tags=["rules"])

    @api.post(
        "/check",
        summary="Check rule files",
        dependencies=[requires(OPERATOR, ANALYST)],
        response_description="The diagnostics; `ok` is false when any is an error.",
        responses=problem_responses(413, 422, 500),
    )
    def check(
        request: Annotated[CheckRequest, Body(openapi_examples=EXAMPLES)],
        settings: SettingsDep,
    ) -> CheckResponse:
        """Parse and type-check the files together, as `arbiter check` does, and return
        every diagnostic. Nothing is stored."""
        _bounded(request, settings.max_rule_files, settings.max_rule_file_bytes)
        result = check_sources(request.files)
        return CheckResponse(
            ok=result.ok,
            diagnostics=diagnostics_out(result.diagnostics),
            summary=summary(result.diagnostics),
        )

    writes = problem_responses(401, 403, 409, 413, 422, 429, 500)
    reads = problem_responses(401, 403, 404, 422, 429, 500)

    @api.post("/publish", summary="Publish rule files", status_code=201,
              dependencies=[requires(OPERATOR)], responses=writes)
    def publish(
        request: Annotated[PublishRequest, Body(openapi_examples=PUBLISH_EXAMPLES)],
        principal: PrincipalDep,
        services: ServicesDep,
        settings: SettingsDep,
    ) -> PublishOut:
        """Check and compile the files, then publish them as the next version (audited)."""
        _bounded(request, settings.max_rule_files, settings.max_rule_file_bytes)
        with UnitOfWork(services.database) as uow:
            result = rules.publish(uow, request.files, by=principal.key_id, why=request.why,
                                   clock=services.clock, redis=services.redis)
        return _published(services, principal.key_id, "rules.publish", result)

    @api.post("/rollback", summary="Roll back to an earlier version", status_code=201,
              dependencies=[requires(OPERATOR)], responses=writes | problem_responses(404))
    def rollback(
        request: Annotated[RollbackRequest, Body(openapi_examples=ROLLBACK_EXAMPLES)],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> PublishOut:
        """Publish an earlier version's rules again, as a new version (audited)."""
        with UnitOfWork(services.database) as uow:
            result = rules.rollback(uow, request.version, by=principal.key_id, why=request.why,
                                    clock=services.clock, redis=services.redis)
        return _published(services, principal.key_id, "rules.rollback", result)

    @api.post("/drafts", summary="Save a draft", status_code=201,
              dependencies=[requires(OPERATOR)], responses=writes)
    def save_draft(
        request: Annotated[PublishRequest, Body(openapi_examples=PUBLISH_EXAMPLES)],
        principal: PrincipalDep,
        services: ServicesDep,
        settings: SettingsDep,
    ) -> DraftOut:
        """Keep rule files as a draft version, even with errors; its diagnostics come back."""
        _bounded(request, settings.max_rule_files, settings.max_rule_file_bytes)
        with UnitOfWork(services.database) as uow:
            result = rules.save_draft(uow, request.files, by=principal.key_id, why=request.why,
                                      clock=services.clock)
        return DraftOut(version=version_out(result.version), ok=result.ok,
                        diagnostics=diagnostics_out(result.diagnostics), summary=summary(result.diagnostics))

    @api.post("/drafts/{number}/publish", summary="Publish a draft",
              dependencies=[requires(OPERATOR)], responses=writes | problem_responses(404))
    def publish_draft(
        number: Annotated[int, Path(ge=1, le=MAX_INT)],
        request: Annotated[WhyRequest, Body(openapi_examples=DRAFT_PUBLISH_EXAMPLES)],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> PublishOut:
        """Publish a draft in place, if it compiles (audited)."""
        with UnitOfWork(services.database) as uow:
            result = rules.publish_draft(uow, number, by=principal.key_id, why=request.why,
                                         clock=services.clock, redis=services.redis)
        return _published(services, principal.key_id, "rules.publish_draft", result)

    @api.get("/versions", summary="List ruleset versions",
             dependencies=[requires(OPERATOR, ANALYST)], responses=reads)
    def list_versions(services: ServicesDep) -> list[VersionOut]:
        """Every version, oldest first, without its sources."""
        with UnitOfWork(services.database) as uow:
            return [version_out(v) for v in rules.versions(uow)]

    @api.get("/versions/{number}", summary="One ruleset version with its files",
             dependencies=[requires(OPERATOR, ANALYST)], responses=reads)
    def get_version(number: Annotated[int, Path(ge=1, le=MAX_INT)], services: ServicesDep) -> VersionDetail:
        with UnitOfWork(services.database) as uow:
            version = rules.get(uow, number)
        return VersionDetail(**version_out(version).model_dump(), sources=dict(version.sources))

    @api.get("/diff", summary="What changed between two versions",
             dependencies=[requires(OPERATOR, ANALYST)], responses=reads)
    def diff(
        services: ServicesDep,
        a: Annotated[int, Query(alias="from", ge=1, le=MAX_INT, description="The older version.")],
        b: Annotated[int, Query(alias="to", ge=1, le=MAX_INT, description="The newer version.")],
    ) -> DiffOut:
        """Declarations `to` adds, removes and changes relative to `from`."""
        with UnitOfWork(services.database) as uow:
            found = rules.diff(uow, a, b)
        return DiffOut.model_validate({**found.to_json(), "lines": found.lines()})

    return api


def _published(services: Services, actor: str, action: str, result: rules.PublishResult) -> PublishOut:
    """Audit a publish (it committed on its own), then serve it here at once."""
    version = result.version
    with UnitOfWork(services.database) as uow:
        audit.record(uow, actor=actor, action=action, target=str(version.number), at=services.clock.now(),
                     detail={"hash": version.hash, "why": version.why, "archived": result.archived,
                             "rollback_of": version.rollback_of, "files": sorted(version.sources)})
        uow.commit()
    services.reload()
    return PublishOut(version=version_out(version), archived=result.archived,
                      warnings=diagnostics_out(result.warnings), serving=services.ruleset_version)

