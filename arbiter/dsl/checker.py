"""Checking: parsed modules to a checked `Program` and every diagnostic, never raising for a
rule problem.

It resolves the tag catalog, effects and named conditions across all files, gives each
declaration block its shape (see `schema.py`), types every expression (`exprcheck.py`) and
runs the whole-program checks: duplicate names, cycles among conditions, tags read outside
their scenes' scope, rules that can never fire.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from arbiter.dsl import nodes as n
from arbiter.dsl import types as t
from arbiter.dsl.check_attrs import literal_value
from arbiter.dsl.check_blocks import BlockChecker
from arbiter.dsl.diagnostics import Diagnostic, sort_key
from arbiter.dsl.exprcheck import ExpressionChecker
from arbiter.dsl.gcpause import collector_paused
from arbiter.dsl.model import (
    Condition,
    Program,
)
from arbiter.dsl.parser import MAX_FILE_BYTES, parse
from arbiter.dsl.schema import (
    KEYWORDS,
    TOP_LEVEL,
)
from arbiter.dsl.suggest import did_you_mean

RULE_SUFFIX = ".rules"


@dataclass(frozen=True)
class CheckResult:
    program: Program
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """The `.rules` files named or found under the given paths, in a stable order."""
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        candidates = sorted(p for p in path.rglob(f"*{RULE_SUFFIX}") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            # The same file named twice (rules/ and rules/x.rules, or a relative and an
            # absolute path) is read once: otherwise every declaration in it is "duplicate".
            resolved = candidate.resolve()
            if resolved not in seen:
                seen.add(resolved)
                found.append(candidate)
    return found


def read_sources(paths: Iterable[str | Path]) -> tuple[dict[str, str], list[Diagnostic]]:
    """Read rule files as UTF-8; unreadable files become diagnostics."""
    sources: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for path in rule_files(paths):
        name = str(path)
        span = n.Span(name, 1, 1, 1, 1)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:  # refused before it is read
                problems.append(Diagnostic("dsl.limit.file_size", f"the file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}",
                                           n.Span(name, 1, 1, 1, 2), hint="split the rules over several files"))
                continue
            data = path.read_bytes()
        except OSError as exc:
            problems.append(Diagnostic("dsl.file.unreadable", f"cannot read the file: {exc.strerror or exc}", span))
            continue
        try:
            # Editors on some systems start UTF-8 files with a byte-order mark: not part of the rules.
            sources[name] = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            problems.append(
                Diagnostic(
                    "dsl.file.encoding",
                    f"the file is not valid UTF-8 (byte {exc.start})",
                    n.Span(name, line, column, line, column + 1),
                    hint="save rule files as UTF-8",
                )
            )
    return sources, problems


def check_paths(paths: Iterable[str | Path]) -> CheckResult:
    sources, problems = read_sources(paths)
    result = check_sources(sources)
    if not problems:
        return result
    diagnostics = tuple(sorted([*problems, *result.diagnostics], key=sort_key))
    return CheckResult(result.program, diagnostics)


def check_sources(sources: Mapping[str, str]) -> CheckResult:
    """Parse and check rule files given as {file name: text}."""
    with collector_paused():
        return _check_sources(sources)


def _check_sources(sources: Mapping[str, str]) -> CheckResult:
    modules: list[n.Module] = []
    diagnostics: list[Diagnostic] = []
    for file in sorted(sources):
        module, problems = parse(sources[file], file)
        diagnostics.extend(problems)
        if module is not None:
            modules.append(module)
    checker = _Checker(modules, sources)
    program = checker.run()
    diagnostics.extend(checker.diagnostics)
    unique = {(d.code, d.span, d.message): d for d in diagnostics}
    return CheckResult(program, tuple(sorted(unique.values(), key=sort_key)))


class _Checker(BlockChecker):
    """Puts the declaration checks together over a set of parsed modules."""

    def __init__(self, modules: Sequence[n.Module], sources: Mapping[str, str]) -> None:
        self.modules = tuple(modules)
        self.sources = dict(sources)
        self.diagnostics: list[Diagnostic] = []
        self.types: dict[int, t.Type] = {}
        self._scene_strategy_spans: dict[str, n.Span] = {}

    def run(self) -> Program:
        tag_decls: list[n.TagDecl] = []
        effect_decls: list[n.EffectDecl] = []
        condition_decls: dict[str, n.ConditionDecl] = {}
        blocks: dict[str, list[n.Block]] = {kind: [] for kind in TOP_LEVEL}
        for module in self.modules:
            for decl in module.decls:
                if isinstance(decl, n.TagDecl):
                    tag_decls.append(decl)
                elif isinstance(decl, n.EffectDecl):
                    effect_decls.append(decl)
                elif isinstance(decl, n.ConditionDecl):
                    if decl.name in KEYWORDS:
                        self.error("dsl.name.reserved", f"`{decl.name}` is a word of the language and cannot name a condition",
                                   decl.name_span, "choose another name")
                    elif decl.name in condition_decls:
                        self.duplicate("condition", decl.name, decl.name_span, condition_decls[decl.name].name_span)
                    else:
                        condition_decls[decl.name] = decl
                elif decl.kind in blocks:
                    blocks[decl.kind].append(decl)
                else:
                    self.error(
                        "dsl.decl.unknown",
                        f"unknown declaration `{decl.kind}`",
                        decl.span if decl.span.line == decl.span.end_line else decl.name_span,
                        did_you_mean(decl.kind, [*TOP_LEVEL, "tag", "condition", "effect"])
                        or "declarations: tag, condition, effect, " + ", ".join(TOP_LEVEL),
                    )
        tags = self._tags(tag_decls)
        effects = self._effects(effect_decls)
        self.ex = ExpressionChecker(tags, condition_decls, effects, self.diagnostics, self.types)
        self.tags, self.effects = tags, effects
        for decl in condition_decls.values():
            self.ex.check_condition(decl)
        conditions = {k: Condition(k, d.expr, d.span) for k, d in condition_decls.items()}
        self.conditions = condition_decls
        scenes = self._scenes(self._unique("scene", blocks["scene"]))
        strategies = self._strategies(self._unique("strategy", blocks["strategy"]), scenes)
        scenes = self._resolve_default_strategies(scenes, strategies)
        self._check_tag_scopes(tags, scenes, tag_decls)
        experiments = self._experiments(self._unique("experiment", blocks["experiment"]), scenes, strategies)
        holdouts = self._holdouts(self._unique("holdout", blocks["holdout"]))
        promotions = self._promotions(self._unique("promotion", blocks["promotion"]))
        tests = self._tests(self._unique("test", blocks["test"]), scenes, strategies, promotions)
        return Program(
            tags=tags,
            effects=effects,
            conditions=conditions,
            scenes=scenes,
            strategies=strategies,
            experiments=experiments,
            holdouts=holdouts,
            promotions=promotions,
            features=dict(self.ex.features),
            tests=tuple(tests),
            types=self.types,
            sources=self.sources,
            modules=self.modules,
        )


__all__ = ["CheckResult", "check_paths", "check_sources", "literal_value", "read_sources", "rule_files"]
