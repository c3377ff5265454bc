"""Experiment routes: list the experiments of the served ruleset, start and stop them at run
time (audited), and their report (roles `analyst` and `operator`).

An experiment is defined in the rule files (scene, unit, variants, weights); its run-time
status is what operators set, overriding the declared one. A start or stop is recorded with
the caller's key and applied to this process's engine at once; the others pick it up within
a few seconds. The report is intention-to-treat (see `arbiter.platform.experiments.service`).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from arbiter.api.auth import requires
from arbiter.api.dependencies import PrincipalDep, ServicesDep
from arbiter.api.errors import problem_responses
from arbiter.api.wiring import Services
from arbiter.dsl.model import Experiment
from arbiter.engine.experiment_stats import Interval
from arbiter.errors import ArbiterError
from arbiter.platform.audit import service as audit
from arbiter.platform.db import UnitOfWork
from arbiter.platform.experiments import service as experiments
from arbiter.platform.keys.models import ANALYST, OPERATOR

NamePath = Annotated[str, Path(max_length=200, examples=["home_popup_ab"])]
EXAMPLES: dict[str, Any] = {
    "start": {"summary": "Start with a reason", "value": {"why": "design review passed"}},
}


class UnknownExperiment(ArbiterError):
    code = "experiments.unknown"


class ChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    why: str = Field(min_length=1, max_length=2000, description="Recorded with the change.")


class VariantOut(BaseModel):
    name: str
    strategy: str
    weight: int


class ExperimentOut(BaseModel):
    name: str = Field(examples=["home_popup_ab"])
    scene: str
    unit: str = Field(examples=["user.id"])
    traffic: str = Field(description="The share of units in the experiment, 0 to 1.", examples=["1"])
    declared_status: str = Field(description="The status in the rule files.")
    status: str = Field(description="The status in force: the operators' if they set one.")
    variants: list[VariantOut]


class StateChangeOut(BaseModel):
    name: str
    status: str
    changed: bool = Field(description="False when the experiment already had that status.")
    changed_by: str
    changed_at: datetime
    why: str


def _experiment(services: Services, name: str) -> Experiment:
    found = services.engine.ruleset.program.experiments.get(name)
    if found is None:
        raise UnknownExperiment(f"no experiment `{name}` in the served ruleset")
    return found


def _out(experiment: Experiment, status: dict[str, str]) -> ExperimentOut:
    return ExperimentOut(
        name=experiment.name, scene=experiment.scene, unit=experiment.unit, traffic=str(experiment.traffic),
        declared_status=experiment.status, status=status.get(experiment.name, experiment.status),
        variants=[VariantOut(name=v.name, strategy=v.strategy, weight=v.weight) for v in experiment.variants],
    )


def _pair(found: Interval | None) -> list[float] | None:
    return None if found is None else [found.low, found.high]


def report_json(report: experiments.Report, status: str) -> dict[str, Any]:
    srm = report.srm
    return {
        "experiment": report.experiment,
        "scene": report.scene,
        "unit": report.unit,
        "status": status,
        "currency": report.currency,
        "since": report.since.isoformat() if report.since else None,
        "until": report.until.isoformat() if report.until else None,
        "confidence": report.results.confidence,
        "variants": [{
            "name": v.name, "control": v.control, "weight": v.weight, "units": v.units,
            "conversions": v.conversions, "rate": v.rate, "rate_interval": _pair(v.rate_interval),
            "metric": str(v.metric),
            "metric_per_unit": None if v.metric_per_unit is None else str(v.metric_per_unit),
            "lift": v.lift, "lift_interval": _pair(v.lift_interval),
        } for v in report.variants],
        "srm": None if srm is None else {
            "chi_square": None if math.isinf(srm.chi_square) else srm.chi_square, "df": srm.df,
            "p_value": srm.p_value, "flagged": srm.flagged, "threshold": srm.threshold,
            "expected_shares": list(srm.expected_shares), "observed_shares": list(srm.observed_shares),
        },
        "undeclared": dict(report.undeclared),
    }


def router() -> APIRouter:
    api = APIRouter(prefix="/experiments", tags=["experiments"])
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)

    @api.get("", summary="List experiments", dependencies=[requires(ANALYST, OPERATOR)], responses=reads)
    def list_experiments(services: ServicesDep) -> list[ExperimentOut]:
        """The experiments of the served ruleset, with the status in force."""
        program = services.engine.ruleset.program
        return [_out(e, services.status) for _, e in sorted(program.experiments.items())]

    def change(services: Services, actor: str, name: str, why: str, running: bool) -> StateChangeOut:
        experiment = _experiment(services, name)
        action = experiments.start if running else experiments.stop
        with UnitOfWork(services.database) as uow:
            done = action(uow, experiment.name, actor, why, clock=services.clock)
        if done.changed:
            with UnitOfWork(services.database) as uow:
                audit.record(uow, actor=actor, action="experiments." + ("start" if running else "stop"),
                             target=name, at=done.changed_at, detail={"why": why})
                uow.commit()
        services.refresh_statuses()
        return StateChangeOut(name=done.name, status=done.status, changed=done.changed,
                              changed_by=done.changed_by, changed_at=done.changed_at, why=done.why)

    @api.post("/{name}/start", summary="Start an experiment", dependencies=[requires(ANALYST, OPERATOR)],
              responses=reads)
    def start(name: NamePath, request: Annotated[ChangeRequest, Body(openapi_examples=EXAMPLES)],
              principal: PrincipalDep, services: ServicesDep) -> StateChangeOut:
        """Run the experiment from now on (audited)."""
        return change(services, principal.key_id, name, request.why, running=True)

    @api.post("/{name}/stop", summary="Stop an experiment", dependencies=[requires(ANALYST, OPERATOR)],
              responses=reads)
    def stop(name: NamePath, request: Annotated[ChangeRequest, Body(openapi_examples=EXAMPLES)],
             principal: PrincipalDep, services: ServicesDep) -> StateChangeOut:
        """Stop the experiment: its units get the scene's default strategy again (audited)."""
        return change(services, principal.key_id, name, request.why, running=False)

    @api.get("/{name}/report", summary="An experiment's report", dependencies=[requires(ANALYST, OPERATOR)],
             responses=reads)
    def report(
        name: NamePath,
        services: ServicesDep,
        since: Annotated[datetime | None, Query(description="Only units first exposed at or after.")] = None,
        until: Annotated[datetime | None, Query(description="Only exposures and orders before.")] = None,
        confidence: Annotated[float, Query(gt=0.5, lt=1)] = 0.95,
    ) -> dict[str, Any]:
        """Units, conversions, rate, GMV and lift per variant, and the sample-ratio check."""
        if since is not None and until is not None and until <= since:
            raise RequestValidationError([{"loc": ("query", "until"), "type": "order",
                                           "msg": "until must be later than since"}])
        experiment = _experiment(services, name)
        services.exposures.flush(services.database)  # the report counts what was just decided too
        with UnitOfWork(services.database) as uow:
            found = experiments.report(uow, experiment, since=since, until=until, confidence=confidence)
            status = experiments.statuses(uow).get(experiment.name, experiment.status)
        return report_json(found, status)

    return api
