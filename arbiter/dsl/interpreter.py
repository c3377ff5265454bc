"""The reference interpreter: walks a checked expression over a prepared context.

It is the oracle for the compiler (a property test asserts both agree on every value) and the
slow path compiled code falls back to when a value is missing or an operation fails: it applies
tag defaults, and turns every failure into an EvaluationError that names the place in the rule
file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arbiter.dsl import nodes as n
from arbiter.dsl import runtime as rt
from arbiter.dsl.context import LISTS_KEY, NOW_KEY, VELOCITY_KEY
from arbiter.dsl.functions import FUNCTIONS
from arbiter.dsl.model import MISSING, Program
from arbiter.dsl.walk import feature_of


def evaluate(expr: n.Expr, ctx: Mapping[str, Any], program: Program) -> Any:
    """The value of `expr` in runtime form (money as Decimal); raises EvaluationError."""
    return _Interpreter(ctx, program).eval(expr, {})


class _Interpreter:
    def __init__(self, ctx: Mapping[str, Any], program: Program) -> None:
        self.ctx = ctx
        self.program = program

    def eval(self, e: n.Expr, env: dict[str, Any]) -> Any:
        try:
            return self._eval(e, env)
        except rt.EvaluationError:
            raise
        except ZeroDivisionError:
            raise rt.EvaluationError("division by zero", e.span, code="dsl.eval.division") from None
        except ArithmeticError:
            raise rt.EvaluationError("a number is out of range (too large or too precise)", e.span) from None
        except (TypeError, ValueError, KeyError) as exc:
            raise rt.EvaluationError(f"cannot evaluate: {exc}", e.span) from None

    def _eval(self, e: n.Expr, env: dict[str, Any]) -> Any:
        match e:
            case n.BoolLit() | n.IntLit() | n.StringLit() | n.DurationLit() | n.DateTimeLit():
                return e.value
            case n.DecimalLit():
                return e.value
            case n.MoneyLit():
                return e.amount
            case n.ListLit():
                return tuple(self.eval(i, env) for i in e.items)
            case n.RecordLit():
                return {k: self.eval(v, env) for k, v in e.fields}
            case n.Name():
                return self._name(e, env)
            case n.BoolOp(op="and"):
                return all(self.eval(o, env) for o in e.operands)
            case n.BoolOp():
                return any(self.eval(o, env) for o in e.operands)
            case n.Unary(op="not"):
                return not self.eval(e.operand, env)
            case n.Unary():
                return -self.eval(e.operand, env)
            case n.Binary():
                return self._binary(e, env)
            case n.Between():
                # Same order and short-circuit as Python's chained `low <= value <= high`.
                low = self.eval(e.low, env)
                value = self.eval(e.value, env)
                return low <= value and value <= self.eval(e.high, env)
            case n.Call():
                return self._call(e, env)
            case n.Quantifier():
                return self._quantifier(e, env)
            case n.Aggregate():
                return self._aggregate(e, env)
            case n.Velocity():
                reader = self.ctx.get(VELOCITY_KEY)
                if reader is None:
                    raise rt.EvaluationError("velocity features need a store, and none was given", e.span)
                return reader.read(feature_of(e, self.program.type_of(e)), self.eval(e.key, env))
        raise AssertionError(f"unhandled node {type(e).__name__}")  # pragma: no cover

    def _name(self, e: n.Name, env: dict[str, Any]) -> Any:
        head = e.parts[0]
        if head in env:
            value = env[head]
            for part in e.parts[1:]:
                if not isinstance(value, Mapping) or value.get(part) is None:
                    raise rt.MissingValue(f"`{head}` has no value for `{part}`", e.span)
                value = value[part]
            return value
        if len(e.parts) == 1:
            return self.eval(self.program.conditions[head].expr, {})
        tag = self.program.tags[f"{e.parts[0]}.{e.parts[1]}"]
        namespace = self.ctx.get(tag.namespace)
        value = namespace.get(tag.name) if isinstance(namespace, Mapping) else None
        if value is None:
            if tag.default is MISSING:
                raise rt.MissingValue(f"tag `{tag.path}` is missing and has no default", e.span)
            return tag.default
        return value

    def _binary(self, e: n.Binary, env: dict[str, Any]) -> Any:
        container = e.left if e.op == "contains" else e.right
        if e.op in ("in", "not in", "contains") and isinstance(container, n.Call) and container.name == "list":
            reader = self.ctx.get(LISTS_KEY)
            if reader is None:
                raise rt.EvaluationError("managed lists need a store, and none was given", e.span)
            name = container.args[0].value
            assert isinstance(name, n.StringLit)
            found = bool(reader.contains(name.value, self.eval(e.right if e.op == "contains" else e.left, env)))
            return not found if e.op == "not in" else found
        left = self.eval(e.left, env)
        right = self.eval(e.right, env)
        match e.op:
            case "==":
                return left == right
            case "!=":
                return left != right
            case "<":
                return left < right
            case "<=":
                return left <= right
            case ">":
                return left > right
            case ">=":
                return left >= right
            case "in":
                return left in right
            case "not in":
                return left not in right
            case "contains":
                return right in left
            case "+":
                return left + right
            case "-":
                return left - right
            case "*":
                return left * right
            case "/":
                return rt.div(left, right)
        raise AssertionError(e.op)  # pragma: no cover

    def _call(self, e: n.Call, env: dict[str, Any]) -> Any:
        fn = FUNCTIONS[e.name]
        args = [self.eval(a.value, env) for a in e.args]
        if fn.needs_now:
            now = self.ctx.get(NOW_KEY)
            if now is None:
                raise rt.EvaluationError(f"`{e.name}` needs the time of the decision, and none was given", e.span)
            args.insert(0, now)
        return fn.impl(*args)

    def _items(self, source: n.Expr, env: dict[str, Any]) -> Any:
        return self.eval(source, env)

    def _quantifier(self, e: n.Quantifier, env: dict[str, Any]) -> Any:
        items = self._items(e.source, env)
        if e.where is None:
            return len(items)
        where = e.where
        tests = (self.eval(where, {**env, e.var: item}) for item in items)
        if e.kind == "any":
            return any(tests)
        if e.kind == "all":
            return all(tests)
        return sum(1 for ok in tests if ok)

    def _aggregate(self, e: n.Aggregate, env: dict[str, Any]) -> Any:
        values = []
        for item in self._items(e.source, env):
            inner = {**env, e.var: item}
            if e.where is None or self.eval(e.where, inner):
                values.append(self.eval(e.value, inner))
        if e.kind == "sum":
            total: Any = rt.zero_of(self.program.type_of(e))
            for value in values:
                total = total + value
            return total
        if not values:
            raise rt.EvaluationError(f"`{e.kind}` over no items", e.span, code="dsl.eval.empty")
        return min(values) if e.kind == "min" else max(values)

