"""The `arbiter` command: check, test, evaluate and format rule files.

Every failure a user can cause is printed as a clear message with a non-zero exit status,
never as a Python traceback: 1 for rule problems and failing tests, 2 for bad usage or input.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from arbiter.clock import FixedClock, SystemClock
from arbiter.commands.backtest import backtest_command
from arbiter.commands.common import existing_rule_paths, fail
from arbiter.commands.db import app as db_app
from arbiter.commands.demo import demo_command
from arbiter.commands.experiment import app as experiment_app
from arbiter.commands.keys import app as keys_app
from arbiter.commands.rules import app as rules_app
from arbiter.dsl.checker import CheckResult, check_paths, read_sources
from arbiter.dsl.compiler import CompileError, compile_program
from arbiter.dsl.diagnostics import render_all, summary
from arbiter.dsl.runtime import output, show, to_json
from arbiter.engine.engine import Engine
from arbiter.engine.rule_tests import run_tests
from arbiter.errors import ArbiterError

app = typer.Typer(
    name="arbiter",
    help="arbiter: a decision engine for e-commerce. Check, test, evaluate and format rule files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Paths = Annotated[list[Path], typer.Argument(help="Rule files or folders of .rules files.")]


def _checked(paths: list[Path]) -> CheckResult:
    result = check_paths(existing_rule_paths(paths))
    if not result.ok:
        typer.echo(render_all(result.diagnostics, result.program.sources), err=True)
        typer.echo(summary(result.diagnostics), err=True)
        raise typer.Exit(1)
    return result


@app.command()
def check(
    paths: Paths,
    format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Report every problem in the rule files; exit 1 on any error."""
    if format not in ("text", "json"):
        fail("--format takes text or json")
    result = check_paths(existing_rule_paths(paths))
    if format == "json":
        typer.echo(json.dumps({
            "ok": result.ok,
            "diagnostics": [d.to_json() for d in result.diagnostics],
            "summary": summary(result.diagnostics),
        }, ensure_ascii=False, indent=2))
    else:
        if result.diagnostics:
            typer.echo(render_all(result.diagnostics, result.program.sources))
            typer.echo("")
        files = len(result.program.modules)
        typer.echo(f"checked {files} file{'s' if files != 1 else ''}: {summary(result.diagnostics)}")
    raise typer.Exit(0 if result.ok else 1)


