"""`arbiter rules`: publish rule files as a version, roll back, diff and list versions.

The database is `ARBITER_DATABASE_URL` (SQLite at `var/arbiter.db` when unset); its tables are
created on first use. With `ARBITER_REDIS_URL` set, a publish is also announced on Redis so
that running services reload at once instead of at their next poll.

Exit status: 0 done; 1 the rules were refused (the diagnostics are printed as `arbiter check`
prints them) or there was nothing to publish; 2 bad input (unknown version, unreadable file,
unreachable database). Never a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from arbiter.clock import SystemClock
from arbiter.commands.common import existing_rule_paths, fail, unit_of_work
from arbiter.dsl.checker import read_sources
from arbiter.dsl.diagnostics import render_all, summary
from arbiter.errors import ArbiterError

if TYPE_CHECKING:
    from arbiter.platform.db import UnitOfWork
    from arbiter.platform.rules.service import PublishResult

# The database layer is imported when a command runs, not when `arbiter` starts: `arbiter
# check` and friends should not pay for SQLAlchemy.

app = typer.Typer(
    help="Publish rule files as immutable versions, roll back, diff and list them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

By = Annotated[str, typer.Option("--by", help="Who makes the change (recorded with the version).")]
Why = Annotated[str, typer.Option("--why", help="Why (recorded with the version).")]
T = TypeVar("T")


def _run(action: Callable[[UnitOfWork], T]) -> T:
    """Run a use case; its refusals become messages and exit statuses."""
    from arbiter.platform.rules.service import RulesRejected, UnchangedRules

    with unit_of_work() as uow:
        try:
            return action(uow)
        except RulesRejected as exc:
            typer.echo(render_all(exc.diagnostics, exc.sources), err=True)
            typer.echo(f"refused: {summary(exc.diagnostics)}; nothing was published", err=True)
            raise typer.Exit(1) from None
        except UnchangedRules as exc:
            fail(f"nothing to publish: {exc}", 1)
        except ArbiterError as exc:
            fail(str(exc))


def _redis() -> Any | None:
    url = (os.environ.get("ARBITER_REDIS_URL") or "").strip()
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)


def _file_name(name: str) -> str:
    """Files are recorded relative to the working folder (`rules/promo.rules`), so that the
    same rules published from two checkouts hash the same."""
    path = Path(name)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _sources(paths: list[Path]) -> dict[str, str]:
    sources, problems = read_sources(existing_rule_paths(paths))
    if problems:
        typer.echo(render_all(problems, sources), err=True)
        raise typer.Exit(2)
    return {_file_name(name): text for name, text in sources.items()}


def _report(result: PublishResult) -> None:
    version = result.version
    line = f"published version {version.number} ({version.hash[:12]})"
    if version.rollback_of is not None:
        line += f", a rollback to version {version.rollback_of}"
    if result.archived is not None:
        line += f"; version {result.archived} archived"
    typer.echo(line)
    if result.warnings:
        typer.echo(render_all(result.warnings, version.sources), err=True)
    if result.notified is False:
        typer.echo("warning: Redis was not told; services will find the version by polling", err=True)


@app.command()
def publish(
    paths: Annotated[list[Path], typer.Argument(help="Rule files or folders of .rules files.")],
    by: By,
    why: Why,
) -> None:
    """Check, compile and publish rule files as the next version."""
    from arbiter.platform.rules import service

    sources = _sources(paths)
    client = _redis()
    try:
        result = _run(lambda uow: service.publish(
            uow, sources, by=by, why=why, clock=SystemClock(), redis=client))
    finally:
        if client is not None:
            client.close()
    _report(result)


@app.command()
def rollback(
    number: Annotated[int, typer.Argument(help="The version to publish again.", min=1, max=2**31 - 1)],
    by: By,
    why: Why,
) -> None:
    """Publish an earlier version's rule files again, as a new version."""
    from arbiter.platform.rules import service

    client = _redis()
    try:
        result = _run(lambda uow: service.rollback(
            uow, number, by=by, why=why, clock=SystemClock(), redis=client))
    finally:
        if client is not None:
            client.close()
    _report(result)


@app.command()
def diff(
    a: Annotated[int, typer.Argument(help="The version to compare from.", min=1, max=2**31 - 1)],
    b: Annotated[int, typer.Argument(help="The version to compare to.", min=1, max=2**31 - 1)],
    format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """What version B adds (+), removes (-) and changes (~) relative to version A."""
    if format not in ("text", "json"):
        fail("--format takes text or json")
    from arbiter.platform.rules import service

    result = _run(lambda uow: service.diff(uow, a, b))
    if format == "json":
        typer.echo(json.dumps(result.to_json(), indent=2))
    elif result.empty:
        typer.echo(f"versions {a} and {b} declare the same rules")
    else:
        typer.echo("\n".join(result.lines()))


@app.command()
def versions(
    format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Every version, oldest first: number, status, hash, who, when and why."""
    if format not in ("text", "json"):
        fail("--format takes text or json")
    from arbiter.platform.rules import service

    found = _run(service.versions)
    if format == "json":
        typer.echo(json.dumps([{
            "number": v.number, "status": v.status, "hash": v.hash, "why": v.why,
            "created_by": v.created_by, "created_at": v.created_at.isoformat(),
            "published_by": v.published_by,
            "published_at": v.published_at.isoformat() if v.published_at else None,
            "rollback_of": v.rollback_of, "files": sorted(v.sources),
        } for v in found], ensure_ascii=False, indent=2))
        return
    if not found:
        typer.echo("no versions yet")
        return
    for v in found:
        when = (v.published_at or v.created_at).strftime("%Y-%m-%d %H:%M:%S")
        who = v.published_by or v.created_by
        extra = f" (rollback of {v.rollback_of})" if v.rollback_of is not None else ""
        typer.echo(f"{v.number:>4}  {v.status:<9}  {v.hash[:12]}  {when}  {who}: {v.why}{extra}")
