"""Problem details (RFC 9457): the one shape of every error the HTTP service returns.

Every failure leaves as `application/problem+json` with `type`, `title`, `status`, `detail`
and `instance`; validation problems add `errors`, one entry per invalid field with its
location. This is the only place that turns exceptions into HTTP status codes. Nothing
internal (tracebacks, exception text of unexpected errors) ever reaches a client: the
catch-all handler logs the exception and answers a bare 500 problem.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from arbiter.dsl.diagnostics import summary
from arbiter.engine.engine import ClientNotAllowed, UnknownScene, UnknownStrategy
from arbiter.errors import ArbiterError, Conflict, CurrencyMismatch, InvalidInput, NotFound
from arbiter.platform.experiments.service import ConflictingConversion
from arbiter.platform.keys.service import KeyNotFound
from arbiter.platform.rules.reload import NothingPublished
from arbiter.platform.rules.service import (
    PublishConflict,
    RulesRejected,
    UnchangedRules,
    VersionNotFound,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "urn:arbiter:problem:"

logger = logging.getLogger("arbiter.api")

# Expected failures and their statuses, the first match wins (subclasses before their bases);
# an ArbiterError not listed here is a 500. Routes may add their module's errors with
# `register_errors`.
STATUS_BY_ERROR: tuple[tuple[type[ArbiterError], int], ...] = (
    (UnchangedRules, 409),
    (RulesRejected, 422),
    (InvalidInput, 422),
    (CurrencyMismatch, 422),
    (UnknownStrategy, 422),
    (UnknownScene, 404),
    (VersionNotFound, 404),
    (KeyNotFound, 404),
    (ClientNotAllowed, 403),
    (PublishConflict, 409),
    (ConflictingConversion, 409),
    (NothingPublished, 503),
    (NotFound, 404),
    (Conflict, 409),
)


class ApiProblem(Exception):
    """A refusal decided in the HTTP layer itself (authentication, roles, rate limits,
    idempotency), answered as a problem of its own type: `urn:arbiter:problem:<slug>`."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions


class FieldError(BaseModel):
    location: list[str | int] = Field(
        description="Where the invalid value is: `body`, `query`, `path` or `header`, then the keys.",
        examples=[["body", "files"]],
    )
    pointer: str | None = Field(
        default=None,
        description="JSON Pointer (RFC 6901) into the request body, for body fields.",
        examples=["#/files"],
    )
    detail: str = Field(examples=["Field required"])
    type: str = Field(description="A stable code for the kind of problem.", examples=["missing"])


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[PROBLEM_BASE + "body-too-large"])
    title: str = Field(examples=["Request body too large"])
    status: int = Field(examples=[413])
    detail: str | None = Field(default=None, examples=["the request body is larger than 1048576 bytes"])
    instance: str | None = Field(default=None, examples=["/v1/rules/check"])


class ValidationProblem(Problem):
    # Only a request that fails validation lists fields; a 422 refused by a business rule
    # (an amount that is not whole cents, rules that do not check) says why in `detail`.
    errors: list[FieldError] = Field(default_factory=list)


