"""`arbiter experiment`: the report of an A/B experiment, and starting or stopping it.

The experiment's definition (scene, variants, weights) comes from the rule files given
(`rules/` by default); the exposures, conversions and run-time status from the database
(`ARBITER_DATABASE_URL`, SQLite at `var/arbiter.db` when unset; tables created on first use).

Exit status: 0 done (a report is printed even when it flags a sample-ratio mismatch); 1 the
rule files have errors; 2 bad input (unknown experiment, bad date, unreachable database).
Never a traceback.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from arbiter.commands.common import existing_rule_paths, fail, unit_of_work
from arbiter.dsl.checker import check_paths
from arbiter.dsl.diagnostics import render_all, summary
from arbiter.dsl.model import Experiment
from arbiter.engine.experiment_stats import Interval
from arbiter.errors import ArbiterError
from arbiter.money import CENT

if TYPE_CHECKING:
    from arbiter.platform.db import UnitOfWork
    from arbiter.platform.experiments.service import Report, StateChange

# The database layer is imported when a command runs, not when `arbiter` starts.

app = typer.Typer(
    help="Report on A/B experiments; start and stop them at run time.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Name = Annotated[str, typer.Argument(help="The experiment's name, as declared in the rule files.")]
Paths = Annotated[
    list[Path] | None, typer.Argument(help="Rule files or folders declaring it (default: rules/).")
]
By = Annotated[str, typer.Option("--by", help="Who makes the change (recorded).")]
Why = Annotated[str, typer.Option("--why", help="Why (recorded).")]
T = TypeVar("T")


def _experiment(name: str, paths: list[Path] | None) -> Experiment:
    paths = paths or [Path("rules")]
    result = check_paths(existing_rule_paths(paths))
    if not result.ok:
        typer.echo(render_all(result.diagnostics, result.program.sources), err=True)
        typer.echo(summary(result.diagnostics), err=True)
        raise typer.Exit(1)
    experiments = result.program.experiments
    if name not in experiments:
        known = ", ".join(sorted(experiments)) or "none"
        fail(f"no experiment `{name}` in {', '.join(str(p) for p in paths)}; experiments: {known}")
    return experiments[name]


def _run(action: Callable[[UnitOfWork], T]) -> T:
    with unit_of_work() as uow:
        try:
            return action(uow)
        except ArbiterError as exc:
            fail(str(exc))


def _parse_time(option: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO date or date-time such as 2026-11-01 or 2026-11-01T00:00:00+08:00")
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


# --- the table ----------------------------------------------------------------------------------

def percent(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value * 100:+.2f}%" if signed else f"{value * 100:.2f}%"


def interval(found: Interval | None, *, signed: bool = False) -> str:
    if found is None:
        return ""
    return f"[{percent(found.low, signed=signed)}, {percent(found.high, signed=signed)}]"


def p_value(p: float) -> str:
    """Four decimals, or two significant digits when small enough to matter (0.00026, 7.6e-06)."""
    if p <= 0:
        return "< 1e-300"
    if p < 1e-4:
        return f"{p:.1e}"
    if p < 0.01:
        return f"{p:.2g}"
    return f"{p:.4f}"


def cents(amount: Decimal) -> str:
    """Shown to the cent (ROUND_HALF_UP); the report keeps the exact sum."""
    return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def render_report(report: Report, status: str) -> str:
    """The report as text: a header, one row per variant, and the sample-ratio line."""
    results = report.results
    level = f"{results.confidence * 100:g}%"
    metric = f"GMV ({report.currency})" if report.currency else "GMV"
    header = ["variant", "weight", "units", "conversions", f"rate [{level} CI]", metric, "GMV/unit",
              f"lift [{level} CI]"]
    rows = [header]
    for v in results.variants:
        rate = percent(v.rate)
        lift = "(control)" if v.control else f"{percent(v.lift, signed=True)} {interval(v.lift_interval, signed=True)}"
        rows.append([
            v.name, str(v.weight), str(v.units), str(v.conversions),
            f"{rate} {interval(v.rate_interval)}".strip(),
            cents(v.metric), cents(v.metric_per_unit) if v.metric_per_unit is not None else "—",
            lift.strip(),
        ])
    numeric = {1, 2, 3, 5, 6}
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        f"experiment {report.experiment} · scene {report.scene} · unit {report.unit} · status {status}",
        "units first exposed " + _window(report),
        "",
    ]
    for row in rows:
        cells = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    srm = report.srm
    if srm is None:
        lines.append("sample ratio: not tested (fewer than two variants, or no units yet)")
    else:
        expected = " / ".join(f"{s * 100:.1f}%" for s in srm.expected_shares)
        observed = " / ".join(f"{s * 100:.1f}%" for s in srm.observed_shares)
        chi = "inf" if math.isinf(srm.chi_square) else f"{srm.chi_square:.2f}"
        verdict = "MISMATCH" if srm.flagged else "ok"
        lines.append(
            f"sample ratio: chi² = {chi}, df {srm.df}, p = {p_value(srm.p_value)} — {verdict} "
            f"(expected {expected}, observed {observed})"
        )
        if srm.flagged:
            lines.append(
                f"WARNING: sample ratio mismatch (p < {srm.threshold:g}): units are not split as the "
                "weights say. Find the cause (assignment, exposure logging, filtering) before trusting "
                "any figure above."
            )
    for name, units in report.undeclared.items():
        lines.append(f"note: {units} units were exposed to variant `{name}`, no longer declared; left out")
    return "\n".join(lines)


def _window(report: Report) -> str:
    if report.since is None and report.until is None:
        return "at any time"
    since = report.since.isoformat() if report.since else "the start"
    until = report.until.isoformat() if report.until else "now"
    return f"from {since} until {until}"


def report_json(report: Report, status: str) -> dict[str, Any]:
    def pair(found: Interval | None) -> list[float] | None:
        return None if found is None else [found.low, found.high]

    srm = report.srm
    return {
        "experiment": report.experiment,
        "scene": report.scene,
        "status": status,
        "currency": report.currency,
        "since": report.since.isoformat() if report.since else None,
        "until": report.until.isoformat() if report.until else None,
        "confidence": report.results.confidence,
        "variants": [{
            "name": v.name, "control": v.control, "weight": v.weight, "units": v.units,
            "conversions": v.conversions, "rate": v.rate, "rate_interval": pair(v.rate_interval),
            "metric": str(v.metric),
            "metric_per_unit": None if v.metric_per_unit is None else str(v.metric_per_unit),
            "lift": v.lift, "lift_interval": pair(v.lift_interval),
        } for v in report.variants],
        "srm": None if srm is None else {
            "chi_square": None if math.isinf(srm.chi_square) else srm.chi_square, "df": srm.df,
            "p_value": srm.p_value, "flagged": srm.flagged, "threshold": srm.threshold,
            "expected_shares": list(srm.expected_shares), "observed_shares": list(srm.observed_shares),
        },
        "undeclared": dict(report.undeclared),
    }


# --- the commands -------------------------------------------------------------------------------

@app.command()
def report(
    name: Name,
    paths: Paths = None,
    since: Annotated[str | None, typer.Option("--since", help="Only units first exposed at or after (ISO).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Only exposures and orders before (ISO).")] = None,
    format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Units, conversions, rate, GMV and lift per variant, and the sample-ratio check."""
    if format not in ("text", "json"):
        fail("--format takes text or json")
    start_at, end_at = _parse_time("--since", since), _parse_time("--until", until)
    if start_at is not None and end_at is not None and end_at <= start_at:
        fail("--until must be later than --since")
    experiment = _experiment(name, paths)
    from arbiter.platform.experiments import service

    def build(uow: UnitOfWork) -> tuple[Report, str]:
        found = service.report(uow, experiment, since=start_at, until=end_at)
        return found, service.statuses(uow).get(experiment.name, experiment.status)

    result, status = _run(build)
    if format == "json":
        typer.echo(json.dumps(report_json(result, status), ensure_ascii=False, indent=2))
    else:
        typer.echo(render_report(result, status))


def _state_line(change: StateChange, was: str) -> str:
    when = change.changed_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    if not change.changed:
        return f"experiment {change.name} is already {change.status} (since {when}, by {change.changed_by}: {change.why})"
    return f"experiment {change.name}: {was} -> {change.status} at {when} by {change.changed_by}: {change.why}"


def _set_status(name: str, paths: list[Path] | None, by: str, why: str, running: bool) -> None:
    experiment = _experiment(name, paths)
    from arbiter.clock import SystemClock
    from arbiter.platform.experiments import service

    def change(uow: UnitOfWork) -> tuple[StateChange, str]:
        was = service.statuses(uow).get(experiment.name, experiment.status)
        action = service.start if running else service.stop
        return action(uow, experiment.name, by, why, clock=SystemClock()), was

    done, was = _run(change)
    typer.echo(_state_line(done, was))


@app.command()
def start(name: Name, by: By, why: Why, paths: Paths = None) -> None:
    """Run the experiment (services pick the status up on their next reload)."""
    _set_status(name, paths, by, why, running=True)


@app.command()
def stop(name: Name, by: By, why: Why, paths: Paths = None) -> None:
    """Stop the experiment: its units get the scene's default strategy again."""
    _set_status(name, paths, by, why, running=False)
