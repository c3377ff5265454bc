"""Compiling: a checked program to an immutable, hashed Ruleset of Python functions.

Each expression becomes a Python `ast` built node by node from the checked tree and compiled
with `compile()`; the function object is made from the resulting code object directly. Operator
text never becomes Python source: tag and field names travel only as string constants, loop
variables get generated names, literals are constants, and the functions run with no builtins
but the few helpers they are handed.

Compiled code is the fast path and assumes every value it reads is present. When one is
missing, or an operation fails, the function falls back to the reference interpreter, which
applies tag defaults and raises an EvaluationError naming the place in the rule file.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import CodeType, FunctionType
from typing import Any

from arbiter.dsl import nodes as n
from arbiter.dsl import runtime as rt
from arbiter.dsl import types as t
from arbiter.dsl.checker import CheckResult
from arbiter.dsl.context import NOW_KEY, prepare
from arbiter.dsl.diagnostics import render_all
from arbiter.dsl.exprcheck import ExpressionChecker
from arbiter.dsl.functions import FUNCTIONS
from arbiter.dsl.interpreter import evaluate
from arbiter.dsl.model import Program, Rule
from arbiter.dsl.parser import parse_expression
from arbiter.errors import ArbiterError

# Failures that send compiled code to the interpreter, which reports them precisely.
_FALLBACK = (KeyError, TypeError, ArithmeticError, ValueError, AttributeError, IndexError)

_COMPARE_OPS: dict[str, type[ast.cmpop]] = {
    "==": ast.Eq,
    "!=": ast.NotEq,
    "<": ast.Lt,
    "<=": ast.LtE,
    ">": ast.Gt,
    ">=": ast.GtE,
    "in": ast.In,
    "not in": ast.NotIn,
}
# Python 3.12 added type parameters to function definitions; 3.11 has no such field.
_TYPE_PARAMS: dict[str, Any] = {"type_params": []} if sys.version_info >= (3, 12) else {}

_ARITH_OPS: dict[str, type[ast.operator]] = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult}


class CompileError(ArbiterError):
    """The program has errors; only a clean check compiles."""

    code = "dsl.compile.errors"


@dataclass(frozen=True, slots=True)
class CompiledExpr:
    """One expression as a function of a prepared context."""

    expr: n.Expr
    type: t.Type
    fn: Callable[[Mapping[str, Any]], Any]
    source: str  # the generated Python, for reading and debugging only
    program: Program = field(repr=False, compare=False)  # whose types and tags it was checked with

    def __call__(self, ctx: Mapping[str, Any]) -> Any:
        return self.fn(ctx)


@dataclass(frozen=True, slots=True)
class CompiledEffect:
    name: str
    fields: tuple[tuple[str, CompiledExpr], ...]

    def evaluate(self, ctx: Mapping[str, Any]) -> rt.EffectValue:
        return rt.EffectValue(self.name, tuple((k, rt.output(f.fn(ctx), f.type)) for k, f in self.fields))


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    when: CompiledExpr | None
    effects: tuple[CompiledEffect, ...]

    def matches(self, ctx: Mapping[str, Any]) -> bool:
        return True if self.when is None else bool(self.when.fn(ctx))


@dataclass(frozen=True)
class Ruleset:
    """A compiled program: immutable, identified by the hash of its sources."""

    program: Program
    hash: str
    conditions: Mapping[str, CompiledExpr]
    rules: Mapping[str, CompiledRule]  # by rule id (strategy.rule)
    fallbacks: Mapping[str, tuple[CompiledEffect, ...]]  # scene -> fallback effects
    bands: Mapping[str, tuple[tuple[CompiledEffect, ...], ...]]  # strategy -> effects per band
    _compiler: Compiler = field(repr=False, compare=False)

    def prepare(self, raw: Mapping[str, Any] | Any, *, now: datetime | None = None) -> dict[str, Any]:
        return prepare(raw, self.program.tags, now=now, fill_defaults=True)

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
    program = result.program
    compiler = Compiler(program)
    conditions = {name: compiler.expression(c.expr) for name, c in program.conditions.items()}
    rules: dict[str, CompiledRule] = {}
    bands: dict[str, tuple[tuple[CompiledEffect, ...], ...]] = {}
    for strategy in program.strategies.values():
        for rule in strategy.rules:
            when = compiler.expression(rule.when) if rule.when is not None else None
            rules[rule.id] = CompiledRule(rule, when, tuple(compiler.effect(c) for c in rule.effects))
        bands[strategy.name] = tuple(tuple(compiler.effect(c) for c in b.effects) for b in strategy.bands)
    fallbacks = {name: tuple(compiler.effect(c) for c in s.fallback) for name, s in program.scenes.items()}
    return Ruleset(program, source_hash(program.sources), conditions, rules, fallbacks, bands, compiler)


def compile_expression(
    text: str, program: Program, *, file: str = "<expression>", compiler: Compiler | None = None
) -> CompiledExpr:
    """Parse, check and compile one expression (e.g. for `arbiter eval` or a benchmark)."""
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
    """Builds Python functions from checked expressions."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self._counter = itertools.count()

    def effect(self, call: n.Call) -> CompiledEffect:
        effect = self.program.effects[call.name]
        by_name = {a.name: a.value for a in call.args}
        fields = tuple((key, self.expression(by_name[key])) for key, _ in effect.params if key in by_name)
        return CompiledEffect(call.name, fields)

    def expression(self, expr: n.Expr, *, program: Program | None = None, fallback: bool = True) -> CompiledExpr:
        """`fallback=False` leaves out the interpreter fallback: only the differential test
        wants that, to exercise the compiled path on its own."""
        program = program or self.program
        builder = _Builder(program)
        body = builder.build(expr, depth=0)
        name = f"_rule_expr_{next(self._counter)}"
        statements: list[ast.stmt] = [ast.Return(value=body)]
        if fallback:
            statements = [
                ast.Try(
                    body=statements,
                    handlers=[
                        ast.ExceptHandler(
                            type=ast.Name(id="_FALLBACK", ctx=ast.Load()),
                            name=None,
                            body=[ast.Return(value=ast.Call(
                                func=ast.Name(id="_slow", ctx=ast.Load()),
                                args=[ast.Name(id="c", ctx=ast.Load())], keywords=[]))],
                        )
                    ],
                    orelse=[],
                    finalbody=[],
                )
            ]
        function = ast.FunctionDef(
            name=name,
            args=ast.arguments(
                posonlyargs=[], args=[ast.arg(arg="c")], vararg=None, kwonlyargs=[], kw_defaults=[],
                kwarg=None, defaults=[],
            ),
            body=statements,
            decorator_list=[],
            returns=None,
            **_TYPE_PARAMS,
        )
        module = ast.Module(body=[function], type_ignores=[])
        ast.fix_missing_locations(module)
        code = compile(module, filename=f"<rules:{expr.span.file}:{expr.span.line}>", mode="exec")
        fn_code = next(c for c in code.co_consts if isinstance(c, CodeType) and c.co_name == name)

        def slow(ctx: Mapping[str, Any]) -> Any:
            return evaluate(expr, ctx, program)

        namespace: dict[str, Any] = {"__builtins__": {}, "_FALLBACK": _FALLBACK, "_slow": slow, **builder.globals}
        fn = FunctionType(fn_code, namespace, name)
        return CompiledExpr(expr, program.type_of(expr), fn, ast.unparse(function), program)


