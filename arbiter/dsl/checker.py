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
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from arbiter.dsl import nodes as n
from arbiter.dsl import types as t
from arbiter.dsl.context import prepare
from arbiter.dsl.diagnostics import Diagnostic, Severity, sort_key
from arbiter.dsl.exprcheck import ExpressionChecker, Read, did_you_mean
from arbiter.dsl.gcpause import collector_paused
from arbiter.dsl.model import (
    MISSING,
    Band,
    Condition,
    Effect,
    Experiment,
    Holdout,
    Program,
    Promotion,
    Rule,
    Scene,
    Strategy,
    Tag,
    TestCase,
    Variant,
)
from arbiter.dsl.parser import parse
from arbiter.dsl.schema import (
    BLOCKS,
    KEYWORDS,
    NAMESPACES,
    TAG_ATTRS,
    TOP_LEVEL,
    AttrSpec,
    BlockSpec,
)
from arbiter.errors import ArbiterError

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
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob(f"*{RULE_SUFFIX}") if p.is_file()))
        else:
            found.append(path)
    return found


def read_sources(paths: Iterable[str | Path]) -> tuple[dict[str, str], list[Diagnostic]]:
    """Read rule files as UTF-8; unreadable files become diagnostics."""
    sources: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for path in rule_files(paths):
        name = str(path)
        span = n.Span(name, 1, 1, 1, 1)
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(Diagnostic("dsl.file.unreadable", f"cannot read the file: {exc.strerror or exc}", span))
            continue
        try:
            sources[name] = data.decode("utf-8")
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


def literal_value(expr: n.Expr) -> Any:
    """The Python value of a literal expression (records and lists included), or MISSING."""
    match expr:
        case n.BoolLit() | n.IntLit() | n.StringLit() | n.DurationLit() | n.DateTimeLit():
            return expr.value
        case n.DecimalLit():
            return expr.value
        case n.MoneyLit():
            from arbiter.money import Money

            return Money(expr.amount, expr.currency)
        case n.ListLit():
            items = [literal_value(i) for i in expr.items]
            return MISSING if any(i is MISSING for i in items) else items
        case n.RecordLit():
            fields = {k: literal_value(v) for k, v in expr.fields}
            return MISSING if any(v is MISSING for v in fields.values()) else fields
    return MISSING


