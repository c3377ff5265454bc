"""Rule-file routes: `POST /v1/rules/check` checks rule files sent as text.

It answers what `arbiter check` prints, as JSON: every diagnostic with its code, severity,
message, location and hint, and the same summary line. Rule problems are a 200 with
`ok: false`; only a malformed or oversized request is an error (422 / 413 problem).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from arbiter.api.dependencies import SettingsDep
from arbiter.api.errors import problem_responses
from arbiter.dsl.checker import check_sources
from arbiter.dsl.diagnostics import summary

MAX_FILE_NAME = 200

_CLEAN = """\
tag user.tags: set { default [] }
effect show(content: string, slot: string)
scene home_popup { display "首页弹窗" }
strategy welcome {
  scene home_popup
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


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: dict[str, str] = Field(
        min_length=1,
        description="Rule files to check together, as {file name: UTF-8 text}.",
    )


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
            diagnostics=[DiagnosticOut.model_validate(d.to_json()) for d in result.diagnostics],
            summary=summary(result.diagnostics),
        )

    return api