class _Builder:
    """Checked expression to a Python expression AST."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.globals: dict[str, Any] = {
            "_any": any, "_all": all, "_sum": sum, "_len": len, "_min": min, "_max": max,
            "_div": rt.div,
        }
        self._constants: dict[tuple[type, str], str] = {}

    def const(self, value: Any) -> ast.expr:
        if isinstance(value, bool | int | str) or value is None:
            return ast.Constant(value=value)
        key = (type(value), repr(value))
        name = self._constants.get(key)
        if name is None:
            name = f"_k{len(self._constants)}"
            self._constants[key] = name
            self.globals[name] = value
        return ast.Name(id=name, ctx=ast.Load())

    def helper(self, name: str) -> ast.expr:
        return ast.Name(id=name, ctx=ast.Load())

    def build(self, e: n.Expr, depth: int, env: Mapping[str, str] | None = None) -> ast.expr:
        env = env or {}
        match e:
            case n.BoolLit() | n.IntLit() | n.StringLit():
                return ast.Constant(value=e.value)
            case n.DecimalLit() | n.DurationLit() | n.DateTimeLit():
                return self.const(e.value)
            case n.MoneyLit():
                return self.const(e.amount)
            case n.ListLit():
                return ast.Tuple(elts=[self.build(i, depth, env) for i in e.items], ctx=ast.Load())
            case n.RecordLit():
                return ast.Dict(
                    keys=[ast.Constant(value=k) for k, _ in e.fields],
                    values=[self.build(v, depth, env) for _, v in e.fields],
                )
            case n.Name():
                return self._name(e, depth, env)
            case n.BoolOp():
                op = ast.And() if e.op == "and" else ast.Or()
                return ast.BoolOp(op=op, values=[self.build(o, depth, env) for o in e.operands])
            case n.Unary():
                op_u = ast.Not() if e.op == "not" else ast.USub()
                return ast.UnaryOp(op=op_u, operand=self.build(e.operand, depth, env))
            case n.Binary():
                return self._binary(e, depth, env)
            case n.Between():
                return ast.Compare(
                    left=self.build(e.low, depth, env),
                    ops=[ast.LtE(), ast.LtE()],
                    comparators=[self.build(e.value, depth, env), self.build(e.high, depth, env)],
                )
            case n.Call():
                fn = FUNCTIONS[e.name]
                args = [self.build(a.value, depth, env) for a in e.args]
                if fn.needs_now:
                    args.insert(0, self._subscript(ast.Name(id="c", ctx=ast.Load()), NOW_KEY))
                return ast.Call(func=self.const_fn(e.name, fn.impl), args=args, keywords=[])
            case n.Quantifier():
                return self._quantifier(e, depth, env)
            case n.Aggregate():
                return self._aggregate(e, depth, env)
        raise AssertionError(f"unhandled node {type(e).__name__}")  # pragma: no cover

    def const_fn(self, name: str, impl: Callable[..., Any]) -> ast.expr:
        key = f"_fn_{name}"
        self.globals[key] = impl
        return ast.Name(id=key, ctx=ast.Load())

    @staticmethod
    def _subscript(value: ast.expr, key: str) -> ast.expr:
        return ast.Subscript(value=value, slice=ast.Constant(value=key), ctx=ast.Load())

    def _name(self, e: n.Name, depth: int, env: Mapping[str, str]) -> ast.expr:
        head = e.parts[0]
        if head in env:
            node: ast.expr = ast.Name(id=env[head], ctx=ast.Load())
            for part in e.parts[1:]:
                node = self._subscript(node, part)
            return node
        if len(e.parts) == 1:
            # A named condition: inlined, in its own (empty) variable scope.
            return self.build(self.program.conditions[head].expr, depth, {})
        ctx = ast.Name(id="c", ctx=ast.Load())
        return self._subscript(self._subscript(ctx, e.parts[0]), e.parts[1])

    def _binary(self, e: n.Binary, depth: int, env: Mapping[str, str]) -> ast.expr:
        if e.op == "/":
            return ast.Call(
                func=self.helper("_div"),
                args=[self.build(e.left, depth, env), self.build(e.right, depth, env)],
                keywords=[],
            )
        if e.op in _ARITH_OPS:
            return ast.BinOp(left=self.build(e.left, depth, env), op=_ARITH_OPS[e.op](), right=self.build(e.right, depth, env))
        if e.op == "contains":
            return ast.Compare(left=self.build(e.right, depth, env), ops=[ast.In()], comparators=[self.build(e.left, depth, env)])
        right: ast.expr
        if e.op in ("in", "not in") and isinstance(e.right, n.ListLit) and e.right.items and all(
            isinstance(i, n.IntLit | n.StringLit | n.DecimalLit | n.MoneyLit) for i in e.right.items
        ):
            # A literal list is a frozenset constant: one hash lookup however long the list.
            values = frozenset(i.amount if isinstance(i, n.MoneyLit) else i.value for i in e.right.items)  # type: ignore[union-attr]
            right = self.const(values)
        else:
            right = self.build(e.right, depth, env)
        return ast.Compare(left=self.build(e.left, depth, env), ops=[_COMPARE_OPS[e.op]()], comparators=[right])

    def _loop(self, var: str, source: n.Expr, depth: int, env: Mapping[str, str]) -> tuple[str, dict[str, str], ast.comprehension]:
        local = f"_v{depth}"
        inner = {**env, var: local}
        comp = ast.comprehension(
            target=ast.Name(id=local, ctx=ast.Store()),
            iter=self.build(source, depth, env),
            ifs=[],
            is_async=0,
        )
        return local, inner, comp

    def _quantifier(self, e: n.Quantifier, depth: int, env: Mapping[str, str]) -> ast.expr:
        if e.where is None:
            return ast.Call(func=self.helper("_len"), args=[self.build(e.source, depth, env)], keywords=[])
        _, inner, comp = self._loop(e.var, e.source, depth, env)
        test = self.build(e.where, depth + 1, inner)
        if e.kind == "count":
            comp.ifs = [test]
            gen = ast.GeneratorExp(elt=ast.Constant(value=1), generators=[comp])
            return ast.Call(func=self.helper("_sum"), args=[gen], keywords=[])
        gen = ast.GeneratorExp(elt=test, generators=[comp])
        return ast.Call(func=self.helper("_any" if e.kind == "any" else "_all"), args=[gen], keywords=[])

    def _aggregate(self, e: n.Aggregate, depth: int, env: Mapping[str, str]) -> ast.expr:
        _, inner, comp = self._loop(e.var, e.source, depth, env)
        if e.where is not None:
            comp.ifs = [self.build(e.where, depth + 1, inner)]
        gen = ast.GeneratorExp(elt=self.build(e.value, depth + 1, inner), generators=[comp])
        if e.kind == "sum":
            zero = rt.zero_of(self.program.type_of(e))
            return ast.Call(func=self.helper("_sum"), args=[gen, self.const(zero)], keywords=[])
        return ast.Call(func=self.helper("_min" if e.kind == "min" else "_max"), args=[gen], keywords=[])