def problem(
    request: Request | None,
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type_: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem response. Without a `type_`, the type is `about:blank` and the title the
    status phrase, as RFC 9457 asks."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body: dict[str, Any] = {
        "type": type_ or "about:blank",
        "title": title if (type_ and title) else phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path if request is not None else None,
        **extensions,
    }
    request_id = request.scope.get("state", {}).get("request_id") if request is not None else None
    if request_id is not None:
        # Also on the 500s answered outside the request-id middleware.
        headers = {**(headers or {}), "X-Request-Id": request_id}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI error entries as `FieldError`s; never echoes the invalid input back."""
    out: list[dict[str, Any]] = []
    for err in errors:
        loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
        kind = str(err.get("type", "invalid"))
        message = str(err.get("msg", "invalid value"))
        if kind == "json_invalid":
            # The location's second item is a character offset, not a field.
            position = loc[1] if len(loc) > 1 else None
            reason = (err.get("ctx") or {}).get("error")
            message = "the body is not valid JSON" + (f": {reason}" if reason else "")
            if isinstance(position, int):
                message += f" (at character {position})"
            loc = loc[:1]
        pointer = None
        if loc and loc[0] == "body":
            pointer = "#" + "".join(
                "/" + str(p).replace("~", "~0").replace("/", "~1") for p in loc[1:]
            )
        out.append({"location": loc, "pointer": pointer, "detail": message, "type": kind})
    return out


def validation_problem(request: Request | None, errors: Sequence[Any], status: int = 422) -> JSONResponse:
    entries = field_errors(errors)
    where = ", ".join(".".join(str(p) for p in e["location"]) for e in entries[:5])
    more = f" and {len(entries) - 5} more" if len(entries) > 5 else ""
    count = "1 field is" if len(entries) == 1 else f"{len(entries)} fields are"
    return problem(
        request,
        status,
        type_=PROBLEM_BASE + "validation",
        title="Request is not valid",
        detail=f"{count} not valid: {where}{more}",
        errors=entries,
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    whole_body = all(tuple(e.get("loc", ())) == ("body",) for e in errors)
    if whole_body and media and not media.endswith("json"):
        # FastAPI reads a non-JSON body as raw bytes and reports a puzzling type error.
        errors = [
            {"loc": ("body",), "type": "content_type", "msg": f"send the body as application/json, not {media}"}
        ]
    return validation_problem(request, errors)


# What FastAPI raises (as a 400) for a body it cannot decode at all, e.g. bytes that are not UTF-8.
_UNPARSABLE_BODY = "There was an error parsing the body"


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
        # The same answer as any other body that is not JSON: a 422 validation problem.
        return validation_problem(request, [{"loc": ("body",), "type": "json_invalid", "msg": "",
                                             "ctx": {"error": "not UTF-8 text"}}])
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem(request, exc.status_code, detail=detail, headers=exc.headers)


async def _on_api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem(request, exc.status, type_=PROBLEM_BASE + exc.slug, title=exc.title,
                   detail=exc.detail, headers=exc.headers, **exc.extensions)


def arbiter_problem(request: Request | None, exc: ArbiterError) -> JSONResponse | None:
    """The problem for an expected failure, or None when `exc` is not one."""
    statuses: tuple[tuple[type[ArbiterError], int], ...] = STATUS_BY_ERROR
    if request is not None:
        statuses = (*getattr(request.app.state, "extra_errors", ()), *statuses)
    for cls, status in statuses:
        if isinstance(exc, cls):
            extensions: dict[str, Any] = {"code": exc.code}
            if isinstance(exc, RulesRejected):
                # The same fields as `POST /v1/rules/check`, so a client shows both alike.
                extensions["diagnostics"] = [d.to_json() for d in exc.diagnostics]
                extensions["summary"] = summary(exc.diagnostics)
            return problem(
                request,
                status,
                type_=PROBLEM_BASE + exc.code,
                title=HTTPStatus(status).phrase,
                detail=exc.message,
                **extensions,
            )
    return None


def register_errors(app: FastAPI, *pairs: tuple[type[ArbiterError], int]) -> None:
    """Map more expected failures to statuses for this app (checked before the defaults)."""
    app.state.extra_errors = (*getattr(app.state, "extra_errors", ()), *pairs)


async def _on_arbiter(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ArbiterError)
    answer = arbiter_problem(request, exc)
    return answer if answer is not None else await _on_unexpected(request, exc)


async def _on_store_down(request: Request, exc: Exception) -> JSONResponse:
    # A database or Redis that cannot be reached is the service's trouble, not the caller's
    # mistake: a 503 the caller may retry, with the details in the log only.
    logger.error("store unavailable on %s %s: %s", request.method, request.url.path, exc)
    return problem(
        request,
        503,
        type_=PROBLEM_BASE + "store-unavailable",
        title="Service unavailable",
        detail="a store the call needs cannot be reached; retry later",
        headers={"Retry-After": "1"},
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error(
        "unhandled error on %s %s", request.method, request.url.path, exc_info=exc
    )
    return problem(
        request,
        500,
        type_=PROBLEM_BASE + "internal",
        title="Internal error",
        detail="the server could not complete the request; it has been logged",
    )


def _unreachable_errors() -> tuple[type[Exception], ...]:
    """Exceptions that mean a database or Redis could not be reached."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeout
    from sqlalchemy.exc import InterfaceError, OperationalError

    return (OperationalError, InterfaceError, RedisConnectionError, RedisTimeout)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(ArbiterError, _on_arbiter)
    app.add_exception_handler(ApiProblem, _on_api_problem)
    for unreachable in _unreachable_errors():
        app.add_exception_handler(unreachable, _on_store_down)
    # Registered for Exception, Starlette runs this in its outermost middleware, so it also
    # covers failures in other middleware.
    app.add_exception_handler(Exception, _on_unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for a route's problem responses (see `document_problems`)."""
    described = {
        401: "No API key, or not a valid one.",
        403: "The key's role may not make this call.",
        404: "Not found (or not visible to this key).",
        409: "The request conflicts with the current state.",
        413: "The request body or a part of it is too large.",
        422: "The request is not valid; `errors` lists each invalid field.",
        429: "Too many requests for this key; `Retry-After` says when to retry.",
        500: "An unexpected error; nothing internal is disclosed.",
        503: "A store the call needs is unavailable; retry later.",
    }
    return {
        status: {
            "model": ValidationProblem if status == 422 else Problem,
            "description": described.get(status, HTTPStatus(status).phrase),
        }
        for status in statuses
    }


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite an OpenAPI document so error responses say `application/problem+json` and the
    default validation response has the problem shape instead of FastAPI's own."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    validation_ref = "#/components/schemas/ValidationProblem"
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if not str(status).startswith(("4", "5")) or "application/json" not in content:
                    continue
                media = content.pop("application/json")
                if media.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                    media["schema"] = {"$ref": validation_ref}
                content[PROBLEM_MEDIA_TYPE] = media
    if any(
        validation_ref in str(op.get("responses", {}))
        for item in schema.get("paths", {}).values()
        for op in item.values()
    ):
        generated = ValidationProblem.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in generated.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components.setdefault("ValidationProblem", generated)
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"/{unused}'" not in str(schema.get("paths", {})):
            components.pop(unused, None)
    return schema
