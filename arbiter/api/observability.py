"""What the service tells its operators: request ids, JSON logs, Prometheus metrics, readiness.

- Every request carries an id: the caller's `X-Request-Id` when it is a sane token, else a
  new one; it is echoed in the response and in every log line about the request.
- One access log line per request, as a JSON object on the `arbiter.api` logger: request id,
  method, route, path, status, duration, the key id when there is one.
- Metrics (one registry per app, served at `/metrics`): requests and problems by status,
  request latency, decision latency per scene, failed decisions, budget moved, and — read at
  scrape time — decision-log and exposure drops, the ruleset version served.
- `/ready`: the database answers and, when configured, Redis too; else a 503 problem.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arbiter.api.errors import problem, problem_responses

if TYPE_CHECKING:
    from arbiter.api.wiring import Services

log = logging.getLogger("arbiter.api")

REQUEST_ID = "X-Request-Id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
DECISION_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
SERIES_LIMIT = 10_000
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

# Attributes of a log record that are its own, not fields a caller passed in `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installs, so that a second app does not add another."""


def configure_logging(level: str) -> None:
    """JSON lines on stderr for the `arbiter` loggers, installed once per process."""
    logger = logging.getLogger("arbiter")
    logger.setLevel(level.upper())
    if not any(isinstance(h, _JsonHandler) for h in logger.handlers):
        handler = _JsonHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)


class Metrics:
    """The app's Prometheus registry and the series the routes feed."""

    def __init__(self) -> None:
        # id(route) -> its full path template, the `route` label (set once routes are in).
        self.route_paths: dict[int, str] = {}
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("arbiter_http_requests", "HTTP requests answered.",
                                ["method", "route", "status"], registry=r)
        self.request_seconds = Histogram("arbiter_http_request_seconds", "HTTP request latency.",
                                         ["route"], buckets=REQUEST_BUCKETS, registry=r)
        self.problems = Counter("arbiter_problems", "Problem responses, by status.", ["status"], registry=r)
        self.decision_seconds = Histogram("arbiter_decision_seconds", "Decision latency in the engine, by scene.",
                                          ["scene"], buckets=DECISION_BUCKETS, registry=r)
        self.decisions_failed = Counter("arbiter_decisions_failed",
                                        "Decisions answered by the scene's failure policy.", ["scene"], registry=r)
        self.budget_amount = Counter("arbiter_budget_amount", "Budget amounts moved, by operation.",
                                     ["promotion", "operation", "currency"], registry=r)
        self.budget_operations = Counter("arbiter_budget_operations", "Budget operations, by outcome.",
                                         ["operation", "outcome"], registry=r)

    def watch(self, services: Services) -> None:
        """Also report, at each scrape, the figures the services keep themselves."""
        self.registry.register(_ServiceFigures(services))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _ServiceFigures:
    def __init__(self, services: Services) -> None:
        self.services = services

    def describe(self) -> list[Metric]:
        return []  # unknown until collected; an empty description keeps registration cheap

    def collect(self) -> Iterator[Metric]:
        s = self.services
        writer = s.writer
        if writer is not None:
            yield CounterMetricFamily("arbiter_decision_log_dropped",
                                      "Decision log records lost (buffer full, or unwritable).", value=writer.dropped)
            yield CounterMetricFamily("arbiter_decision_log_written", "Decision log rows written.",
                                      value=writer.written)
            yield CounterMetricFamily("arbiter_decision_log_write_failures",
                                      "Decision log flushes the database refused.", value=writer.failures)
            yield GaugeMetricFamily("arbiter_decision_log_buffered", "Decision log records waiting.",
                                    value=writer.stats().buffered)
        if s.exposures is not None:
            yield CounterMetricFamily("arbiter_exposures_dropped", "Experiment exposures lost (buffer full).",
                                      value=s.exposures.dropped)
        yield GaugeMetricFamily("arbiter_ruleset_version", "The ruleset version served (0: none).",
                                value=s.ruleset_version or 0)


class RequestContext:
    """ASGI middleware: the request id, the access log line and the request metrics.

    Pure ASGI and on the way of every request, so it keeps to the cheap calls: the raw
    header lists, the metric series looked up once per (method, route, status), and the
    access record handed to the logger's handlers directly (no caller lookup: the line names
    the route, not a source line)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # (method, route, status) -> (request counter, latency histogram, problem counter)
        self._series: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = uuid.uuid4().hex
        if given is not None:
            text = given.decode("latin-1")
            if _SANE_ID.match(text):
                request_id = text
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                if not any(k.lower() == b"x-request-id" for k, _ in headers):
                    headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._record(scope, state, request_id, status, time.perf_counter() - started)

    def _record(self, scope: Scope, state: dict[str, Any], request_id: str, status: int, seconds: float) -> None:
        matched = scope.get("route")
        route = self.metrics.route_paths.get(id(matched)) or getattr(matched, "path", None) or "unmatched"
        method = scope.get("method", "")
        series = self._series.get((method, route, status))
        if series is None:
            series = self._series_for(method, route, status)
        series[0].inc()
        series[1].observe(seconds)
        if series[2] is not None:
            series[2].inc()
        if not log.isEnabledFor(logging.INFO):
            return
        principal = state.get("principal")
        path = scope.get("path", "")
        log.handle(log.makeRecord(
            log.name, logging.INFO, "(access)", 0, "%s %s %s", (method, path, status), None,
            extra={
                "request_id": request_id,
                "method": method,
                "route": route,
                "path": path,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "key_id": getattr(principal, "key_id", None),
            },
        ))

    def _series_for(self, method: str, route: str, status: int) -> tuple[Any, Any, Any]:
        series = (
            self.metrics.requests.labels(method, route, str(status)),
            self.metrics.request_seconds.labels(route),
            self.metrics.problems.labels(str(status)) if status >= 400 else None,
        )
        if len(self._series) < SERIES_LIMIT:  # routes are templates, so this stays small
            self._series[(method, route, status)] = series
        return series


class Ready(BaseModel):
    status: str = Field(examples=["ready"])
    database: str = Field(examples=["ok"])
    redis: str = Field(description="`ok`, or `not configured`.", examples=["ok"])
    ruleset_version: int | None = Field(description="The version served; null when none is published yet.")


def router() -> APIRouter:
    api = APIRouter(tags=["health"])

    @api.get("/ready", summary="Readiness check", response_model=Ready, responses=problem_responses(503))
    def ready(request: Request) -> Any:
        """Ready when the database answers and, if one is configured, Redis too."""
        services: Services = request.app.state.services
        failures = services.check_stores()
        if failures:
            return problem(request, 503, type_="urn:arbiter:problem:not-ready", title="Not ready",
                           detail="; ".join(failures), failures=failures)
        return JSONResponse(Ready(
            status="ready", database="ok", redis="ok" if services.redis is not None else "not configured",
            ruleset_version=services.ruleset_version,
        ).model_dump())

    @api.get("/metrics", summary="Prometheus metrics", response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "The text exposition format."}})
    def metrics(request: Request) -> Response:
        services: Services = request.app.state.services
        return Response(services.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return api
