"""Parsing: rule-file text to a `Module` of frozen nodes, or diagnostics.

The Lark parser is built lazily, once per process, from `grammar.lark` (LALR, positions on).
Nodes are built while parsing (a parse-time transformer), so deep or long expressions never
recurse in Python. Syntax errors are collected per top-level declaration: after an error the
parser resumes at the next line that starts a declaration, so one run reports them all.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from arbiter.dsl import nodes as n
from arbiter.dsl.diagnostics import Diagnostic

MAX_FILE_BYTES = 1_000_000
MAX_EXPR_DEPTH = 64
MAX_LIST_ITEMS = 10_000

_DURATION_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}

# Friendly names for the grammar's terminals, used in "expected ..." messages.
_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "INT": "a number",
    "DECIMAL": "a number",
    "PERCENT": "a percentage",
    "DURATION": "a duration",
    "DATETIME": "a date",
    "CURRENCY": "a currency code",
    "YUAN": "¥",
    "COMPARE": "a comparison",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COLON": "':'",
    "COMMA": "','",
    "DOT": "'.'",
    "EQUAL": "'='",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "$END": "the end of the file",
}


class _Refused(Exception):
    def __init__(self, code: str, message: str, span: n.Span, hint: str) -> None:
        super().__init__(message)
        self.diagnostic = Diagnostic(code, message, span, hint=hint)


@cache
def _grammar_text() -> str:
    return resources.files("arbiter.dsl").joinpath("grammar.lark").read_text(encoding="utf-8")


@cache
def _lark() -> Lark:
    return Lark(
        _grammar_text(),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        start=["start", "expression"],
    )


class _ParseState:
    """What one parse call needs while the shared parser builds nodes."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.depth: dict[int, tuple[int, Any]] = {}


_STATE: ContextVar[_ParseState] = ContextVar("arbiter_dsl_parse_state")


