"""`arbiter backtest`: replay recorded events through candidate rules and the live version.

Events are JSON lines, in time order: `{"id": "e1", "kind": "payment", "at": "2026-11-11T20:00:00+08:00",
"context": {"user": {...}, "payment": {...}}}`. Labels, optional, are JSON lines
`{"id": "e1", "label": true}` (true: it was fraud). The live side is the published version
(`ARBITER_DATABASE_URL`), or the rule files given with `--live`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from arbiter.commands.common import existing_rule_paths, fail, unit_of_work
from arbiter.dsl.checker import check_paths
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.dsl.diagnostics import render_all, summary
from arbiter.engine.backtest import ACTIONS, Report, backtest_rows


def _ruleset(paths: list[Path]) -> Ruleset:
    result = check_paths(existing_rule_paths(paths))
    if not result.ok:
        typer.echo(render_all(result.diagnostics, result.program.sources), err=True)
        typer.echo(summary(result.diagnostics), err=True)
        raise typer.Exit(1)
    return compile_program(result)


def _published() -> Ruleset:
    from arbiter.platform.rules import service

    with unit_of_work() as uow:
        version = service.current(uow)
        if version is None:
            fail("no ruleset version is published: give the live rules with --live")
        ruleset, _ = service.compile_sources(version.sources)
        return ruleset


def _open(path: Path) -> Any:
    try:
        return path.open(encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}")


def _decoder() -> tuple[Any, Any]:
    """The file's decoder: its scanner, which reads one value from a position without the
    checks around it (the usual line has no whitespace to skip), and the full `decode`, which
    gives the exact answer (and error) for any other line. One per file: `json.loads` with
    an option builds a new one per line."""
    decoder = json.JSONDecoder(parse_float=Decimal)
    return decoder.scan_once, decoder.decode  # type: ignore[attr-defined]


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    handle = _open(path)
    scan, decode = _decoder()
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            yield number, _value(path, number, line, scan, decode)


def _value(path: Path, number: int, line: str, scan: Any, decode: Any) -> dict[str, Any]:
    try:
        try:
            value, end = scan(line, 0)
            if end != len(line) and line[end:].strip():
                raise StopIteration(end)
        except StopIteration:
            value = decode(line)  # the exact error, or a value after leading whitespace
    except (json.JSONDecodeError, ValueError, RecursionError) as exc:
        fail(f"{path}:{number}: invalid JSON: {exc}")
    if type(value) is not dict:
        fail(f"{path}:{number}: expected an object")
    return value


_Row = tuple[str, str, datetime, dict[str, Any]]


def _events(path: Path) -> Iterator[_Row]:
    """The events as (id, kind, at, context) rows, read straight from the lines: the replay
    needs no `Event` per line."""
    handle = _open(path)
    scan, decode = _decoder()
    parse = datetime.fromisoformat
    with handle:
        for number, line in enumerate(handle, start=1):
            try:
                value, end = scan(line, 0)
                if end != len(line) and line[end:].strip():
                    raise StopIteration(end)
                if type(value) is not dict:
                    raise StopIteration(0)
            except (StopIteration, json.JSONDecodeError, ValueError, RecursionError):
                if not line.strip():
                    continue
                value = _value(path, number, line, scan, decode)
            try:
                at = value["at"]
                if type(at) is not str:
                    at = str(at)
                at = parse(at.replace("Z", "+00:00") if "Z" in at else at)
                context = value.get("context", {})
                if type(context) is not dict:
                    raise ValueError("`context` must be an object")
                event_id, kind = value["id"], value["kind"]
                yield (event_id if type(event_id) is str else str(event_id), kind if type(kind) is str else str(kind),
                       at if at.tzinfo else at.replace(tzinfo=UTC), context)
            except (KeyError, ValueError) as exc:
                fail(f"{path}:{number}: an event needs id, kind, at (ISO 8601) and context: {exc}")


def _labels(path: Path | None) -> dict[str, bool]:
    if path is None:
        return {}
    labels: dict[str, bool] = {}
    for number, value in _lines(path):
        label = value.get("label")
        if "id" not in value or not isinstance(label, bool):
            fail(f"{path}:{number}: a label is {{\"id\": ..., \"label\": true|false}}")
        labels[str(value["id"])] = label
    return labels


def backtest_command(
    rules: Annotated[list[Path], typer.Argument(help="The candidate rule files or folders.")],
    scene: Annotated[str, typer.Option("--scene", help="The scene whose decisions are compared.")],
    events: Annotated[Path, typer.Option("--events", help="Events as JSON lines, in time order.")],
    labels: Annotated[Path | None, typer.Option("--labels", help="Labels as JSON lines: {id, label}.")] = None,
    live: Annotated[list[Path] | None, typer.Option("--live", help="Live rules; the published version when absent.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="The event kind decided (default: the scene's name).")] = None,
    format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Replay events through the candidate and the live rules; report what would change."""
    if format not in ("text", "json"):
        fail("--format takes text or json")
    candidate = _ruleset(rules)
    current = _ruleset(live) if live else _published()
    label_map = _labels(labels)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.completed:,} events"), TimeElapsedColumn(),
                  transient=True, console=_stderr()) as bar:
        task = bar.add_task("replay", total=None)
        # `backtest` reports progress every few thousand events, not per event.
        report = backtest_rows(candidate, current, scene, _events(events), kind=kind, labels=label_map,
                          progress=lambda n: bar.advance(task, n))
    if format == "json":
        typer.echo(json.dumps(_json(report), indent=2))
    else:
        _print(report)


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _print(report: Report) -> None:
    typer.echo(f"backtest of scene {report.scene}: {report.events:,} events replayed, {report.decided:,} decided")
    typer.echo(f"{'action':10} {'live':>10} {'candidate':>10}")
    for action in ACTIONS:
        typer.echo(f"{action:10} {report.live.actions[action]:>10,} {report.candidate.actions[action]:>10,}")
    if report.live.failed or report.candidate.failed:
        typer.echo(f"{'failed':10} {report.live.failed:>10,} {report.candidate.failed:>10,}  (answered by the fallback)")
    typer.echo(f"changed: {report.changed:,} event(s)")
    for change in report.changes[:20]:
        typer.echo(f"  {change.event}: {change.live} -> {change.candidate}")
    if report.labelled:
        typer.echo(f"against {report.labelled:,} labels:")
        for which, title in (("reject", "reject"), ("reject_or_review", "reject or review")):
            lp, lr = report.live.precision_recall(which)
            cp, cr = report.candidate.precision_recall(which)
            typer.echo(f"  {title:17} precision {_rate(lp)} -> {_rate(cp)}, recall {_rate(lr)} -> {_rate(cr)}")


def _json(report: Report) -> dict[str, Any]:
    def side(s: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"actions": {a: s.actions[a] for a in ACTIONS}, "failed": s.failed}
        if report.labelled:
            for which in ("reject", "reject_or_review"):
                precision, recall = s.precision_recall(which)
                out[which] = {"precision": precision, "recall": recall}
        return out

    return {
        "scene": report.scene,
        "events": report.events,
        "decided": report.decided,
        "labelled": report.labelled,
        "live": side(report.live),
        "candidate": side(report.candidate),
        "changed": report.changed,
        "changes": [{"event": c.event, "live": c.live, "candidate": c.candidate} for c in report.changes],
    }