class _Checker:
    def __init__(self, modules: Sequence[n.Module], sources: Mapping[str, str]) -> None:
        self.modules = tuple(modules)
        self.sources = dict(sources)
        self.diagnostics: list[Diagnostic] = []
        self.types: dict[int, t.Type] = {}
        self._scene_strategy_spans: dict[str, n.Span] = {}

    # ------------------------------------------------------------------ reporting
    def error(self, code: str, message: str, span: n.Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, Severity.ERROR, hint))

    def warning(self, code: str, message: str, span: n.Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, Severity.WARNING, hint))

    def duplicate(self, what: str, name: str, span: n.Span, first: n.Span) -> None:
        self.error("dsl.name.duplicate", f"{what} `{name}` is declared twice", span, f"first declared at {first}")

    # ------------------------------------------------------------------ the program
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
        tests = self._tests(self._unique("test", blocks["test"]), scenes, strategies)
        return Program(
            tags=tags,
            effects=effects,
            conditions=conditions,
            scenes=scenes,
            strategies=strategies,
            experiments=experiments,
            holdouts=holdouts,
            promotions=promotions,
            tests=tuple(tests),
            types=self.types,
            sources=self.sources,
            modules=self.modules,
        )

    def _unique(self, what: str, blocks: list[n.Block]) -> list[n.Block]:
        seen: dict[str, n.Block] = {}
        for block in blocks:
            if block.name in seen:
                self.duplicate(what, block.name, block.name_span, seen[block.name].name_span)
            else:
                seen[block.name] = block
        return list(seen.values())

    # ------------------------------------------------------------------ attributes
    def attrs(self, owner: str, items: Iterable[n.Attr], specs: Mapping[str, AttrSpec], span: n.Span) -> dict[str, list[n.Attr]]:
        found: dict[str, list[n.Attr]] = {}
        for attr in items:
            spec = specs.get(attr.key)
            if spec is None:
                hint = did_you_mean(attr.key, sorted(specs)) or "attributes: " + ", ".join(specs)
                self.error("dsl.attr.unknown", f"{owner} has no attribute `{attr.key}`", attr.key_span, hint)
                continue
            if attr.key in found and not spec.repeat:
                first = found[attr.key][0].key_span
                self.error("dsl.attr.duplicate", f"`{attr.key}` is given twice", attr.key_span, f"first given at {first}")
                continue
            found.setdefault(attr.key, []).append(attr)
        for key, spec in specs.items():
            if spec.required and key not in found:
                self.error("dsl.attr.missing", f"{owner} needs `{key}`", span, spec.summary or None)
        return found

    def block_attrs(self, block: n.Block, spec: BlockSpec) -> dict[str, list[n.Attr]]:
        owner = f"{block.kind} `{block.name}`"
        for child in block.blocks():
            if child.kind not in spec.children:
                allowed = ", ".join(spec.children) or "no nested blocks"
                self.error(
                    "dsl.decl.unknown",
                    f"a {block.kind} cannot contain `{child.kind}`",
                    child.name_span,
                    did_you_mean(child.kind, spec.children) or f"{block.kind} may contain: {allowed}",
                )
        for kind in spec.required_children:
            if not block.blocks(kind):
                self.error("dsl.attr.missing", f"{owner} needs at least one `{kind}`", block.name_span)
        items = [i for i in block.items if isinstance(i, n.Attr)]
        return self.attrs(owner, items, spec.attrs, block.name_span)

    def string(self, attr: n.Attr) -> str | None:
        if isinstance(attr.value, n.StringLit):
            return attr.value.value
        self.error("dsl.attr.invalid", f"`{attr.key}` takes a string in double quotes", attr.value.span)
        return None

    def integer(self, attr: n.Attr) -> int | None:
        if isinstance(attr.value, n.IntLit):
            return attr.value.value
        self.error("dsl.attr.invalid", f"`{attr.key}` takes a whole number", attr.value.span)
        return None

    def decimal(self, attr: n.Attr) -> Decimal | None:
        if isinstance(attr.value, n.DecimalLit | n.IntLit):
            return Decimal(attr.value.value)
        self.error("dsl.attr.invalid", f"`{attr.key}` takes a number or a percentage such as 50%", attr.value.span)
        return None

    def moment(self, attr: n.Attr) -> datetime | None:
        if isinstance(attr.value, n.DateTimeLit):
            return attr.value.value
        self.error("dsl.attr.invalid", f"`{attr.key}` takes a date such as 2026-11-11T20:00:00+08:00", attr.value.span)
        return None

    def symbol(self, attr: n.Attr, choices: Sequence[str]) -> str | None:
        value = attr.value
        if isinstance(value, n.Name) and len(value.parts) == 1 and (not choices or value.parts[0] in choices):
            return value.parts[0]
        word = value.dotted if isinstance(value, n.Name) else None
        hint = (did_you_mean(word, choices) if word else None) or "one of: " + ", ".join(choices)
        self.error("dsl.attr.invalid", f"`{attr.key}` takes one of {', '.join(choices)}", value.span, hint)
        return None

    def names(self, attr: n.Attr) -> list[tuple[str, n.Span]]:
        """A name, a string, or a list of them: `[checkout, payment]`."""
        items = attr.value.items if isinstance(attr.value, n.ListLit) else (attr.value,)
        out: list[tuple[str, n.Span]] = []
        for item in items:
            if isinstance(item, n.Name):
                out.append((item.dotted, item.span))
            elif isinstance(item, n.StringLit):
                out.append((item.value, item.span))
            else:
                self.error("dsl.attr.invalid", f"`{attr.key}` takes names, e.g. [checkout, payment]", item.span)
        return out

    def effect_list(self, attrs: Sequence[n.Attr], where: str) -> list[tuple[n.Call, tuple[Read, ...]]]:
        out: list[tuple[n.Call, tuple[Read, ...]]] = []
        for attr in attrs:
            calls = attr.value.items if isinstance(attr.value, n.ListLit) else (attr.value,)
            for call in calls:
                effect, reads = self.ex.check_effect(call, f"`{where}`")
                if effect is not None and isinstance(call, n.Call):
                    out.append((call, reads))
        return out

    # ------------------------------------------------------------------ tags and effects
    def resolve_type(self, te: n.TypeExpr) -> t.Type:
        name, args = te.name, te.args
        if name in t.SCALARS:
            if args is not None:
                self.error("dsl.type.unknown", f"type `{name}` takes no arguments", te.span)
            return t.SCALARS[name]
        if name == "money":
            if not args:
                return t.money("CNY")
            arg = args[0]
            if len(args) == 1 and isinstance(arg.value, n.TypeExpr) and arg.name is None:
                code = arg.value.name
                if len(code) == 3 and code.isupper():
                    return t.money(code)
            self.error("dsl.type.unknown", "money takes a currency code, e.g. money(USD)", te.span)
            return t.UNKNOWN
        if name == "enum":
            values = tuple(a.value for a in (args or ()) if isinstance(a.value, str))
            if not values or len(values) != len(args or ()):
                self.error("dsl.type.unknown", 'enum takes its values as strings, e.g. enum("male", "female")', te.span)
                return t.UNKNOWN
            if len(set(values)) != len(values):
                self.error("dsl.type.unknown", "an enum value is listed twice", te.span)
            return t.enum(values)
        if name == "list":
            if not args:
                self.error("dsl.type.unknown", "list takes its fields, e.g. list(sku: string, quantity: int)", te.span)
                return t.UNKNOWN
            if len(args) == 1 and args[0].name is None and isinstance(args[0].value, n.TypeExpr):
                return t.list_of(self.resolve_type(args[0].value))
            fields: list[tuple[str, t.Type]] = []
            for arg in args:
                if arg.name is None or not isinstance(arg.value, n.TypeExpr):
                    self.error("dsl.type.unknown", "each field of a list is `name: type`", arg.span)
                    continue
                if any(k == arg.name for k, _ in fields):
                    self.error("dsl.name.duplicate", f"field `{arg.name}` is declared twice", arg.span)
                    continue
                fields.append((arg.name, self.resolve_type(arg.value)))
            return t.list_of(t.record(tuple(fields)))
        self.error(
            "dsl.type.unknown",
            f"unknown type `{name}`",
            te.span,
            did_you_mean(name, t.TYPE_NAMES) or "types: " + ", ".join(t.TYPE_NAMES),
        )
        return t.UNKNOWN

    def _tags(self, decls: list[n.TagDecl]) -> dict[str, Tag]:
        tags: dict[str, Tag] = {}
        first: dict[str, n.TagDecl] = {}
        for decl in decls:
            if decl.namespace not in NAMESPACES:
                self.error(
                    "dsl.tag.namespace",
                    f"unknown tag namespace `{decl.namespace}`",
                    decl.name_span,
                    did_you_mean(decl.namespace, NAMESPACES) or "namespaces: " + ", ".join(NAMESPACES),
                )
                continue
            if decl.path in first:
                self.duplicate("tag", decl.path, decl.name_span, first[decl.path].name_span)
                continue
            first[decl.path] = decl
            type_ = self.resolve_type(decl.type)
            attrs = self.attrs(f"tag `{decl.path}`", decl.attrs, TAG_ATTRS, decl.name_span)
            get = {k: v[0] for k, v in attrs.items()}
            default: Any = MISSING
            if "default" in get:
                default = self._tag_default(decl.path, type_, get["default"])
            scope = None
            if "scope" in get:
                scope = frozenset(name for name, _ in self.names(get["scope"]))
            tags[decl.path] = Tag(
                namespace=decl.namespace,
                name=decl.name,
                type=type_,
                display=(self.string(get["display"]) if "display" in get else None) or decl.path,
                category=(self.string(get["category"]) if "category" in get else None) or "",
                source=(self.symbol(get["source"], TAG_ATTRS["source"].choices) if "source" in get else None) or "api",
                scope=scope,
                status=(self.symbol(get["status"], TAG_ATTRS["status"].choices) if "status" in get else None) or "active",
                default=default,
                description=(self.string(get["description"]) if "description" in get else None) or "",
                span=decl.span,
            )
        return tags

    def _tag_default(self, path: str, type_: t.Type, attr: n.Attr) -> Any:
        value = literal_value(attr.value)
        if value is MISSING:
            self.error("dsl.attr.invalid", f"the default of `{path}` must be a literal value", attr.value.span)
            return MISSING
        try:
            return t.coerce(value, type_, f"the default of {path}")
        except ArbiterError as exc:
            self.error("dsl.type.mismatch", str(exc), attr.value.span)
            return MISSING

    def _effects(self, decls: list[n.EffectDecl]) -> dict[str, Effect]:
        effects: dict[str, Effect] = {}
        for decl in decls:
            if decl.name in effects:
                self.duplicate("effect", decl.name, decl.name_span, effects[decl.name].span)
                continue
            params: list[tuple[str, t.Type]] = []
            for param in decl.params:
                if any(k == param.name for k, _ in params):
                    self.error("dsl.name.duplicate", f"field `{param.name}` is declared twice", param.span)
                    continue
                params.append((param.name, self.resolve_type(param.type)))
            effects[decl.name] = Effect(decl.name, tuple(params), decl.name_span)
        return effects

    # ------------------------------------------------------------------ scenes and strategies
    def _scenes(self, blocks: list[n.Block]) -> dict[str, Scene]:
        scenes: dict[str, Scene] = {}
        spec = BLOCKS["scene"]
        for block in blocks:
            found = self.block_attrs(block, spec)
            get = {k: v[0] for k, v in found.items()}
            readable = None
            if "tags" in get:
                readable = set()
                for name, span in self.names(get["tags"]):
                    if name not in self.ex.namespaces and name not in self.tags:
                        self.error("dsl.tag.unknown", f"scene `{block.name}` lists unknown tag or namespace `{name}`", span,
                                   did_you_mean(name, sorted({*self.ex.namespaces, *self.tags})))
                    readable.add(name)
            effect_types = None
            if "effects" in get:
                effect_types = set()
                for name, span in self.names(get["effects"]):
                    if name not in self.effects:
                        self.error("dsl.effect.unknown", f"unknown effect `{name}`", span, did_you_mean(name, sorted(self.effects)))
                    effect_types.add(name)
            fallback = self.effect_list(found.get("fallback", []), "fallback")
            for _call, reads in fallback:
                if reads:
                    self.error("dsl.scene.fallback", "a fallback effect cannot read tags: it is used when evaluation fails", reads[0].span)
            on_failure = (self.symbol(get["on_failure"], ("open", "closed")) if "on_failure" in get else None) or "closed"
            strategy_attr = get.get("strategy")
            scenes[block.name] = Scene(
                name=block.name,
                display=(self.string(get["display"]) if "display" in get else None) or block.name,
                access=(self.symbol(get["access"], ("api", "embedded", "both")) if "access" in get else None) or "both",
                clients=frozenset(nm for nm, _ in self.names(get["clients"])) if "clients" in get else None,
                readable=frozenset(readable) if readable is not None else None,
                effect_types=frozenset(effect_types) if effect_types is not None else None,
                on_failure=on_failure,
                fallback=tuple(c for c, _ in fallback),
                strategy=strategy_attr.value.dotted if strategy_attr and isinstance(strategy_attr.value, n.Name) else None,
                span=block.span,
            )
            self._scene_strategy_spans[block.name] = strategy_attr.value.span if strategy_attr else block.name_span
        return scenes

    def ref(self, attr: n.Attr, kind: str, known: Mapping[str, Any]) -> str | None:
        value = attr.value
        if isinstance(value, n.Name) and len(value.parts) == 1:
            if value.parts[0] in known:
                return value.parts[0]
            self.error("dsl.name.unknown", f"unknown {kind} `{value.parts[0]}`", value.span,
                       did_you_mean(value.parts[0], sorted(known)) or f"{kind}s: " + ", ".join(sorted(known)))
            return None
        self.error("dsl.attr.invalid", f"`{attr.key}` takes the name of a {kind}", value.span)
        return None

    def check_reads(self, reads: Iterable[Read], scene: Scene | None) -> None:
        if scene is None:
            return
        reported: set[tuple[str, n.Span]] = set()
        for read in reads:
            tag = read.tag
            key = (tag.path, read.span)
            if key in reported:
                continue
            through = f" (through condition `{read.via}`)" if read.via else ""
            if tag.scope is not None and scene.name not in tag.scope:
                reported.add(key)
                self.error(
                    "dsl.tag.scope",
                    f"tag `{tag.path}` may not be read in scene `{scene.name}`{through}",
                    read.span,
                    f"its scope: {', '.join(sorted(tag.scope))}",
                )
            elif not scene.may_read(tag):
                reported.add(key)
                self.error(
                    "dsl.tag.scope",
                    f"scene `{scene.name}` does not read `{tag.path}`{through}",
                    read.span,
                    f"the scene reads: {', '.join(sorted(scene.readable or ()))}",
                )

    def _strategies(self, blocks: list[n.Block], scenes: Mapping[str, Scene]) -> dict[str, Strategy]:
        strategies: dict[str, Strategy] = {}
        for block in blocks:
            found = self.block_attrs(block, BLOCKS["strategy"])
            get = {k: v[0] for k, v in found.items()}
            scene_name = self.ref(get["scene"], "scene", scenes) if "scene" in get else None
            scene = scenes.get(scene_name) if scene_name else None
            hit = (self.symbol(get["hit"], BLOCKS["strategy"].attrs["hit"].choices) if "hit" in get else None) or "first"
            rules = [self._rule(block.name, r, scene, hit) for r in self._unique("rule", list(block.blocks("rule")))]
            ordered = sorted((r for r in rules if r is not None), key=lambda r: (-r.priority, r.name))
            bands = self._bands(block, scene, hit)
            if hit == "first":
                self._unreachable(ordered)
            strategies[block.name] = Strategy(
                name=block.name,
                scene=scene_name or "",
                hit=hit,
                rules=tuple(ordered),
                bands=tuple(bands),
                display=(self.string(get["display"]) if "display" in get else None) or block.name,
                span=block.span,
            )
        return strategies

    def _rule(self, strategy: str, block: n.Block, scene: Scene | None, hit: str) -> Rule | None:
        found = self.block_attrs(block, BLOCKS["rule"])
        get = {k: v[0] for k, v in found.items()}
        when = get["when"].value if "when" in get else None
        if when is not None:
            _, reads = self.ex.check(when, t.BOOL, f"the `when` of rule `{block.name}`")
            self.check_reads(reads, scene)
        effects = self.effect_list(found.get("then", []), "then")
        for call, reads in effects:
            self.check_reads(reads, scene)
            if scene is not None and scene.effect_types is not None and call.name not in scene.effect_types:
                self.error("dsl.scene.effect", f"scene `{scene.name}` does not return `{call.name}` effects", call.name_span,
                           f"it returns: {', '.join(sorted(scene.effect_types))}")
        score = self.integer(get["score"]) if "score" in get else None
        if hit == "score" and score is None:
            self.error("dsl.attr.missing", f"rule `{block.name}` needs `score` in a score strategy", block.name_span)
        if hit != "score" and "score" in get:
            self.error("dsl.attr.invalid", "`score` counts only in a strategy with `hit score`", get["score"].key_span)
        if hit != "score" and not effects and "then" not in found:
            self.error("dsl.attr.missing", f"rule `{block.name}` needs `then`", block.name_span, "the effect it returns when it matches")
        return Rule(
            name=block.name,
            strategy=strategy,
            priority=(self.integer(get["priority"]) if "priority" in get else None) or 0,
            group=self.string(get["group"]) if "group" in get else None,
            when=when,
            effects=tuple(c for c, _ in effects),
            score=score,
            display=(self.string(get["display"]) if "display" in get else None) or block.name,
            span=block.span,
        )

    def _bands(self, block: n.Block, scene: Scene | None, hit: str) -> list[Band]:
        bands: list[Band] = []
        band_blocks = self._unique("band", list(block.blocks("band")))
        if hit != "score":
            for b in band_blocks:
                self.error("dsl.attr.invalid", "bands belong to a strategy with `hit score`", b.name_span)
            return bands
        if not band_blocks:
            self.error("dsl.attr.missing", f"strategy `{block.name}` needs at least one `band`", block.name_span,
                       "e.g. band low { from 0 then pass() }")
        floors: dict[int, str] = {}
        for b in band_blocks:
            found = self.block_attrs(b, BLOCKS["band"])
            floor = self.integer(found["from"][0]) if "from" in found else None
            if floor is None:
                continue
            if floor in floors:
                self.error("dsl.name.duplicate", f"bands `{floors[floor]}` and `{b.name}` both start at {floor}", b.name_span)
                continue
            floors[floor] = b.name
            effects = self.effect_list(found.get("then", []), "then")
            for _, reads in effects:
                self.check_reads(reads, scene)
            bands.append(Band(b.name, floor, tuple(c for c, _ in effects), b.span))
        return sorted(bands, key=lambda band: band.floor)

    def always_true(self, expr: n.Expr | None, seen: frozenset[str] = frozenset()) -> bool:
        if expr is None:
            return True
        match expr:
            case n.BoolLit():
                return expr.value
            case n.BoolOp(op="or"):
                return any(self.always_true(o, seen) for o in expr.operands)
            case n.BoolOp(op="and"):
                return all(self.always_true(o, seen) for o in expr.operands)
            case n.Name(parts=(name,)) if name in self.conditions and name not in seen:
                return self.always_true(self.conditions[name].expr, seen | {name})
        return False

    def _unreachable(self, rules: Sequence[Rule]) -> None:
        for index, rule in enumerate(rules):
            if self.always_true(rule.when):
                for later in rules[index + 1 :]:
                    self.error(
                        "dsl.rule.unreachable",
                        f"rule `{later.name}` can never fire: rule `{rule.name}` (priority {rule.priority}) comes first and always matches",
                        later.span if later.span.line == later.span.end_line else n.Span(later.span.file, later.span.line, later.span.column, later.span.line, later.span.column + 4 + len(later.name) + 1),
                        f"in a `first` strategy the highest-priority match wins: lower the priority of `{rule.name}` or narrow it with a `when`",
                    )
                return

    def _resolve_default_strategies(self, scenes: dict[str, Scene], strategies: Mapping[str, Strategy]) -> dict[str, Scene]:
        resolved: dict[str, Scene] = {}
        for name, scene in scenes.items():
            own = sorted(s.name for s in strategies.values() if s.scene == name)
            default = scene.strategy
            span = self._scene_strategy_spans.get(name, scene.span)
            if default is not None:
                if default not in strategies:
                    self.error("dsl.name.unknown", f"unknown strategy `{default}`", span, did_you_mean(default, sorted(strategies)))
                    default = None
                elif strategies[default].scene != name:
                    self.error("dsl.scene.strategy", f"strategy `{default}` serves scene `{strategies[default].scene}`, not `{name}`", span)
                    default = None
            elif len(own) == 1:
                default = own[0]
            elif len(own) > 1:
                self.error("dsl.scene.strategy", f"scene `{name}` has several strategies; name the default one with `strategy`", span,
                           "its strategies: " + ", ".join(own))
            resolved[name] = Scene(**{**_fields(scene), "strategy": default})
        return resolved

    def _check_tag_scopes(self, tags: Mapping[str, Tag], scenes: Mapping[str, Scene], decls: list[n.TagDecl]) -> None:
        for decl in decls:
            for attr in decl.attrs:
                if attr.key != "scope" or decl.path not in tags:
                    continue
                for name, span in self.names(attr):
                    if name not in scenes:
                        self.error("dsl.name.unknown", f"unknown scene `{name}` in the scope of `{decl.path}`", span,
                                   did_you_mean(name, sorted(scenes)) or "scenes: " + ", ".join(sorted(scenes)))

    # ------------------------------------------------------------------ experiments, promotions, tests
    def _experiments(self, blocks: list[n.Block], scenes: Mapping[str, Scene], strategies: Mapping[str, Strategy]) -> dict[str, Experiment]:
        experiments: dict[str, Experiment] = {}
        for block in blocks:
            found = self.block_attrs(block, BLOCKS["experiment"])
            get = {k: v[0] for k, v in found.items()}
            scene = self.ref(get["scene"], "scene", scenes) if "scene" in get else None
            unit = self.unit_tag(get["unit"]) if "unit" in get else ""
            traffic = self.share(get["traffic"]) if "traffic" in get else Decimal(1)
            namespace = self.string(get["namespace"]) if "namespace" in get else None
            namespace_range = (Decimal(0), Decimal(1))
            if "range" in get:
                namespace_range = self.share_range(get["range"])
                if namespace is None:
                    self.error("dsl.attr.invalid", "`range` is a share of a `namespace`; name the namespace", get["range"].key_span)
            variants: list[Variant] = []
            for vb in self._unique("variant", list(block.blocks("variant"))):
                vfound = self.block_attrs(vb, BLOCKS["variant"])
                vget = {k: v[0] for k, v in vfound.items()}
                strategy = self.ref(vget["strategy"], "strategy", strategies) if "strategy" in vget else None
                weight = self.integer(vget["weight"]) if "weight" in vget else None
                if strategy and scene and strategies[strategy].scene != scene:
                    self.error("dsl.scene.strategy", f"strategy `{strategy}` serves scene `{strategies[strategy].scene}`, not `{scene}`",
                               vget["strategy"].value.span)
                if weight is not None and weight <= 0:
                    self.error("dsl.attr.invalid", "a variant's weight must be above 0", vget["weight"].value.span)
                if strategy and weight:
                    variants.append(Variant(vb.name, strategy, weight, vb.span))
            experiments[block.name] = Experiment(
                name=block.name,
                scene=scene or "",
                unit=unit,
                seed=(self.string(get["seed"]) if "seed" in get else None) or block.name,
                traffic=traffic if traffic is not None else Decimal(1),
                namespace=namespace,
                namespace_range=namespace_range,
                status=(self.symbol(get["status"], ("draft", "running", "stopped")) if "status" in get else None) or "draft",
                variants=tuple(variants),
                span=block.span,
            )
        return experiments

    def unit_tag(self, attr: n.Attr) -> str:
        value = attr.value
        if isinstance(value, n.Name) and value.dotted in self.tags:
            if not t.is_stringlike(self.tags[value.dotted].type) and self.tags[value.dotted].type != t.INT:
                self.error("dsl.attr.invalid", "`unit` must be a string or int tag", value.span)
            return value.dotted
        if isinstance(value, n.Name) and len(value.parts) == 2:
            self.ex._unknown_tag(value, value.dotted)
        else:
            self.error("dsl.attr.invalid", "`unit` takes a tag such as user.id", value.span)
        return ""

    def share(self, attr: n.Attr) -> Decimal | None:
        value = self.decimal(attr)
        if value is not None and not Decimal(0) <= value <= Decimal(1):
            self.error("dsl.attr.invalid", f"`{attr.key}` is a share between 0% and 100%", attr.value.span)
            return None
        return value

    def share_range(self, attr: n.Attr) -> tuple[Decimal, Decimal]:
        value = attr.value
        if isinstance(value, n.ListLit) and len(value.items) == 2:
            low, high = value.items
            if isinstance(low, n.DecimalLit | n.IntLit) and isinstance(high, n.DecimalLit | n.IntLit):
                start, end = Decimal(low.value), Decimal(high.value)
                if Decimal(0) <= start < end <= Decimal(1):
                    return (start, end)
        self.error("dsl.attr.invalid", "`range` takes two shares, start below end, e.g. [0%, 50%]", value.span)
        return (Decimal(0), Decimal(1))

    def _holdouts(self, blocks: list[n.Block]) -> dict[str, Holdout]:
        holdouts: dict[str, Holdout] = {}
        for block in blocks:
            found = self.block_attrs(block, BLOCKS["holdout"])
            get = {k: v[0] for k, v in found.items()}
            holdouts[block.name] = Holdout(
                name=block.name,
                unit=self.unit_tag(get["unit"]) if "unit" in get else "",
                seed=(self.string(get["seed"]) if "seed" in get else None) or block.name,
                traffic=(self.share(get["traffic"]) if "traffic" in get else None) or Decimal(0),
                span=block.span,
            )
        return holdouts

    def _promotions(self, blocks: list[n.Block]) -> dict[str, Promotion]:
        promotions: dict[str, Promotion] = {}
        spec = BLOCKS["promotion"]
        for block in blocks:
            found = self.block_attrs(block, spec)
            for key, attrs in found.items():
                kind = spec.attrs[key].kind
                for attr in attrs:
                    if kind == "condition":
                        self.ex.check(attr.value, t.BOOL, f"the `{key}` of promotion `{block.name}`")
                    elif kind == "expr":
                        self.ex.check(attr.value, None, f"the `{key}` of promotion `{block.name}`")
                    elif kind == "symbol":
                        self.symbol(attr, spec.attrs[key].choices)
                    elif kind == "int":
                        self.integer(attr)
                    elif kind == "decimal":
                        self.decimal(attr)
                    elif kind == "datetime":
                        self.moment(attr)
                    elif kind == "string":
                        self.string(attr)
                    elif kind == "names":
                        self.names(attr)
            promotions[block.name] = Promotion(block.name, block, block.span)
        return promotions

    def _tests(self, blocks: list[n.Block], scenes: Mapping[str, Scene], strategies: Mapping[str, Strategy]) -> list[TestCase]:
        tests: list[TestCase] = []
        for block in blocks:
            found = self.block_attrs(block, BLOCKS["test"])
            get = {k: v[0] for k, v in found.items()}
            scene = self.ref(get["scene"], "scene", scenes) if "scene" in get else None
            strategy = self.ref(get["strategy"], "strategy", strategies) if "strategy" in get else None
            if strategy and scene and strategies[strategy].scene != scene:
                self.error("dsl.scene.strategy", f"strategy `{strategy}` serves scene `{strategies[strategy].scene}`, not `{scene}`",
                           get["strategy"].value.span)
                strategy = None
            now = self.moment(get["now"]) if "now" in get else None
            given: dict[str, Any] = {}
            if "given" in get:
                given = self._given(get["given"])
            expect: list[n.Call] = []
            for attr in found.get("expect", []):
                if isinstance(attr.value, n.ListLit) and not attr.value.items:
                    continue
                for call, reads in self.effect_list([attr], "expect"):
                    if reads:
                        self.error("dsl.test.expect", "expected effects are written with literal values", reads[0].span)
                    expect.append(call)
            if scene is None:
                continue
            tests.append(TestCase(block.name, scene, strategy, now, given, tuple(expect), block.span))
        return tests

    def _given(self, attr: n.Attr) -> dict[str, Any]:
        if not isinstance(attr.value, n.RecordLit):
            self.error("dsl.attr.invalid", "`given` takes a record: { user: { ... }, order: { ... } }", attr.value.span)
            return {}
        value = literal_value(attr.value)
        if value is MISSING:
            self.error("dsl.attr.invalid", "`given` holds literal values only", attr.value.span)
            return {}
        for ns_name, ns_value in attr.value.fields:
            if ns_name not in self.ex.namespaces:
                self.error("dsl.tag.unknown", f"unknown tag namespace `{ns_name}`", ns_value.span,
                           did_you_mean(ns_name, sorted(self.ex.namespaces)))
                continue
            if isinstance(ns_value, n.RecordLit):
                for tag_name, tag_value in ns_value.fields:
                    path = f"{ns_name}.{tag_name}"
                    if path not in self.tags:
                        self.error("dsl.tag.unknown", f"unknown tag `{path}`", tag_value.span,
                                   did_you_mean(path, sorted(self.tags)))
        try:
            prepare(value, self.tags)
        except ArbiterError as exc:
            self.error("dsl.test.given", f"the context does not fit the tag catalog: {exc}", attr.value.span)
        return dict(value)


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


__all__ = [
    "CheckResult",
    "check_paths",
    "check_sources",
    "literal_value",
    "read_sources",
    "rule_files",
]