def parse(source: str, file: str = "<input>") -> tuple[n.Module | None, list[Diagnostic]]:
    """Parse one file. Returns the module (declarations that parsed) and all syntax problems."""
    size = len(source.encode("utf-8", errors="replace"))
    if size > MAX_FILE_BYTES:
        span = n.Span(file, 1, 1, 1, 2)
        return None, [
            Diagnostic(
                "dsl.limit.file_size",
                f"the file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}",
                span,
                hint="split the rules over several files",
            )
        ]
    comments: list[n.Comment] = []
    try:
        decls = _parse_text(source, file, comments)
        return n.Module(file, tuple(decls), tuple(comments), source), []
    except (UnexpectedInput, _Refused, VisitError, LarkError):
        pass
    # Resume at each line that starts a declaration, to report every syntax error.
    decls_all: list[n.Decl] = []
    diagnostics: list[Diagnostic] = []
    comments.clear()
    lines = source.split("\n")
    starts = [i for i, line in enumerate(lines) if _DECL_START.match(line)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    starts.append(len(lines))
    for begin, end in zip(starts, starts[1:], strict=False):
        chunk = "\n" * begin + "\n".join(lines[begin:end])
        chunk_comments: list[n.Comment] = []
        try:
            decls_all.extend(_parse_text(chunk, file, chunk_comments))
            comments.extend(chunk_comments)
        except _Refused as exc:
            diagnostics.append(exc.diagnostic)
        except VisitError as exc:
            if isinstance(exc.orig_exc, _Refused):
                diagnostics.append(exc.orig_exc.diagnostic)
            else:
                diagnostics.append(_generic(file, str(exc.orig_exc)))
        except UnexpectedInput as exc:
            diagnostics.append(_syntax_diagnostic(exc, file, chunk))
        except LarkError as exc:
            diagnostics.append(_generic(file, str(exc)))
    if not diagnostics:  # pragma: no cover - the whole parse failed, so some chunk must too
        diagnostics.append(_generic(file, "the file could not be parsed"))
    return n.Module(file, tuple(decls_all), tuple(comments), source), diagnostics


_DECL_START = re.compile(r"^(tag|condition|effect|[^\W\d]\w*\s+([^\W\d]\w*|\"))[\s({:=.]", re.UNICODE)


def parse_expression(text: str, file: str = "<expression>") -> tuple[n.Expr | None, list[Diagnostic]]:
    """Parse one expression on its own, e.g. `user.age >= 18`."""
    if len(text) > MAX_FILE_BYTES:
        return None, [Diagnostic("dsl.limit.file_size", "the expression is too long", n.Span(file, 1, 1, 1, 1))]
    try:
        tree = _lark().parse(text, start="expression")
        _check_depth(tree, file)
        token = _STATE.set(_ParseState(file))
        try:
            return _Builder(visit_tokens=False).transform(tree), []
        finally:
            _STATE.reset(token)
    except _Refused as exc:
        return None, [exc.diagnostic]
    except VisitError as exc:
        if isinstance(exc.orig_exc, _Refused):
            return None, [exc.orig_exc.diagnostic]
        return None, [_generic(file, str(exc.orig_exc))]
    except UnexpectedInput as exc:
        return None, [_syntax_diagnostic(exc, file, text)]


def _parse_text(text: str, file: str, comments: list[n.Comment]) -> list[n.Decl]:
    tree = _lark().parse(text, start="start")
    _check_depth(tree, file)
    token = _STATE.set(_ParseState(file))
    try:
        decls = _Builder(visit_tokens=False).transform(tree)
    finally:
        _STATE.reset(token)
    comments.extend(_scan_comments(text))
    return list(decls)


def _check_depth(tree: Tree[Token], file: str) -> None:
    """Refuse over-deep nesting before the (recursive) tree walk meets it."""
    limit = MAX_EXPR_DEPTH + 16  # declarations and blocks add a few levels above expressions
    stack: list[tuple[Tree[Token], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            meta = node.meta
            line = getattr(meta, "line", 1)
            column = getattr(meta, "column", 1)
            span = n.Span(file, line, column, getattr(meta, "end_line", line), getattr(meta, "end_column", column))
            raise _Refused(
                "dsl.limit.depth",
                f"the expression nests deeper than {MAX_EXPR_DEPTH} levels",
                span,
                "split it into named conditions",
            )
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth + 1))


def _scan_comments(text: str) -> list[n.Comment]:
    """Comments are ignored by the grammar; find them for the printer (outside strings)."""
    found: list[n.Comment] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        in_string = False
        escaped = False
        for col, ch in enumerate(line, start=1):
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "#":
                found.append(n.Comment(line[col - 1 :].rstrip(), lineno, col))
                break
    return found


def _generic(file: str, message: str) -> Diagnostic:
    return Diagnostic("dsl.syntax.invalid", message, n.Span(file, 1, 1, 1, 1))


_EXPRESSION_START = {"NAME", "INT", "DECIMAL", "STRING", "LPAR", "LSQB", "MINUS", "DATETIME"}
_ORDER = ["NAME", "STRING", "INT", "DECIMAL", "COMPARE", "RPAR", "RBRACE", "RSQB", "COMMA", "COLON"]


def _describe_expected(expected: set[str] | frozenset[str]) -> str:
    names: list[str] = []
    terms = set(expected)
    if len(terms & _EXPRESSION_START) >= 4:
        names.append("an expression")
        terms -= _EXPRESSION_START | {"PERCENT", "DURATION", "YUAN", "LBRACE", "TRUE", "FALSE",
                                      "ANY", "ALL", "COUNT", "SUM", "MIN", "MAX", "NOT"}
    ordered = sorted(terms, key=lambda t: (_ORDER.index(t) if t in _ORDER else len(_ORDER), t))
    for term in ordered:
        if term in _TERMINAL_NAMES:
            label = _TERMINAL_NAMES[term]
        elif term.isupper() and term.isalpha() and len(term) > 1:
            label = f"'{term.lower()}'"  # keyword terminals are named after themselves
        else:
            label = term
        if label not in names:
            names.append(label)
    if len(names) > 8:
        names = names[:8] + ["..."]
    return ", ".join(names)


def _end_of_text(text: str) -> tuple[int, int]:
    """Line and column just after the last code character (where a missing `)` goes),
    passing over trailing blank lines and comments."""
    comments = {c.line: c.column for c in _scan_comments(text)}
    lines = text.split("\n")
    for index in range(len(lines) - 1, -1, -1):
        code = lines[index]
        if index + 1 in comments:
            code = code[: comments[index + 1] - 1]
        code = code.rstrip()
        if code:
            return index + 1, len(code) + 1
    return 1, 1


def _syntax_diagnostic(exc: UnexpectedInput, file: str, text: str = "") -> Diagnostic:
    line = getattr(exc, "line", 1) or 1
    column = getattr(exc, "column", 1) or 1
    if line < 1:
        line, column = 1, 1
    if isinstance(exc, UnexpectedToken | UnexpectedEOF) and (
        isinstance(exc, UnexpectedEOF) or exc.token.type == "$END"
    ) and text:
        line, column = _end_of_text(text)
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            closers = [c for c in ("RPAR", "RSQB", "RBRACE") if c in exc.expected]
            expected = _describe_expected(set(closers[:1]) if closers else exc.expected)
            return Diagnostic(
                "dsl.syntax.unexpected_end",
                f"the declaration is not finished; expected {expected}",
                n.Span(file, line, column, line, column + 1),
                hint="a declaration is not finished: check for a missing '}' or ')'",
            )
        text = str(token)
        end = column + max(len(text), 1)
        expected = _describe_expected(exc.expected)
        return Diagnostic(
            "dsl.syntax.unexpected_token",
            f"unexpected {text!r}; expected {expected}",
            n.Span(file, line, column, line, end),
            hint=_token_hint(text, exc.expected),
        )
    if isinstance(exc, UnexpectedEOF):
        return Diagnostic(
            "dsl.syntax.unexpected_end",
            f"the declaration is not finished; expected {_describe_expected(set(exc.expected))}",
            n.Span(file, line, column, line, column + 1),
            hint="a declaration is not finished: check for a missing '}' or ')'",
        )
    if isinstance(exc, UnexpectedCharacters):
        char = exc.char
        return Diagnostic(
            "dsl.syntax.unexpected_character",
            f"unexpected character {char!r}",
            n.Span(file, line, column, line, column + 1),
            hint=_char_hint(char),
        )
    return _generic(file, str(exc))


def _token_hint(text: str, expected: set[str] | frozenset[str]) -> str | None:
    if text == "=" and "COMPARE" in expected:
        return "to compare, write '==' (one '=' names a condition)"
    if text in {"&&", "&"}:
        return "write 'and'"
    if "RPAR" in expected and len(expected) <= 3:
        return "check that every '(' has its ')'"
    return None


def _char_hint(char: str) -> str | None:
    if char == "'":
        return "strings use double quotes: \"like this\""
    if char in {"&", "|"}:
        return "write 'and' / 'or'"
    if char == "=":
        return "to compare, write '=='"
    if char == "!":
        return "write 'not' or '!='"
    return None


# ----------------------------------------------------------------------------- tree building


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
class _Builder(Transformer[Token, Any]):
    """Lark tree to nodes. Expression depth and list length are bounded here."""

    @property
    def file(self) -> str:
        return _STATE.get().file

    @property
    def depth(self) -> dict[int, tuple[int, Any]]:
        return _STATE.get().depth

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
            raise _Refused(
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
                    raise _Refused(
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

    def list(self, meta: Any, *items: Any) -> n.ListLit:
        present = tuple(i for i in items if i is not None)
        span = self._span(meta)
        if len(present) > MAX_LIST_ITEMS:
            raise _Refused(
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
            raise _Refused("dsl.syntax.bad_date", f"{text} is not a valid date", span, "write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS") from None
        return n.DateTimeLit(value, text, span)

    def true_lit(self, meta: Any) -> n.BoolLit:
        return n.BoolLit(True, self._span(meta))

    def false_lit(self, meta: Any) -> n.BoolLit:
        return n.BoolLit(False, self._span(meta))
