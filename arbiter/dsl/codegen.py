"""Code generation: checked expressions to Python `ast`, and `ast` to function objects.

Operator text never becomes Python source: tag and field names travel only as string
constants, loop variables get generated names (`_v0`, `_v1`), literals that are not plain
ints, strings or bools become named constants in the function's globals, and the functions
run with no builtins but the helpers they are handed. A function object is made directly from
the compiled code object; nothing is `exec`-ed.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Mapping
from types import CodeType, FunctionType
from typing import Any

from arbiter.dsl import nodes as n
from arbiter.dsl import runtime as rt
from arbiter.dsl.context import LISTS_KEY, NOW_KEY, VELOCITY_KEY
from arbiter.dsl.functions import FUNCTIONS
from arbiter.dsl.model import Program
from arbiter.dsl.walk import feature_of

# Failures that send compiled code to the interpreter, which reports them precisely.
FALLBACK = (KeyError, TypeError, ArithmeticError, ValueError, AttributeError, IndexError)

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
_ARITH_OPS: dict[str, type[ast.operator]] = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult}
# Python 3.12 added type parameters to function definitions; 3.11 has no such field.
_TYPE_PARAMS: dict[str, Any] = {"type_params": []} if sys.version_info >= (3, 12) else {}


def load(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def call(func: ast.expr, *args: ast.expr) -> ast.Call:
    return ast.Call(func=func, args=list(args), keywords=[])


def guarded(body: list[ast.stmt], on_failure: list[ast.stmt]) -> ast.Try:
    """`try: body except FALLBACK: on_failure` — free in Python 3.11 when nothing raises."""
    return ast.Try(
        body=body,
        handlers=[ast.ExceptHandler(type=load("_FALLBACK"), name=None, body=on_failure)],
        orelse=[],
        finalbody=[],
    )


def make_function(name: str, body: list[ast.stmt], namespace: dict[str, Any], filename: str) -> Callable[..., Any]:
    """A function `name(c)` with the given body, its globals limited to `namespace`."""
    definition = ast.FunctionDef(
        name=name,
        args=ast.arguments(
            posonlyargs=[], args=[ast.arg(arg="c")], vararg=None, kwonlyargs=[], kw_defaults=[],
            kwarg=None, defaults=[],
        ),
        body=body,
        decorator_list=[],
        returns=None,
        **_TYPE_PARAMS,
    )
    module = ast.Module(body=[definition], type_ignores=[])
    _locate(module)
    code = compile(module, filename=filename, mode="exec")
    fn_code = next(c for c in code.co_consts if isinstance(c, CodeType) and c.co_name == name)
    return FunctionType(fn_code, {"__builtins__": {}, "_FALLBACK": FALLBACK, **namespace}, name)


def _locate(root: ast.AST) -> None:
    """Give every node line 1: the generated code has no lines of its own, and this is the
    cheapest way to satisfy `compile()` (ast.fix_missing_locations is several times slower)."""
    stack = [root]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        node = pop()
        if "lineno" in node._attributes:
            node.lineno = node.end_lineno = 1  # type: ignore[attr-defined]
            node.col_offset = node.end_col_offset = 0  # type: ignore[attr-defined]
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                extend(v for v in value if isinstance(v, ast.AST))
            elif isinstance(value, ast.AST):
                push(value)


def source_of(name: str, body: list[ast.stmt]) -> str:
    if not name:
        return ""
    definition = ast.FunctionDef(
        name=name,
        args=ast.arguments(posonlyargs=[], args=[ast.arg(arg="c")], vararg=None, kwonlyargs=[],
                           kw_defaults=[], kwarg=None, defaults=[]),
        body=body, decorator_list=[], returns=None, **_TYPE_PARAMS,
    )
    _locate(definition)
    return ast.unparse(definition)


class ExprBuilder:
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
            case n.Velocity():
                feature = feature_of(e, self.program.type_of(e))
                reader = self._subscript(ast.Name(id="c", ctx=ast.Load()), VELOCITY_KEY)
                method = ast.Attribute(value=reader, attr="read", ctx=ast.Load())
                return call(method, self.const(feature), self.build(e.key, depth, env))
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
        managed = self._managed_list(e, depth, env)
        if managed is not None:
            return managed
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

    def _managed_list(self, e: n.Binary, depth: int, env: Mapping[str, str]) -> ast.expr | None:
        """`x in list("name")` looks the value up in the managed list through the context."""
        if e.op not in ("in", "not in", "contains"):
            return None
        container, item = (e.left, e.right) if e.op == "contains" else (e.right, e.left)
        if not (isinstance(container, n.Call) and container.name == "list"):
            return None
        name = container.args[0].value
        assert isinstance(name, n.StringLit)
        reader = self._subscript(ast.Name(id="c", ctx=ast.Load()), LISTS_KEY)
        lookup = call(ast.Attribute(value=reader, attr="contains", ctx=ast.Load()),
                      ast.Constant(value=name.value), self.build(item, depth, env))
        return ast.UnaryOp(op=ast.Not(), operand=lookup) if e.op == "not in" else lookup

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
