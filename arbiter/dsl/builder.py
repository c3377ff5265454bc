"""Building nodes from Lark's tree: every node gets its span, expression depth and literal
list length are bounded here, literals become exact values (Decimal, timedelta, aware
datetime). The Lark tree never leaves `arbiter.dsl`."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from lark import Token, Transformer, v_args

from arbiter.dsl import nodes as n
from arbiter.dsl.diagnostics import Diagnostic

MAX_EXPR_DEPTH = 64
MAX_LIST_ITEMS = 10_000

_DURATION_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


class Refused(Exception):
    def __init__(self, code: str, message: str, span: n.Span, hint: str) -> None:
        super().__init__(message)
        self.diagnostic = Diagnostic(code, message, span, hint=hint)


class ParseState:
    """What one parse call needs while the shared parser builds nodes."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.depth: dict[int, tuple[int, Any]] = {}


STATE: ContextVar[ParseState] = ContextVar("arbiter_dsl_parse_state")


def _parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _unquote(token: Token) -> str:
    body = str(token)[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(escapes.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


@v_args(meta=True, inline=True)
class Builder(Transformer[Token, Any]):
    """Lark tree to nodes. Expression depth and list length are bounded here."""

    @property
    def file(self) -> str:
        return STATE.get().file

    @property
    def depth(self) -> dict[int, tuple[int, Any]]:
        return STATE.get().depth

    # -- helpers
    def _span(self, meta: Any) -> n.Span:
        if getattr(meta, "empty", True):
            return n.Span(self.file, 0, 0, 0, 0)
        return n.Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tspan(self, token: Token) -> n.Span:
        return n.Span(
            self.file,
            token.line or 0,
            token.column or 0,
            token.end_line or token.line or 0,
            token.end_column or token.column or 0,
        )

    def _nest(self, node: Any, *children: Any) -> Any:
        depth = 1 + max((self.depth.get(id(c), (0, None))[0] for c in children if c is not None), default=0)
        if depth > MAX_EXPR_DEPTH:
            raise Refused(
                "dsl.limit.depth",
                f"the expression nests deeper than {MAX_EXPR_DEPTH} levels",
                node.span,
                "split it into named conditions",
            )
        self.depth[id(node)] = (depth, node)  # the node is kept so that its id stays unique
        return node

    # -- declarations
    def start(self, meta: Any, *decls: Any) -> list[n.Decl]:
        return list(decls)

    def expression(self, meta: Any, expr: n.Expr) -> n.Expr:
        return expr

    def tag_decl(self, meta: Any, ns: Token, name: Token, type_: n.TypeExpr, block: Any) -> n.TagDecl:
        attrs: tuple[n.Attr, ...] = ()
        if block is not None:
            attrs = tuple(i for i in block[0] if isinstance(i, n.Attr))
            for item in block[0]:
                if isinstance(item, n.Block):
                    raise Refused(
                        "dsl.syntax.tag_block",
                        f"a tag's block holds attributes only, not `{item.kind}`",
                        item.name_span,
                        "declare it at the top level of the file",
                    )
        name_span = n.Span(self.file, ns.line or 0, ns.column or 0, name.end_line or 0, name.end_column or 0)
        return n.TagDecl(str(ns), str(name), type_, attrs, self._span(meta), name_span, block is not None)

    def condition_decl(self, meta: Any, name: Token, expr: n.Expr) -> n.ConditionDecl:
        return n.ConditionDecl(str(name), expr, self._span(meta), self._tspan(name))

    def effect_decl(self, meta: Any, name: Token, *params: Any) -> n.EffectDecl:
        return n.EffectDecl(
            str(name), tuple(p for p in params if p is not None), self._span(meta), self._tspan(name)
        )

    def param(self, meta: Any, name: Token, type_: n.TypeExpr) -> n.Param:
        return n.Param(str(name), type_, self._span(meta))

    def block_decl(self, meta: Any, kind: Token, name: Token, block: Any) -> n.Block:
        quoted = name.type == "STRING"
        label = _unquote(name) if quoted else str(name)
        return n.Block(str(kind), label, tuple(block[0]), self._span(meta), self._tspan(name), quoted)

    def block(self, meta: Any, *items: Any) -> tuple[tuple[Any, ...]]:
        return (tuple(items),)

    def attr(self, meta: Any, key: Token, value: n.Expr) -> n.Attr:
        return n.Attr(str(key), value, self._span(meta), self._tspan(key))

    def all_symbol(self, meta: Any) -> n.Name:
        return n.Name(("all",), self._span(meta))

    def any_symbol(self, meta: Any) -> n.Name:
        return n.Name(("any",), self._span(meta))

    def type(self, meta: Any, name: Token, *args: Any) -> n.TypeExpr:
        present = [a for a in args if a is not None]
        has_parens = len(args) > 0 and not (len(args) == 1 and args[0] is None)
        return n.TypeExpr(str(name), tuple(present) if has_parens else None, self._span(meta))

    def type_value(self, meta: Any, value: Token) -> n.TypeArg:
        return n.TypeArg(None, _unquote(value), self._span(meta))

    def type_name(self, meta: Any, value: Token) -> n.TypeArg:
        return n.TypeArg(None, n.TypeExpr(str(value), None, self._tspan(value)), self._span(meta))

    def type_field(self, meta: Any, name: Token, type_: n.TypeExpr) -> n.TypeArg:
        return n.TypeArg(str(name), type_, self._span(meta))

    # -- expressions
    def or_expr(self, meta: Any, *operands: n.Expr) -> n.BoolOp:
        return self._boolop(meta, "or", operands)

    def and_expr(self, meta: Any, *operands: n.Expr) -> n.BoolOp:
        return self._boolop(meta, "and", operands)

    def _boolop(self, meta: Any, op: str, operands: tuple[n.Expr, ...]) -> n.BoolOp:
        # A chain is one flat node however long, so its depth is that of its deepest operand.
        return self._nest(n.BoolOp(op, operands, self._span(meta)), *operands)  # type: ignore[no-any-return]

    def _binary(self, meta: Any, op: str, left: n.Expr, right: n.Expr, op_tok: Token | None) -> n.Binary:
        span = self._span(meta)
        if op_tok is not None:
            op_span = self._tspan(op_tok)
        else:
            ls = left.span
            op_span = n.Span(self.file, ls.end_line, ls.end_column, ls.end_line, ls.end_column)
        return self._nest(n.Binary(op, left, right, span, op_span), left, right)  # type: ignore[no-any-return]

    def not_(self, meta: Any, operand: n.Expr) -> n.Unary:
        return self._nest(n.Unary("not", operand, self._span(meta)), operand)  # type: ignore[no-any-return]

    def neg(self, meta: Any, operand: n.Expr) -> n.Expr:
        span = self._span(meta)
        # Fold a minus sign into a numeric literal so that -5 prints and checks as a literal.
        if isinstance(operand, n.IntLit):
            return n.IntLit(-operand.value, span)
        if isinstance(operand, n.DecimalLit):
            return n.DecimalLit(-operand.value, span, operand.percent)
        if isinstance(operand, n.MoneyLit):
            return n.MoneyLit(-operand.amount, operand.currency, span, operand.yuan_sign)
        return self._nest(n.Unary("-", operand, span), operand)  # type: ignore[no-any-return]

    def compare(self, meta: Any, left: n.Expr, op: Token, right: n.Expr) -> n.Binary:
        return self._binary(meta, str(op), left, right, op)

    def in_(self, meta: Any, left: n.Expr, right: n.Expr) -> n.Binary:
        return self._binary(meta, "in", left, right, None)

    def not_in(self, meta: Any, left: n.Expr, right: n.Expr) -> n.Binary:
        return self._binary(meta, "not in", left, right, None)

    def contains(self, meta: Any, left: n.Expr, right: n.Expr) -> n.Binary:
        return self._binary(meta, "contains", left, right, None)

    def between(self, meta: Any, value: n.Expr, low: n.Expr, high: n.Expr) -> n.Between:
        return self._nest(n.Between(value, low, high, self._span(meta)), value, low, high)  # type: ignore[no-any-return]

    def add(self, meta: Any, left: n.Expr, right: n.Expr) -> n.Binary:
        return self._binary(meta, "+", left, right, None)

    def sub(self, meta: Any, left: n.Expr, right: n.Expr) -> n.Binary:
        return self._binary(meta, "-", left, right, None)

    def mul(self, meta: Any, left: n.Expr, right: n.Expr) -> n.Binary:
        return self._binary(meta, "*", left, right, None)

    def div(self, meta: Any, left: n.Expr, right: n.Expr) -> n.Binary:
        return self._binary(meta, "/", left, right, None)

    def path(self, meta: Any, *parts: Token) -> n.Name:
        return n.Name(tuple(str(p) for p in parts), self._span(meta))

    def call(self, meta: Any, name: Token, *args: Any) -> n.Call:
        items = tuple(
            a if isinstance(a, n.Arg) else n.Arg(None, a, a.span) for a in args if a is not None
        )
        node = n.Call(str(name), items, self._span(meta), self._tspan(name))
        return self._nest(node, *(a.value for a in items))  # type: ignore[no-any-return]

    def named_arg(self, meta: Any, name: Token, value: n.Expr) -> n.Arg:
        return n.Arg(str(name), value, self._span(meta))

    def quantifier_kind(self, meta: Any, token: Token) -> str:
        return str(token)

    aggregate_kind = quantifier_kind

    def quantifier(self, meta: Any, kind: str, var: Token, source: n.Expr, where: Any) -> n.Quantifier:
        node = n.Quantifier(kind, str(var), source, where, self._span(meta))
        return self._nest(node, source, where)  # type: ignore[no-any-return]

    def aggregate(
        self, meta: Any, kind: str, value: n.Expr, var: Token, source: n.Expr, where: Any
    ) -> n.Aggregate:
        node = n.Aggregate(kind, value, str(var), source, where, self._span(meta))
        return self._nest(node, value, source, where)  # type: ignore[no-any-return]

    def _window(self, token: Token) -> tuple[timedelta, str]:
        text = str(token)
        return timedelta(**{_DURATION_UNITS[text[-1]]: int(text[:-1])}), text

    def velocity_count(self, meta: Any, kind: str, event: Token, key: n.Expr, window: Token) -> n.Velocity:
        span = self._span(meta)
        if kind != "count":
            raise Refused("dsl.syntax.velocity", f"`{kind}(... by ...)` is not a velocity: use count, distinct or sum",
                          span, "e.g. count(order by user.id within 1h)")
        length, text = self._window(window)
        return self._nest(n.Velocity("count", str(event), None, key, length, text, span), key)  # type: ignore[no-any-return]

    def velocity_distinct(self, meta: Any, measure: n.Expr, key: n.Expr, window: Token) -> n.Velocity:
        length, text = self._window(window)
        node = n.Velocity("distinct", None, measure, key, length, text, self._span(meta))
        return self._nest(node, measure, key)  # type: ignore[no-any-return]

    def velocity_sum(self, meta: Any, kind: str, measure: n.Expr, key: n.Expr, window: Token) -> n.Velocity:
        span = self._span(meta)
        if kind != "sum":
            raise Refused("dsl.syntax.velocity", f"`{kind}(... by ...)` is not a velocity: use count, distinct or sum",
                          span, "e.g. sum(payment.amount by payment.card within 1d)")
        length, text = self._window(window)
        return self._nest(n.Velocity("sum", None, measure, key, length, text, span), measure, key)  # type: ignore[no-any-return]

    def list(self, meta: Any, *items: Any) -> n.ListLit:
        present = tuple(i for i in items if i is not None)
        span = self._span(meta)
        if len(present) > MAX_LIST_ITEMS:
            raise Refused(
                "dsl.limit.list_size",
                f"the list has {len(present):,} items; the limit is {MAX_LIST_ITEMS:,}",
                span,
                "keep long lists out of rule files: use a managed list or a tag",
            )
        return self._nest(n.ListLit(present, span), *present)  # type: ignore[no-any-return]

    def record(self, meta: Any, *fields: tuple[str, n.Expr]) -> n.RecordLit:
        node = n.RecordLit(tuple(fields), self._span(meta))
        return self._nest(node, *(v for _, v in fields))  # type: ignore[no-any-return]

    def field(self, meta: Any, name: Token, value: n.Expr) -> tuple[str, n.Expr]:
        return (str(name), value)

    # -- literals
    def int_lit(self, meta: Any, token: Token) -> n.IntLit:
        return n.IntLit(int(str(token)), self._span(meta))

    def decimal_lit(self, meta: Any, token: Token) -> n.DecimalLit:
        return n.DecimalLit(Decimal(str(token)), self._span(meta))

    def percent_lit(self, meta: Any, token: Token) -> n.DecimalLit:
        return n.DecimalLit(Decimal(str(token)[:-1]) / 100, self._span(meta), percent=True)

    def money_lit(self, meta: Any, amount: Token, currency: Token) -> n.MoneyLit:
        return n.MoneyLit(Decimal(str(amount)), str(currency), self._span(meta))

    def yuan_lit(self, meta: Any, sign: Token, amount: Token) -> n.MoneyLit:
        return n.MoneyLit(Decimal(str(amount)), "CNY", self._span(meta), yuan_sign=True)

    def string_lit(self, meta: Any, token: Token) -> n.StringLit:
        return n.StringLit(_unquote(token), self._span(meta))

    def duration_lit(self, meta: Any, token: Token) -> n.DurationLit:
        text = str(token)
        value = timedelta(**{_DURATION_UNITS[text[-1]]: int(text[:-1])})
        return n.DurationLit(value, text, self._span(meta))

    def datetime_lit(self, meta: Any, token: Token) -> n.DateTimeLit:
        text = str(token)
        span = self._span(meta)
        try:
            value = _parse_datetime(text)
        except ValueError:
            raise Refused("dsl.syntax.bad_date", f"{text} is not a valid date", span, "write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS") from None
        return n.DateTimeLit(value, text, span)

    def true_lit(self, meta: Any) -> n.BoolLit:
        return n.BoolLit(True, self._span(meta))

    def false_lit(self, meta: Any) -> n.BoolLit:
        return n.BoolLit(False, self._span(meta))
