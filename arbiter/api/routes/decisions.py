"""`POST /v1/decisions/{scene}`: ask the engine for a decision (role `service`).

The body is the context (`{namespace: {tag: value}}`), and optionally `explain` (every rule's
trace) and the calling `client` (checked against the scene's clients). The answer is the
Decision as JSON: effects, fired rules, the ruleset version and hash, the strategy and
experiment variant, the trace, and the engine's latency. An unknown scene is a 404 problem;
a scene reached only in-process, or a client it does not admit, a 403 problem; a context
value that does not fit its tag a 422 problem naming the tag. The decision is made on the
event loop when it needs no I/O, else in a worker thread (`decide_on_loop`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from arbiter.api.auth import requires
from arbiter.api.dependencies import ServicesDep
from arbiter.api.errors import problem_responses
from arbiter.api.responses import FastJSONResponse
from arbiter.engine.decision import Decision
from arbiter.engine.decision_log import BoundedLog
from arbiter.engine.engine import Engine
from arbiter.engine.lists import InMemoryLists
from arbiter.engine.velocity import InMemoryVelocity
from arbiter.errors import InvalidInput
from arbiter.platform.experiments.stores import BufferedExposures, CachedAssignments, NotCached
from arbiter.platform.keys.models import SERVICE

_TAG_PREFIX = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+): ")

EXAMPLES: dict[str, Any] = {
    "new_user": {
        "summary": "A new user opening the app",
        "value": {
            "context": {"user": {"id": "u-1001", "registered_days": 2}, "passthrough": {"client": "ios"}},
            "client": "ios",
        },
    },
    "explained": {
        "summary": "The same, with every rule's trace",
        "value": {
            "context": {"user": {"id": "u-1002", "registered_days": 400, "level": 2}},
            "explain": True,
        },
    },
}


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Tag values by namespace: `{\"user\": {\"id\": \"u1\"}, \"order\": {...}}`. "
        "Amounts are strings (`\"299.00\"`) or integers, never fractional JSON numbers.",
    )
    explain: bool = Field(default=False, description="Include every rule's trace.")
    client: str | None = Field(default=None, max_length=100,
                               description="The calling client (ios, android, web, ...).")


class EffectOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str = Field(examples=["show"])


class RulesetRef(BaseModel):
    version: int | None
    hash: str


class DecisionOut(BaseModel):
    scene: str = Field(examples=["home_popup"])
    effects: list[EffectOut]
    fired: list[str] = Field(examples=[["home_popup_v1.new_user_gift"]])
    strategy: str | None
    ruleset: RulesetRef
    experiment: str | None
    variant: str | None
    score: int | None
    failed: bool
    failure_policy: str | None
    reason: str | None
    latency_us: float = Field(description="Time spent in the engine, in microseconds.")
    trace: list[dict[str, Any]]


def _context_problem(exc: InvalidInput) -> RequestValidationError:
    """A context refusal as a validation problem located at the tag it names."""
    found = _TAG_PREFIX.match(exc.message)
    location: tuple[str, ...] = ("body", "context")
    message = exc.message
    if found is not None:
        location += tuple(found.group(1).split("."))
        message = exc.message[found.end():]
    return RequestValidationError([{"loc": location, "type": "context", "msg": message}])


def _decide(engine: Engine, scene: str, request: DecisionRequest) -> Decision:
    try:
        return engine.decide(scene, request.context, explain=request.explain, client=request.client,
                             access="api")
    except InvalidInput as exc:
        raise _context_problem(exc) from None


def decide_on_loop(engine: Engine, scene: str, request: DecisionRequest) -> Decision | None:
    """The decision, made on the event loop, when it needs no I/O; else None (the caller
    decides in a worker thread, as for any blocking call).

    A decision's only I/O is in the engine's stores. The decision log, exposures, velocity
    counters and lists the service gives the engine are in memory; sticky assignments are
    read through a `CachedAssignments`, which answers a unit it has seen without I/O and
    otherwise raises `NotCached` before the engine has recorded anything. An engine built
    with any other store is always run in a thread. Saves the thread hop (about 100 us of
    CPU) on most decisions: a unit comes back, and is then remembered."""
    assignments = engine.assignments
    if not (
        isinstance(engine.log, BoundedLog | None)
        and isinstance(engine.exposures, BufferedExposures | None)
        and isinstance(engine.velocity, InMemoryVelocity)
        and isinstance(engine.lists, InMemoryLists)
        and isinstance(assignments, CachedAssignments | None)
    ):
        return None
    if assignments is None:
        return _decide(engine, scene, request)
    with assignments.cached_only():
        try:
            return _decide(engine, scene, request)
        except NotCached:
            return None


def router() -> APIRouter:
    api = APIRouter(prefix="/decisions", tags=["decisions"])

    @api.post(
        "/{scene}",
        summary="Decide a scene",
        dependencies=[requires(SERVICE)],
        response_model=DecisionOut,
        responses=problem_responses(401, 403, 404, 413, 422, 429, 500, 503),
    )
    async def decide(
        scene: Annotated[str, Path(max_length=200, examples=["home_popup"])],
        request: Annotated[DecisionRequest, Body(openapi_examples=EXAMPLES)],
        services: ServicesDep,
    ) -> FastJSONResponse:
        """Run the scene's strategy (or its experiment variant's) over the context."""
        engine = services.engine
        decision = decide_on_loop(engine, scene, request)
        if decision is None:
            decision = await run_in_threadpool(_decide, engine, scene, request)
        services.metrics.decision_seconds.labels(decision.scene).observe(decision.latency_us / 1e6)
        if decision.failed:
            services.metrics.decisions_failed.labels(decision.scene).inc()
        # Serialised once, as the engine shaped it: the model above documents it.
        return FastJSONResponse(decision.to_json())

    return api