@app.command("test")
def test_command(paths: Paths, verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run the `test` blocks of the rule files; exit 1 if any fails."""
    ruleset = compile_program(_checked(paths))
    results = run_tests(ruleset)
    failed = 0
    for result in results:
        name = result.test.name
        if result.passed:
            if verbose:
                typer.echo(f"PASS {result.location} {name}")
            continue
        failed += 1
        typer.echo(f"FAIL {result.location} {name}")
        if result.error:
            typer.echo(f"     {result.error}")
        if result.test.price is not None:
            for line in result.differences:
                typer.echo(f"     {line}")
            continue
        typer.echo("     expected: " + (", ".join(map(str, result.expected)) or "no effects"))
        typer.echo("     actual:   " + (", ".join(map(str, result.actual)) or "no effects"))
        for line in _effect_diff(result.expected, result.actual):
            typer.echo(f"     {line}")
    typer.echo(f"{len(results) - failed} passed, {failed} failed")
    raise typer.Exit(1 if failed else 0)


def _effect_diff(expected: tuple[Any, ...], actual: tuple[Any, ...]) -> list[str]:
    lines: list[str] = []
    for index in range(max(len(expected), len(actual))):
        want = expected[index] if index < len(expected) else None
        got = actual[index] if index < len(actual) else None
        if want == got:
            continue
        if want is None:
            lines.append(f"- unexpected effect #{index + 1}: {got}")
        elif got is None:
            lines.append(f"- missing effect #{index + 1}: {want}")
        elif want.name != got.name:
            lines.append(f"- effect #{index + 1}: expected {want.name}, got {got.name}")
        else:
            for (key, value), (_, other) in zip(want.fields, got.fields, strict=False):
                if value != other:
                    lines.append(f"- effect #{index + 1} {want.name}.{key}: expected {show(value)}, got {show(other)}")
    return lines


def _load_context(path: Path | None) -> Any:
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"{path}: not valid UTF-8")
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        fail(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}")


def _parse_now(now: str | None) -> FixedClock | SystemClock:
    if now is None:
        return SystemClock()
    try:
        return FixedClock(datetime.fromisoformat(now.replace("Z", "+00:00")))
    except ValueError:
        fail(f"--now: {now!r} is not an ISO date-time such as 2026-11-11T20:00:00+08:00")


@app.command("eval")
def eval_command(
    paths: Paths,
    scene: Annotated[str | None, typer.Option("--scene", help="The scene to decide.")] = None,
    context: Annotated[Path | None, typer.Option("--context", help="A JSON file: {namespace: {tag: value}}.")] = None,
    expr: Annotated[str | None, typer.Option("--expr", help="Evaluate one expression instead of a scene.")] = None,
    strategy: Annotated[str | None, typer.Option("--strategy", help="A strategy other than the scene's default.")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show every rule and the value of each sub-expression.")] = False,
    now: Annotated[str | None, typer.Option("--now", help="The time of the decision (ISO 8601).")] = None,
    format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Evaluate a scene (or one expression) against a context."""
    if (scene is None) == (expr is None):
        fail("give either --scene or --expr")
    if format not in ("text", "json"):
        fail("--format takes text or json")
    ruleset = compile_program(_checked(paths))
    raw = _load_context(context)
    clock = _parse_now(now)
    if expr is not None:
        compiled = ruleset.compile_expression(expr)
        value = output(compiled(ruleset.prepare(raw, now=clock.now())), compiled.type)
        typer.echo(json.dumps(to_json(value), ensure_ascii=False) if format == "json" else show(value))
        return
    assert scene is not None
    decision = Engine(ruleset, clock).decide(scene, raw, explain=explain, strategy=strategy)
    if format == "json":
        typer.echo(json.dumps(decision.to_json(), ensure_ascii=False, indent=2))
        return
    typer.echo(f"scene {decision.scene} · strategy {decision.strategy} · ruleset {decision.ruleset_hash[:12]}")
    if decision.failed:
        typer.echo(f"FAILED ({decision.failure_policy}): {decision.reason}")
    if decision.score is not None:
        typer.echo(f"score: {decision.score}")
    typer.echo("effects:" if decision.effects else "effects: none")
    for effect in decision.effects:
        typer.echo(f"  {effect}")
    if decision.fired:
        typer.echo("fired: " + ", ".join(decision.fired))
    for rule in decision.trace:
        mark = "✓" if rule.fired else ("·" if rule.matched else "✗")
        typer.echo(f"{mark} {rule.rule} (priority {rule.priority}): {rule.note}")
        for part in rule.parts:
            value = part.error if part.error else show(part.value)
            typer.echo(f"    {part.text}  =>  {value}")


@app.command()
def fmt(
    paths: Paths,
    check_only: Annotated[bool, typer.Option("--check", help="Only report files that are not formatted; exit 1 if any.")] = False,
) -> None:
    """Rewrite rule files in the canonical layout (formatting twice changes nothing)."""
    from arbiter.dsl.printer import format_source

    sources, problems = read_sources(existing_rule_paths(paths))
    if problems:
        typer.echo(render_all(problems, sources), err=True)
        raise typer.Exit(1)
    # Format everything first: a file with a syntax error stops the run before any is written.
    changed: dict[str, str] = {}
    broken = False
    for name, text in sources.items():
        formatted, diagnostics = format_source(text, name)
        if formatted is None:
            typer.echo(render_all(diagnostics, {name: text}), err=True)
            broken = True
        elif formatted != text:
            changed[name] = formatted
    if broken:
        typer.echo("nothing was rewritten: fix the syntax errors first", err=True)
        raise typer.Exit(1)
    unformatted = list(changed)
    if not check_only:
        for name, formatted in changed.items():
            Path(name).write_text(formatted, encoding="utf-8")
    verb = "would reformat" if check_only else "reformatted"
    for name in unformatted:
        typer.echo(f"{verb} {name}")
    typer.echo(f"{len(unformatted)} file(s) {verb}, {len(sources) - len(unformatted)} unchanged")
    raise typer.Exit(1 if check_only and unformatted else 0)


app.command("backtest")(backtest_command)
app.command("demo")(demo_command)
app.add_typer(rules_app, name="rules", help="Publish, roll back, diff and list ruleset versions.")
app.add_typer(experiment_app, name="experiment", help="Report on A/B experiments; start and stop them.")
app.add_typer(keys_app, name="keys", help="Create, list and revoke API keys.")
app.add_typer(db_app, name="db", help="Upgrade the database schema; show its revision.")


def main() -> None:
    """Entry point: typer handles usage errors and exit codes; this turns anything else into
    one line on stderr instead of a traceback."""
    try:
        app()
    except (ArbiterError, CompileError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the last line of defence: never a traceback for the user
        typer.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
