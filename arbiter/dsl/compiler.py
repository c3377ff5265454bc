"""Compiling: a checked program to an immutable, hashed Ruleset of Python functions.

Every `when` and every effect field becomes a Python function of a prepared context (see
`codegen.py` for how: Python `ast` built from the checked tree, never source text). Each
strategy also becomes ONE function that tests all its rules in priority order, so a decision
costs one call rather than one per rule.

Compiled code is the fast path and assumes every value it reads is present. When one is
missing, or an operation fails, that rule falls back to the reference interpreter, which
applies tag defaults and raises an EvaluationError naming the place in the rule file.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from arbiter.dsl import nodes as n
from arbiter.dsl import runtime as rt
from arbiter.dsl import types as t
from arbiter.dsl.checker import CheckResult, literal_value
from arbiter.dsl.codegen import FALLBACK, ExprBuilder, call, guarded, load, make_function, source_of
from arbiter.dsl.context import ContextShape
from arbiter.dsl.diagnostics import render_all
from arbiter.dsl.exprcheck import ExpressionChecker
from arbiter.dsl.gcpause import collector_paused
from arbiter.dsl.interpreter import evaluate
from arbiter.dsl.model import MISSING, Feature, Program, Promotion, Rule, Strategy
from arbiter.dsl.parser import parse_expression
from arbiter.errors import ArbiterError

_FALLBACK = FALLBACK  # kept for tests that run compiled code without its fallback


class CompileError(ArbiterError):
    """The program has errors; only a clean check compiles."""

    code = "dsl.compile.errors"


@dataclass(frozen=True, slots=True)
class CompiledExpr:
    """One expression as a function of a prepared context."""

    expr: n.Expr
    type: t.Type
    fn: Callable[[Mapping[str, Any]], Any]
    program: Program = field(repr=False, compare=False)  # whose types and tags it was checked with
    code: tuple[str, list[ast.stmt]] = field(repr=False, compare=False, default=("", []))

    def __call__(self, ctx: Mapping[str, Any]) -> Any:
        return self.fn(ctx)

    @property
    def source(self) -> str:
        """The generated Python, for reading and debugging only (built on demand)."""
        return source_of(*self.code)


@dataclass(frozen=True, slots=True)
class CompiledEffect:
    name: str
    fields: tuple[tuple[str, CompiledExpr], ...]
    constant: rt.EffectValue | None = None  # set when every field is a literal

    def evaluate(self, ctx: Mapping[str, Any]) -> rt.EffectValue:
        if self.constant is not None:
            return self.constant
        return rt.EffectValue(self.name, tuple((k, rt.output(f.fn(ctx), f.type)) for k, f in self.fields))


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule's effects; its condition lives in its strategy's function."""

    rule: Rule
    effects: tuple[CompiledEffect, ...]


@dataclass(frozen=True, slots=True)
class CompiledStrategy:
    """A strategy's rules (in priority order) and one function that tests them all:
    for `first`, `select(ctx)` is the index of the first match or -1; otherwise it is the list
    of indexes of every match, in order."""

    strategy: Strategy
    rules: tuple[CompiledRule, ...]
    select: Callable[[Mapping[str, Any]], Any]
    code: tuple[str, list[ast.stmt]] = field(repr=False, compare=False, default=("", []))

    @property
    def source(self) -> str:
        return source_of(*self.code)


@dataclass(frozen=True, slots=True)
class CompiledPromotion:
    """A promotion with its conditions compiled: `when` over the cart's context, `goods` over
    one line's context (its `line` and `goods` namespaces)."""

    promotion: Promotion
    when: CompiledExpr | None
    goods: CompiledExpr | None


@dataclass(frozen=True, slots=True)
class CompiledFeature:
    """A velocity feature with its key and measured value compiled, for recording events."""

    feature: Feature
    key: CompiledExpr
    measure: CompiledExpr | None


@dataclass(frozen=True)
class Ruleset:
    """A compiled program: immutable, identified by the hash of its sources."""

    program: Program
    hash: str
    conditions: Mapping[str, CompiledExpr]
    strategies: Mapping[str, CompiledStrategy]
    fallbacks: Mapping[str, tuple[CompiledEffect, ...]]  # scene -> fallback effects
    bands: Mapping[str, tuple[tuple[CompiledEffect, ...], ...]]  # strategy -> effects per band
    promotions: Mapping[str, CompiledPromotion]
    features: Mapping[str, CompiledFeature]
    _compiler: Compiler = field(repr=False, compare=False)
    _shape: ContextShape = field(repr=False, compare=False)

    @property
    def rules(self) -> dict[str, CompiledRule]:
        return {r.rule.id: r for s in self.strategies.values() for r in s.rules}

    def prepare(self, raw: Mapping[str, Any] | Any, *, now: datetime | None = None) -> dict[str, Any]:
        return self._shape.prepare(raw, now=now, fill_defaults=True)

    def compile_expression(self, text: str, *, file: str = "<expression>") -> CompiledExpr:
        """Check and compile a standalone expression against this ruleset's catalog."""
        return compile_expression(text, self.program, file=file, compiler=self._compiler)

    def effects_of(self, calls: tuple[n.Call, ...]) -> tuple[CompiledEffect, ...]:
        return tuple(self._compiler.effect(c) for c in calls)


