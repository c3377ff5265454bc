"""Type checking of expressions: every name resolved, every operator typed, every problem a
diagnostic.

The checker records each expression's type (by node identity) for the compiler and collects
the tags an expression reads, directly or through named conditions, so the declaration checker
can enforce scene scopes. An expression that fails to type gets `UNKNOWN`, which matches
anything, so one mistake yields one diagnostic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from arbiter.dsl import nodes as n
from arbiter.dsl import types as t
from arbiter.dsl.diagnostics import Diagnostic, Severity
from arbiter.dsl.functions import FUNCTIONS
from arbiter.dsl.model import Effect, Feature, Tag
from arbiter.dsl.operators import (
    EQUALITY,
    ORDERING,
    OperatorTyping,
    describe,
    is_number_literal,
)
from arbiter.dsl.schema import EVENTS, NAMESPACES
from arbiter.dsl.suggest import did_you_mean, suggest
from arbiter.dsl.walk import children, feature_of

# Static bound on the work one expression may do: each quantifier over a context list
# multiplies the cost of its body by the longest list the context may carry.
MAX_COST = 1_000_000
LIST_COST = t.MAX_CONTEXT_LIST


@dataclass(frozen=True, slots=True)
class Read:
    """A tag read by an expression, at `span`; `via` names the condition it came through."""

    tag: Tag
    span: n.Span
    via: str | None


class ExpressionChecker(OperatorTyping):
    def __init__(
        self,
        tags: Mapping[str, Tag],
        conditions: Mapping[str, n.ConditionDecl],
        effects: Mapping[str, Effect],
        diagnostics: list[Diagnostic],
        types: dict[int, t.Type],
    ) -> None:
        self.tags = tags
        self.namespaces = {tag.namespace for tag in tags.values()}
        self.conditions = conditions
        self.effects = effects
        self.diagnostics = diagnostics
        self.types = types
        self.condition_types: dict[str, t.Type] = {}
        self.condition_reads: dict[str, tuple[Read, ...]] = {}
        self.condition_costs: dict[str, int] = {}
        self.features: dict[str, Feature] = {}
        self._visiting: list[str] = []
        self._reads: list[Read] = []
        self._vars: dict[str, t.Type] = {}
        self._cost = 0

    # ------------------------------------------------------------------ entry points
    def check(self, expr: n.Expr, expected: t.Type | None = None, what: str = "the expression") -> tuple[t.Type, tuple[Read, ...]]:
        """Type one top-level expression; returns its type and the tags it reads."""
        saved = (self._reads, self._vars, self._cost)
        self._reads, self._vars, self._cost = [], {}, 0
        try:
            found = self._expr(expr)
            cost = self._cost_of(expr)
            if cost > MAX_COST:
                self._error(
                    "dsl.limit.cost",
                    f"{what} may take up to {cost:,} steps to evaluate; the limit is {MAX_COST:,}",
                    expr.span,
                    "avoid nesting quantifiers over lists inside one another",
                )
            if expected is not None and found != t.UNKNOWN and not self.assignable(expected, found, expr):
                if expected == t.BOOL:
                    self._error(
                        "dsl.type.mismatch",
                        f"{what} must be true or false, but this is {describe(found)}",
                        expr.span,
                        "compare it with something, e.g. `user.level >= 3`",
                    )
                else:
                    self._error(
                        "dsl.type.mismatch",
                        f"{what} must be {describe(expected)}, but this is {describe(found)}",
                        expr.span,
                        None,
                    )
            return found, tuple(self._reads)
        finally:
            self._reads, self._vars, self._cost = saved

    def check_effect(self, call: n.Expr, where: str) -> tuple[Effect | None, tuple[Read, ...]]:
        """Check `call` as an effect (after `then`, `expect`, `fallback`)."""
        if not isinstance(call, n.Call):
            self._error(
                "dsl.effect.expected",
                f"{where} takes an effect such as show(content: \"...\"), not an expression",
                call.span,
                _effect_hint(self.effects),
            )
            return None, ()
        effect = self.effects.get(call.name)
        if effect is None:
            hint = did_you_mean(call.name, sorted(self.effects)) or _effect_hint(self.effects)
            self._error("dsl.effect.unknown", f"unknown effect `{call.name}`", call.name_span, hint)
            return None, ()
        saved = (self._reads, self._vars)
        self._reads, self._vars = [], {}
        try:
            seen: set[str] = set()
            for arg in call.args:
                if arg.name is None:
                    self._error(
                        "dsl.effect.positional",
                        f"effect `{call.name}` takes named fields",
                        arg.span,
                        f"write {call.name}(" + ", ".join(f"{k}: ..." for k, _ in effect.params) + ")",
                    )
                    self._expr(arg.value)
                    continue
                param = effect.param(arg.name)
                if param is None:
                    fields = ", ".join(k for k, _ in effect.params) or "none"
                    self._error(
                        "dsl.effect.field",
                        f"effect `{call.name}` has no field `{arg.name}` (its fields: {fields})",
                        arg.span,
                        did_you_mean(arg.name, [k for k, _ in effect.params]),
                    )
                    self._expr(arg.value)
                    continue
                if arg.name in seen:
                    self._error("dsl.effect.field", f"field `{arg.name}` is given twice", arg.span, None)
                seen.add(arg.name)
                found = self._expr(arg.value)
                if found != t.UNKNOWN and not self.assignable(param, found, arg.value):
                    self._error(
                        "dsl.type.mismatch",
                        f"field `{arg.name}` of effect `{call.name}` is {describe(param)}, but this is {describe(found)}",
                        arg.value.span,
                        _literal_hint(param, arg.value),
                    )
            missing = [k for k, _ in effect.params if k not in seen]
            if missing:
                self._error(
                    "dsl.effect.field_missing",
                    f"effect `{call.name}` is missing {', '.join(f'`{m}`' for m in missing)}",
                    call.span,
                    None,
                )
            return effect, tuple(self._reads)
        finally:
            self._reads, self._vars = saved

    # ------------------------------------------------------------------ helpers
    def _error(self, code: str, message: str, span: n.Span, hint: str | None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, Severity.ERROR, hint))

    def _record(self, node: n.Expr, type_: t.Type) -> t.Type:
        self.types[id(node)] = type_
        return type_

    def assignable(self, target: t.Type, found: t.Type, node: n.Expr) -> bool:
        if found == t.UNKNOWN or target == t.UNKNOWN or target == found:
            return True
        if target == t.DECIMAL and found == t.INT:
            return True
        if isinstance(target, t.MoneyType):
            return (isinstance(found, t.MoneyType) and found.currency == target.currency) or (
                found in (t.INT, t.DECIMAL) and is_number_literal(node)
            )
        if isinstance(target, t.EnumType):
            if isinstance(node, n.StringLit):
                return node.value in target.values
            return isinstance(found, t.EnumType) and set(found.values) <= set(target.values)
        if target == t.STRING:
            return t.is_stringlike(found)
        if target == t.SET:
            return isinstance(found, t.ListType) and (found.item == t.UNKNOWN or t.is_stringlike(found.item))
        if isinstance(target, t.ListType) and isinstance(found, t.ListType):
            if found.item == t.UNKNOWN:
                return True
            if isinstance(node, n.ListLit):
                return all(self.assignable(target.item, self.types.get(id(i), t.UNKNOWN), i) for i in node.items)
            return self.assignable(target.item, found.item, node)
        return False

    # ------------------------------------------------------------------ expressions
    def _expr(self, e: n.Expr) -> t.Type:
        match e:
            case n.BoolLit():
                return self._record(e, t.BOOL)
            case n.IntLit():
                return self._record(e, t.INT)
            case n.DecimalLit():
                return self._record(e, t.DECIMAL)
            case n.MoneyLit():
                return self._record(e, t.money(e.currency))
            case n.StringLit():
                return self._record(e, t.STRING)
            case n.DurationLit():
                return self._record(e, t.DURATION)
            case n.DateTimeLit():
                return self._record(e, t.DATETIME)
            case n.ListLit():
                return self._record(e, self._list(e))
            case n.RecordLit():
                fields = tuple((k, self._expr(v)) for k, v in e.fields)
                return self._record(e, t.record(fields))
            case n.Name():
                return self._record(e, self._name(e))
            case n.Call():
                return self._record(e, self._call(e))
            case n.Unary():
                return self._record(e, self._unary(e))
            case n.BoolOp():
                for operand in e.operands:
                    self._expect_bool(operand, f"each side of `{e.op}`")
                return self._record(e, t.BOOL)
            case n.Binary():
                return self._record(e, self._binary(e))
            case n.Between():
                value = self._expr(e.value)
                for bound in (e.low, e.high):
                    self._compare("between", value, self._expr(bound), e.value, bound, bound.span)
                return self._record(e, t.BOOL)
            case n.Quantifier():
                return self._record(e, self._quantifier(e))
            case n.Aggregate():
                return self._record(e, self._aggregate(e))
            case n.Velocity():
                return self._record(e, self._velocity(e))
        raise AssertionError(f"unhandled node {type(e).__name__}")  # pragma: no cover

    def _expect_bool(self, e: n.Expr, what: str) -> None:
        found = self._expr(e)
        if found not in (t.BOOL, t.UNKNOWN):
            self._error(
                "dsl.type.mismatch",
                f"{what} must be true or false, but this is {describe(found)}",
                e.span,
                "compare it with something, e.g. `user.level >= 3`",
            )

    def _list(self, e: n.ListLit) -> t.Type:
        item_type: t.Type = t.UNKNOWN
        for item in e.items:
            found = self._expr(item)
            if found == t.UNKNOWN:
                continue
            if item_type == t.UNKNOWN:
                item_type = found
            elif item_type != found:
                if t.is_numeric(item_type) and t.is_numeric(found):
                    item_type = t.DECIMAL
                elif isinstance(item_type, t.MoneyType) and (is_number_literal(item) or (
                        isinstance(found, t.MoneyType) and found.currency == item_type.currency)):
                    pass
                elif t.is_numeric(item_type) and isinstance(found, t.MoneyType) and all(
                        is_number_literal(i) for i in e.items[: e.items.index(item)]):
                    item_type = found
                else:
                    self._error(
                        "dsl.type.mismatch",
                        f"a list holds one type: this item is {describe(found)}, the ones before are {describe(item_type)}",
                        item.span,
                        None,
                    )
        return t.list_of(item_type)

    def _name(self, e: n.Name) -> t.Type:
        head = e.parts[0]
        if head in self._vars:
            current = self._vars[head]
            for part in e.parts[1:]:
                if isinstance(current, t.RecordType):
                    found = current.field(part)
                    if found is None:
                        names = [k for k, _ in current.fields]
                        hint = did_you_mean(part, names) or f"its fields: {', '.join(names)}"
                        self._error("dsl.field.unknown", f"`{head}` has no field `{part}`", e.span, hint)
                        return t.UNKNOWN
                    current = found
                elif current == t.UNKNOWN:
                    return t.UNKNOWN
                else:
                    self._error("dsl.field.unknown", f"`{head}` is {describe(current)} and has no fields", e.span, None)
                    return t.UNKNOWN
            return current
        if len(e.parts) == 1:
            return self._condition_ref(e)
        path = f"{e.parts[0]}.{e.parts[1]}"
        tag = self.tags.get(path)
        if tag is None:
            self._unknown_tag(e, path)
            return t.UNKNOWN
        self._reads.append(Read(tag, e.span, None))
        if tag.status == "offline":
            self._error(
                "dsl.tag.offline",
                f"tag `{path}` is offline and can no longer be read",
                e.span,
                "remove the reference or bring the tag back online in its declaration",
            )
        elif tag.status == "deprecated":
            self.diagnostics.append(
                Diagnostic(
                    "dsl.tag.deprecated",
                    f"tag `{path}` is deprecated",
                    e.span,
                    Severity.WARNING,
                    tag.description or "it will go offline; move to its replacement",
                )
            )
        if len(e.parts) > 2:
            self._error("dsl.field.unknown", f"tag `{path}` is {describe(tag.type)} and has no fields", e.span, None)
            return t.UNKNOWN
        return tag.type

    def _unknown_tag(self, e: n.Name, path: str) -> None:
        all_paths = sorted(self.tags)
        if e.parts[0] in self.namespaces:
            # Compare names within the namespace: the shared prefix would make every tag look close.
            in_ns = [p.split(".", 1)[1] for p in all_paths if p.startswith(e.parts[0] + ".")]
            close = [f"{e.parts[0]}.{name}" for name in suggest(e.parts[1], in_ns)]
            candidates = f"tags in `{e.parts[0]}`: {', '.join(in_ns[:12])}{', ...' if len(in_ns) > 12 else ''}"
        elif e.parts[0] in NAMESPACES:
            close = []
            candidates = f"no tag is declared in `{e.parts[0]}`; declare it with `tag {path}: <type>`"
        else:
            close = suggest(path, all_paths)
            candidates = f"namespaces: {', '.join(sorted(self.namespaces or NAMESPACES))}"
        message = f"unknown tag `{path}`"
        if close:
            message += "; did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
        self._error("dsl.tag.unknown", message, e.span, candidates)

    def _condition_ref(self, e: n.Name) -> t.Type:
        name = e.parts[0]
        decl = self.conditions.get(name)
        if decl is None:
            candidates = sorted(self.conditions)
            message = f"unknown name `{name}`"
            hint: str | None = did_you_mean(name, candidates)
            if name in self.namespaces:
                message = f"`{name}` is a tag namespace; name one of its tags"
                hint = f"e.g. `{name}.{next(p.split('.', 1)[1] for p in self.tags if p.startswith(name + '.'))}`"
            elif hint is None:
                hint = "declare it with `condition " + name + " = ...`, or name a tag as `namespace.name`"
            self._error("dsl.name.unknown", message, e.span, hint)
            return t.UNKNOWN
        if name in self._visiting:
            cycle = self._visiting[self._visiting.index(name):] + [name]
            self._error(
                "dsl.condition.cycle",
                f"condition `{name}` refers to itself: {' -> '.join(cycle)}",
                e.span,
                "a condition cannot depend on itself, directly or through others",
            )
            return t.BOOL
        type_ = self.check_condition(decl)
        for read in self.condition_reads.get(name, ()):
            self._reads.append(Read(read.tag, e.span, name))
        self._cost += self.condition_costs.get(name, 1)
        return type_

    def check_condition(self, decl: n.ConditionDecl) -> t.Type:
        if decl.name in self.condition_types:
            return self.condition_types[decl.name]
        self._visiting.append(decl.name)
        saved = (self._reads, self._vars)
        self._reads, self._vars = [], {}
        try:
            found = self._expr(decl.expr)
            cost = self._cost_of(decl.expr)
            self.condition_costs[decl.name] = cost
            reads = tuple(self._reads)
            if cost > MAX_COST:
                self._error(
                    "dsl.limit.cost",
                    f"condition `{decl.name}` may take up to {cost:,} steps to evaluate; the limit is {MAX_COST:,}",
                    decl.expr.span,
                    "avoid nesting quantifiers over lists inside one another",
                )
        finally:
            self._reads, self._vars = saved
            self._visiting.pop()
        if found not in (t.BOOL, t.UNKNOWN):
            self._error(
                "dsl.type.mismatch",
                f"condition `{decl.name}` must be true or false, but its expression is {describe(found)}",
                decl.expr.span,
                None,
            )
        self.condition_types[decl.name] = t.BOOL
        self.condition_reads[decl.name] = reads
        return t.BOOL

    def _call(self, e: n.Call) -> t.Type:
        if e.name == "list":
            if len(e.args) == 1 and e.args[0].name is None and isinstance(e.args[0].value, n.StringLit):
                return t.MANAGED_LIST
            self._error("dsl.function.args", "`list` takes the name of a managed list, e.g. list(\"blocklist\")", e.span, None)
            return t.UNKNOWN
        if e.name in self.effects:
            for arg in e.args:
                self._expr(arg.value)
            self._error(
                "dsl.effect.misplaced",
                f"`{e.name}` is an effect: it belongs after `then`, not inside an expression",
                e.name_span,
                None,
            )
            return t.UNKNOWN
        fn = FUNCTIONS.get(e.name)
        arg_types = [self._expr(a.value) for a in e.args]
        if fn is None:
            hint = did_you_mean(e.name, sorted(FUNCTIONS)) or "functions: " + ", ".join(sorted(FUNCTIONS))
            self._error("dsl.function.unknown", f"unknown function `{e.name}`", e.name_span, hint)
            return t.UNKNOWN
        for arg in e.args:
            if arg.name is not None:
                self._error("dsl.function.args", f"`{e.name}` takes plain arguments, not `{arg.name}:`", arg.span, fn.signature)
                return t.UNKNOWN
        result = fn.check(arg_types)
        if isinstance(result, str):
            self._error("dsl.function.args", f"`{e.name}` {result}", e.span, fn.signature)
            return t.UNKNOWN
        return result

    def _unary(self, e: n.Unary) -> t.Type:
        if e.op == "not":
            self._expect_bool(e.operand, "the operand of `not`")
            return t.BOOL
        found = self._expr(e.operand)
        if found == t.UNKNOWN or t.is_numeric(found) or isinstance(found, t.MoneyType) or found == t.DURATION:
            return found
        self._error("dsl.type.mismatch", f"cannot negate {describe(found)}", e.span, None)
        return t.UNKNOWN

    def _binary(self, e: n.Binary) -> t.Type:
        left = self._expr(e.left)
        right = self._expr(e.right)
        op = e.op
        if op in EQUALITY or op in ORDERING:
            self._compare(op, left, right, e.left, e.right, e.span)
            return t.BOOL
        if op in ("in", "not in"):
            self._membership(op, left, right, e.left, e.right, e)
            return t.BOOL
        if op == "contains":
            self._membership("contains", right, left, e.right, e.left, e)
            return t.BOOL
        return self._arith(op, left, right, e)

    def _bind(self, var: str, source: n.Expr, span: n.Span) -> t.Type | None:
        found = self._expr(source)
        if found == t.UNKNOWN:
            return t.UNKNOWN
        if found == t.SET:
            return t.STRING
        if isinstance(found, t.ListType):
            return found.item
        self._error("dsl.type.mismatch", f"`in` needs a list to go over, but this is {describe(found)}", source.span, None)
        return None

    def _quantifier(self, e: n.Quantifier) -> t.Type:
        item = self._bind(e.var, e.source, e.span)
        saved = dict(self._vars)
        self._vars[e.var] = item if item is not None else t.UNKNOWN
        try:
            if e.where is not None:
                self._expect_bool(e.where, f"the `where` test of `{e.kind}`")
            elif e.kind != "count":
                self._error(
                    "dsl.quantifier.where",
                    f"`{e.kind}` needs a `where` test",
                    e.span,
                    f"e.g. {e.kind}({e.var} in ... where {e.var}.quantity >= 2)",
                )
        finally:
            self._vars = saved
        return t.INT if e.kind == "count" else t.BOOL

    def _aggregate(self, e: n.Aggregate) -> t.Type:
        item = self._bind(e.var, e.source, e.span)
        saved = dict(self._vars)
        self._vars[e.var] = item if item is not None else t.UNKNOWN
        try:
            if e.where is not None:
                self._expect_bool(e.where, f"the `where` test of `{e.kind}`")
            value = self._expr(e.value)
        finally:
            self._vars = saved
        if value == t.UNKNOWN:
            return t.UNKNOWN
        if e.kind == "sum":
            if t.is_numeric(value) or isinstance(value, t.MoneyType) or value == t.DURATION:
                return value
            self._error("dsl.type.mismatch", f"cannot sum {describe(value)} values", e.value.span, None)
            return t.UNKNOWN
        if t.is_ordered(value) and not isinstance(value, t.EnumType):
            return value
        self._error("dsl.type.mismatch", f"{e.kind} needs ordered values, not {describe(value)}", e.value.span, None)
        return t.UNKNOWN

    def _velocity(self, e: n.Velocity) -> t.Type:
        if self._vars:
            self._error("dsl.velocity.scope", f"`{e.kind}(... by ...)` counts recorded events: it cannot use `{next(iter(self._vars))}`",
                        e.span, "use it outside any/all/sum over a list")
            return t.UNKNOWN
        key = self._expr(e.key)
        if key != t.UNKNOWN and not (t.is_stringlike(key) or key == t.INT):
            self._error("dsl.type.mismatch", f"events are grouped by a string or an int, not {describe(key)}", e.key.span,
                        "e.g. by user.id or by passthrough.device_id")
        result: t.Type = t.INT
        if e.kind == "count":
            if e.event not in EVENTS:
                self._error("dsl.velocity.event", f"unknown event `{e.event}`", e.span,
                            did_you_mean(e.event or "", EVENTS) or "events: " + ", ".join(EVENTS))
        else:
            assert e.measure is not None
            measured = self._expr(e.measure)
            if e.kind == "sum":
                if measured != t.UNKNOWN and not (t.is_numeric(measured) or isinstance(measured, t.MoneyType)):
                    self._error("dsl.type.mismatch", f"cannot sum {describe(measured)} values", e.measure.span, None)
                    return t.UNKNOWN
                result = measured
            elif measured != t.UNKNOWN and not (t.is_stringlike(measured) or measured in (t.INT, t.BOOL)):
                self._error("dsl.type.mismatch", f"cannot count distinct {describe(measured)} values", e.measure.span, None)
        feature = feature_of(e, result)
        self.features.setdefault(feature.id, feature)
        return result

    # ------------------------------------------------------------------ cost
    def _cost_of(self, e: n.Expr) -> int:
        """A static bound on evaluation steps, to refuse expressions that could run away."""
        match e:
            case n.Quantifier():
                body = self._cost_of(e.where) if e.where is not None else 1
                return self._cost_of(e.source) + LIST_COST * body
            case n.Aggregate():
                body = self._cost_of(e.value) + (self._cost_of(e.where) if e.where is not None else 0)
                return self._cost_of(e.source) + LIST_COST * body
            case n.Name() if len(e.parts) == 1 and e.parts[0] in self.condition_costs:
                return self.condition_costs[e.parts[0]]
        total = 1
        for child in children(e):
            total += self._cost_of(child)
            if total > MAX_COST * 10:
                break
        return total


def _literal_hint(param: t.Type, node: n.Expr) -> str | None:
    if isinstance(param, t.EnumType):
        return "values: " + ", ".join(param.values)
    if isinstance(param, t.MoneyType) and not is_number_literal(node):
        return f"write an amount such as `10.00 {param.currency}`"
    return None


def _effect_hint(effects: Mapping[str, Effect]) -> str:
    return "effects: " + ", ".join(sorted(effects)) if effects else "declare effects with `effect name(field: type)`"
