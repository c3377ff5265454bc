"""`arbiter backtest`: replay recorded events through candidate rules and the live version.

Events are JSON lines, in time order: `{"id": "e1", "kind": "payment", "at": "2026-11-11T20:00:00+08:00",
"context": {"user": {...}, "payment": {...}}}`. Labels, optional, are JSON lines
`{"id": "e1", "label": true}` (true: it was fraud). The live side is the published version
(`ARBITER_DATABASE_URL`), or the rule files given with `--live`.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import typer

from arbiter.commands.common import existing_rule_paths, fail, unit_of_work
from arbiter.dsl.checker import check_paths
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.dsl.diagnostics import render_all, summary
from arbiter.engine.backtest import ACTIONS, Part, Replay, Report
from arbiter.engine.velocity import microseconds


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


def _events(path: Path, start: int = 0, count: int | None = None, first: int = 1) -> Iterator[_Row]:
    """The events as (id, kind, at, context) rows, read straight from the lines: the replay
    needs no `Event` per line. `start` is the byte offset of the first line read (line number
    `first`), `count` how many lines to read (all when None)."""
    handle = _open(path)
    if start:
        handle.close()
        binary = path.open("rb")
        binary.seek(start)
        handle = io.TextIOWrapper(binary, encoding="utf-8")
    scan, decode = _decoder()
    parse = datetime.fromisoformat
    with handle:
        for number, line in enumerate(handle if count is None else islice(handle, count), start=first):
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
    replay = Replay(candidate, current, scene, kind=kind, labels=label_map)
    worker = _start_worker(replay, candidate, current, scene, kind, label_map, events)  # before the bar's thread
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.completed:,} events"), TimeElapsedColumn(),
                  transient=True, console=_stderr()) as bar:
        task = bar.add_task("replay", total=None)
        # The replay reports progress every few thousand events, not per event.
        report = _replay(replay, events, worker, lambda n: bar.advance(task, n))
    if format == "json":
        typer.echo(json.dumps(_json(report), indent=2))
    else:
        _print(report)


# Files from this size on are replayed in two processes (two cores).
PARALLEL_BYTES = 32 << 20
# What replaying a line costs when it only feeds the features, against deciding it too.
_WARM_COST = 0.5


@dataclass
class _Worker:
    """A child process replaying the stream from line `split` (byte `split_at`), its features
    warmed up from line `warm` (byte `warm_at`); it sends back its counts and its event ids."""

    pid: int
    receive: Any
    warm: int  # lines before the warm-up
    warm_at: int
    split: int  # lines before the part the worker decides
    split_at: int
    split_time: datetime


def _start_worker(replay: Replay, candidate: Ruleset, current: Ruleset, scene: str, kind: str | None,
                  labels: dict[str, bool], path: Path) -> _Worker | None:
    """Split a large stream in two: this process replays the first part; a forked child
    replays the second, after warming its features up on the events within the longest
    window before it. The child's counts are taken only if they cannot differ from a replay
    in one go (see `_replay`)."""
    if not hasattr(os, "fork"):
        return None
    try:
        size = path.stat().st_size
        if size < PARALLEL_BYTES:
            return None
        plan = _plan(path, size, replay.windows)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if plan is None:
        return None
    warm_at, split_at, split_time = plan
    warm, split = _count_lines(path, warm_at), _count_lines(path, split_at)
    receive, send = multiprocessing.Pipe(duplex=False)
    pid = os.fork()
    if pid == 0:  # the child: report what it replayed, or nothing when anything goes wrong
        code = 0
        try:
            receive.close()
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            mine = Replay(candidate, current, scene, kind=kind, labels=labels)
            ids: set[str] = set()
            mine.feed(_events(path, warm_at, split - warm), decide=False, ids=ids)
            mine.feed(_events(path, split_at), ids=ids)
            send.send((mine.part(), list(ids)))
        except BaseException:  # noqa: BLE001 - the parent replays this part itself
            code = 1
            try:
                send.send(None)
            except BaseException:  # noqa: BLE001
                pass
        finally:
            os._exit(code)
    send.close()
    return _Worker(pid, receive, warm, warm_at, split, split_at, split_time)


def _replay(replay: Replay, path: Path, worker: _Worker | None, progress: Callable[[int], None]) -> Report:
    if worker is None:
        replay.feed(_events(path), progress=progress)
        return replay.report()
    ids: set[str] = set()
    result: tuple[Part, list[str]] | None = None
    try:
        replay.feed(_events(path, 0, worker.warm), progress=progress, ids=ids)
        replay.feed(_events(path, worker.warm_at, worker.split - worker.warm, worker.warm + 1), progress=progress)
        result = worker.receive.recv()
    except EOFError:
        result = None
    finally:
        if result is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGKILL)
        os.waitpid(worker.pid, 0)
        worker.receive.close()
    # The child's part stands for what this process would have replayed when no event id
    # before its warm-up comes again after it (an earlier copy still held in a window would
    # have made this process skip it) and the stream stays in time order across the split.
    if (result is not None and ids.isdisjoint(result[1])
            and (replay.last is None or replay.last <= worker.split_time)):
        replay.merge(result[0])
        progress(result[0].events)
    else:
        replay.feed(_events(path, worker.split_at, None, worker.split + 1), progress=progress)
    return replay.report()


def _probe(handle: Any, offset: int) -> tuple[int, datetime] | None:
    """The first line starting at or after byte `offset`: its offset and time (None at the
    end of the file)."""
    if offset:
        handle.seek(offset - 1)
        handle.readline()
    else:
        handle.seek(0)
    start = handle.tell()
    line = handle.readline()
    if not line:
        return None
    at = datetime.fromisoformat(str(json.loads(line)["at"]).replace("Z", "+00:00"))
    return start, at if at.tzinfo else at.replace(tzinfo=UTC)


def _plan(path: Path, size: int, window: int) -> tuple[int, int, datetime] | None:
    """Where to split: (the warm-up's first byte, the split's first byte, its time), chosen
    so that both processes have about as much to do; None when splitting would not pay."""
    with path.open("rb") as handle:
        def warm_start(split: int, at: datetime) -> int:
            # the first line within `window` before the split's time
            low, high = 0, split
            while low < high:
                middle = (low + high) // 2
                found = _probe(handle, middle)
                if found is not None and microseconds(at) - microseconds(found[1]) < window:
                    high = middle
                else:
                    low = middle + 1
            found = _probe(handle, low)
            return split if found is None else min(found[0], split)

        low, high = 0, size
        best: tuple[int, int, datetime] | None = None
        while high - low > 4096:
            middle = (low + high) // 2
            found = _probe(handle, middle)
            if found is None:
                high = middle
                continue
            split, at = found
            warm = warm_start(split, at)
            child = _WARM_COST * (split - warm) + (size - split)
            best = (warm, split, at)
            if split < child:
                low = middle
            else:
                high = middle
    if best is None or best[1] <= 0 or best[1] >= size or best[1] > 0.85 * size:
        return None
    return best


def _count_lines(path: Path, offset: int) -> int:
    """The number of lines before byte `offset` (the start of a line)."""
    count = 0
    with path.open("rb") as handle:
        left = offset
        while left:
            chunk = handle.read(min(left, 1 << 22))
            if not chunk:
                break
            count += chunk.count(b"\n")
            left -= len(chunk)
    return count


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