def source_hash(sources: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(sources):
        digest.update(name.encode("utf-8") + b"\0" + sources[name].encode("utf-8") + b"\0")
    return digest.hexdigest()


def compile_program(result: CheckResult) -> Ruleset:
    """Compile a clean check result. Raises CompileError when it has errors."""
    if not result.ok:
        raise CompileError(f"the rules have {len(result.errors)} error(s); fix them before compiling")
    with collector_paused():
        return _compile(result.program)


def _compile(program: Program) -> Ruleset:
    compiler = Compiler(program)
    conditions = {name: compiler.expression(c.expr) for name, c in program.conditions.items()}
    strategies = {name: compiler.strategy(s) for name, s in program.strategies.items()}
    bands = {
        name: tuple(tuple(compiler.effect(c) for c in b.effects) for b in s.bands)
        for name, s in program.strategies.items()
    }
    fallbacks = {name: tuple(compiler.effect(c) for c in s.fallback) for name, s in program.scenes.items()}
    promotions = {
        name: CompiledPromotion(
            p,
            compiler.expression(p.when) if p.when is not None else None,
            compiler.expression(p.goods) if p.goods is not None else None,
        )
        for name, p in program.promotions.items()
    }
    features = {
        name: CompiledFeature(
            f, compiler.expression(f.key), compiler.expression(f.measure) if f.measure is not None else None
        )
        for name, f in program.features.items()
    }
    return Ruleset(
        program, source_hash(program.sources), conditions, strategies, fallbacks, bands, promotions, features,
        compiler, ContextShape(program.tags),
    )


def compile_expression(
    text: str, program: Program, *, file: str = "<expression>", compiler: Compiler | None = None
) -> CompiledExpr:
    """Parse, check and compile one expression (e.g. for `arbiter eval --expr` or a benchmark)."""
    expr, problems = parse_expression(text, file)
    if problems or expr is None:
        raise CompileError(render_all(problems, {file: text}) or "not an expression")
    diagnostics: list[Any] = []
    types = dict(program.types)
    conditions = {
        name: n.ConditionDecl(name, c.expr, c.span, c.span) for name, c in program.conditions.items()
    }
    checker = ExpressionChecker(program.tags, conditions, program.effects, diagnostics, types)
    checker.check(expr)
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        raise CompileError("; ".join(f"{d.code}: {d.message}" for d in errors))
    extended = Program(**{**{k: getattr(program, k) for k in program.__dataclass_fields__}, "types": types})
    return (compiler or Compiler(extended)).expression(expr, program=extended)


class Compiler:
    """Builds Python functions from checked expressions and strategies."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self._counter = itertools.count()

    def _name(self, kind: str) -> str:
        return f"_{kind}_{next(self._counter)}"

    def effect(self, call_: n.Call) -> CompiledEffect:
        effect = self.program.effects[call_.name]
        by_name = {a.name: a.value for a in call_.args}
        present = [key for key, _ in effect.params if key in by_name]
        if all(literal_value(by_name[key]) is not MISSING for key in present):
            # Literal fields: evaluate once now (no code to generate), not on every decision.
            values = tuple(
                (key, rt.output(evaluate(by_name[key], {}, self.program), self.program.type_of(by_name[key])))
                for key in present
            )
            return CompiledEffect(call_.name, (), rt.EffectValue(call_.name, values))
        return CompiledEffect(call_.name, tuple((key, self.expression(by_name[key])) for key in present))

    def expression(self, expr: n.Expr, *, program: Program | None = None, fallback: bool = True) -> CompiledExpr:
        """`fallback=False` leaves out the interpreter fallback: only the differential test
        wants that, to exercise the compiled path on its own."""
        program = program or self.program
        builder = ExprBuilder(program)
        body: list[ast.stmt] = [ast.Return(value=builder.build(expr, depth=0))]
        if fallback:
            body = [guarded(body, [ast.Return(value=call(load("_slow"), load("c")))])]
        name = self._name("expr")
        namespace = {**builder.globals, "_slow": partial(_interpret, expr, program)}
        fn = make_function(name, body, namespace, f"<rules:{expr.span.file}:{expr.span.line}>")
        return CompiledExpr(expr, program.type_of(expr), fn, program, (name, body))

    def strategy(self, strategy: Strategy) -> CompiledStrategy:
        rules = tuple(CompiledRule(rule, tuple(self.effect(c) for c in rule.effects)) for rule in strategy.rules)
        builder = ExprBuilder(self.program)
        slow: list[Callable[[Mapping[str, Any]], Any]] = []
        body: list[ast.stmt] = []
        first = strategy.hit == "first"
        if not first:
            body.append(ast.Assign(targets=[ast.Name(id="m", ctx=ast.Store())], value=ast.List(elts=[], ctx=ast.Load())))
        for index, rule in enumerate(strategy.rules):
            hit: list[ast.stmt] = (
                [ast.Return(value=ast.Constant(value=index))]
                if first
                else [ast.Expr(value=call(ast.Attribute(value=load("m"), attr="append", ctx=ast.Load()), ast.Constant(value=index)))]
            )
            if rule.when is None:
                body.extend(hit)
                continue
            slow.append(partial(_interpret, rule.when, self.program))
            fallback_test = call(ast.Subscript(value=load("_slow"), slice=ast.Constant(value=len(slow) - 1), ctx=ast.Load()), load("c"))
            body.append(guarded(
                [ast.If(test=builder.build(rule.when, depth=0), body=hit, orelse=[])],
                [ast.If(test=fallback_test, body=list(hit), orelse=[])],
            ))
        body.append(ast.Return(value=ast.Constant(value=-1) if first else load("m")))
        name = self._name("strategy")
        namespace = {**builder.globals, "_slow": tuple(slow)}
        fn = make_function(name, body, namespace, f"<rules:{strategy.span.file}:{strategy.name}>")
        return CompiledStrategy(strategy, rules, fn, (name, body))


def _interpret(expr: n.Expr, program: Program, ctx: Mapping[str, Any]) -> Any:
    return evaluate(expr, ctx, program)
