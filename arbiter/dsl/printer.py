r"""The canonical printer behind `arbiter fmt`: nodes back to rule-file text, one layout only.

`format_source` parses and prints a file (or returns the syntax diagnostics); `format_module`
prints a parsed module; `format_expr` prints one expression on one line, for explanations and
messages. Printing twice changes nothing, the output parses to the same declarations, and no
comment is ever lost.

The canonical layout:

* 4-space indentation, one attribute per line inside blocks: `kind name {` ... `}`; a block
  name written quoted stays quoted; an empty block is `kind name {}`.
* A blank line between top-level declarations, except that consecutive one-line declarations
  of the same kind (a tag without attributes, an effect, a condition) stay together. A nested
  block is preceded by a blank line unless it comes first in its block.
* `tag ns.name: type` has no block when it has no attributes, otherwise `tag ns.name: type {`
  and one attribute per line. Types print as `int`, `money(USD)`, `enum("a", "b")`,
  `list(sku: string, quantity: int)`. `effect name(field: type, ...)` and
  `condition name = expr` take one line each.
* Expressions carry only the parentheses their precedence needs (low to high: or, and, not,
  comparisons, + -, * /, unary minus, atoms). Comparisons do not chain, so a comparison
  operand that is one gets parentheses; so does a right operand of + - * / with the
  operator's own precedence, and an and/or operand that is itself an and/or of the same kind,
  because the tree written without them would be a different one.
* Literals: decimals keep their written scale (`89.00`), percentages print as percent
  numbers (`90%`, `12.5%`), money as `300.00 CNY` or `¥300.00` as written, strings in double
  quotes with `\\`, `\"`, `\n`, `\t` escaped, durations and dates as written.
* A record is `{ key: value, key2: value2 }` when the whole line fits in 100 columns,
  otherwise one field per line one level deeper, without commas (the grammar makes them
  optional; one is kept only where the next field's name would otherwise read as a keyword
  or a currency code). Nothing else breaks across lines.
* Comments: one on its own line stays before the item that follows it (at that item's
  indentation), or before the closing `}` of its block, or at the end of the file; one after
  code stays at the end of the line of the item it follows, two spaces before `#`. One after
  a block's opening line stays there. A comment inside a multi-line item that cannot keep its
  place moves before that item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeAlias

from arbiter.dsl import nodes as n
from arbiter.dsl.diagnostics import Diagnostic
from arbiter.dsl.parser import parse

WIDTH = 100
INDENT = 4

# ----------------------------------------------------------------------------- layout documents
# A small Wadler-style document: text, concatenation (a tuple), a nested part, a break that is
# flat text or a newline, and a group whose breaks are all flat or all newlines. Only records
# make groups, so only records ever span lines.


@dataclass(frozen=True, slots=True)
class _Nest:
    parts: tuple[Doc, ...]


@dataclass(frozen=True, slots=True)
class _Break:
    flat: str
    tail: str = ""  # written before the newline when broken


@dataclass(frozen=True, slots=True)
class _Group:
    parts: tuple[Doc, ...]


Doc: TypeAlias = str | tuple["Doc", ...] | _Nest | _Break | _Group

_Frame: TypeAlias = tuple[int, bool, Doc]  # (indentation, flat, document)


def _render(doc: Doc, indent: int) -> str:
    """Lay `doc` out from column `indent`; a group stays flat when the rest of its line fits."""
    out: list[str] = []
    column = indent
    stack: list[_Frame] = [(indent, False, doc)]
    while stack:
        ind, flat, d = stack.pop()
        if isinstance(d, str):
            out.append(d)
            column += len(d)
        elif isinstance(d, tuple):
            stack.extend((ind, flat, part) for part in reversed(d))
        elif isinstance(d, _Nest):
            stack.extend((ind + INDENT, flat, part) for part in reversed(d.parts))
        elif isinstance(d, _Break):
            if flat:
                out.append(d.flat)
                column += len(d.flat)
            else:
                out.append(d.tail + "\n" + " " * ind)
                column = ind
        else:
            fits = flat or _fits(WIDTH - column, d.parts, stack)
            stack.extend((ind, fits, part) for part in reversed(d.parts))
    return "".join(out)


def _fits(width: int, parts: tuple[Doc, ...], rest: list[_Frame]) -> bool:
    """Whether `parts` flat, then what follows up to the next line break, fit in `width`."""
    todo: list[tuple[bool, Doc]] = [(True, part) for part in reversed(parts)]
    waiting = len(rest)
    while width >= 0:
        if not todo:
            if waiting == 0:
                return True
            waiting -= 1
            _, flat, d = rest[waiting]
            todo.append((flat, d))
        flat, d = todo.pop()
        if isinstance(d, str):
            width -= len(d)
        elif isinstance(d, tuple):
            todo.extend((flat, part) for part in reversed(d))
        elif isinstance(d, _Nest):
            todo.extend((flat, part) for part in reversed(d.parts))
        elif isinstance(d, _Break):
            if not flat:
                return True
            width -= len(d.flat)
        else:  # a later group on the same line is measured flat
            todo.extend((True, part) for part in reversed(d.parts))
    return False


def _flat(doc: Doc) -> str:
    out: list[str] = []
    stack: list[Doc] = [doc]
    while stack:
        d = stack.pop()
        if isinstance(d, str):
            out.append(d)
        elif isinstance(d, tuple):
            stack.extend(reversed(d))
        elif isinstance(d, _Break):
            out.append(d.flat)
        else:
            stack.extend(reversed(d.parts))
    return "".join(out)


# ----------------------------------------------------------------------------- expressions

_OR, _AND, _NOT, _COMPARE, _SUM, _PRODUCT, _UNARY, _ATOM = range(1, 9)
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains"})
# Names that, after a value, would be read as part of the expression: a record field with
# such a name keeps the comma before it when its record is broken over lines.
_KEYWORDS = frozenset({
    "and", "or", "not", "in", "contains", "between", "for", "where", "true", "false",
    "any", "all", "count", "sum", "min", "max", "tag", "condition", "effect",
})
_CURRENCY = re.compile(r"[A-Z]{3}")


def format_expr(expr: n.Expr) -> str:
    """One expression on one line, with the fewest parentheses that keep its tree."""
    return _flat(_expr(expr))


def _precedence(expr: n.Expr) -> int:
    if isinstance(expr, n.BoolOp):
        return _OR if expr.op == "or" else _AND
    if isinstance(expr, n.Unary):
        return _NOT if expr.op == "not" else _UNARY
    if isinstance(expr, n.Between):
        return _COMPARE
    if isinstance(expr, n.Binary):
        if expr.op in _COMPARISONS:
            return _COMPARE
        return _SUM if expr.op in {"+", "-"} else _PRODUCT
    if isinstance(expr, n.IntLit | n.DecimalLit) and expr.value < 0:
        return _UNARY
    if isinstance(expr, n.MoneyLit) and expr.amount < 0:
        return _UNARY
    return _ATOM


def _operand(expr: n.Expr, least: int) -> Doc:
    doc = _expr(expr)
    return ("(", doc, ")") if _precedence(expr) < least else doc


def _expr(expr: n.Expr) -> Doc:
    if isinstance(expr, n.BoolOp):
        least = _AND if expr.op == "or" else _NOT
        parts: list[Doc] = []
        for i, operand in enumerate(expr.operands):
            if i:
                parts.append(f" {expr.op} ")
            parts.append(_operand(operand, least))
        return tuple(parts)
    if isinstance(expr, n.Unary):
        if expr.op == "not":
            return ("not ", _operand(expr.operand, _NOT))
        return ("-", _operand(expr.operand, _UNARY))
    if isinstance(expr, n.Binary):
        if expr.op in _COMPARISONS:
            left, right = _SUM, _SUM
        elif expr.op in {"+", "-"}:
            left, right = _SUM, _PRODUCT
        else:
            left, right = _PRODUCT, _UNARY
        return (_operand(expr.left, left), f" {expr.op} ", _operand(expr.right, right))
    if isinstance(expr, n.Between):
        return (
            _operand(expr.value, _SUM), " between ", _operand(expr.low, _SUM),
            " and ", _operand(expr.high, _SUM),
        )
    if isinstance(expr, n.Name):
        return expr.dotted
    if isinstance(expr, n.Call):
        args: list[Doc] = []
        for i, arg in enumerate(expr.args):
            if i:
                args.append(", ")
            args.append((f"{arg.name}: ", _expr(arg.value)) if arg.name else _expr(arg.value))
        return (expr.name, "(", tuple(args), ")")
    if isinstance(expr, n.Quantifier):
        where: Doc = (" where ", _expr(expr.where)) if expr.where is not None else ""
        return (f"{expr.kind}({expr.var} in ", _expr(expr.source), where, ")")
    if isinstance(expr, n.Aggregate):
        where = (" where ", _expr(expr.where)) if expr.where is not None else ""
        return (
            f"{expr.kind}(", _expr(expr.value), f" for {expr.var} in ", _expr(expr.source),
            where, ")",
        )
    if isinstance(expr, n.ListLit):
        items: list[Doc] = []
        for i, item in enumerate(expr.items):
            if i:
                items.append(", ")
            items.append(_expr(item))
        return ("[", tuple(items), "]")
    if isinstance(expr, n.RecordLit):
        return _record(expr)
    return _literal(expr)


def _record(record: n.RecordLit) -> Doc:
    if not record.fields:
        return "{}"
    fields: list[Doc] = [_Break(" ")]
    for i, (name, value) in enumerate(record.fields):
        if i:
            risky = name in _KEYWORDS or _CURRENCY.fullmatch(name) is not None
            fields.append(_Break(", ", "," if risky else ""))
        fields.append((f"{name}: ", _expr(value)))
    return _Group(("{", _Nest(tuple(fields)), _Break(" "), "}"))


def _literal(expr: n.Expr) -> str:
    if isinstance(expr, n.BoolLit):
        return "true" if expr.value else "false"
    if isinstance(expr, n.IntLit):
        return str(expr.value)
    if isinstance(expr, n.DecimalLit):
        if expr.percent:
            # 0.125 was written 12.5%: print the percent number without trailing zeros.
            return format(expr.value.scaleb(2).normalize(), "f") + "%"
        text = format(expr.value, "f")  # "f" keeps the scale and never uses an exponent
        return text if "." in text else text + ".0"
    if isinstance(expr, n.MoneyLit):
        amount = format(expr.amount, "f")
        if expr.yuan_sign and expr.currency == "CNY":
            return f"-¥{amount[1:]}" if expr.amount.is_signed() else f"¥{amount}"
        return f"{amount} {expr.currency}"
    if isinstance(expr, n.StringLit):
        return _quote(expr.value)
    if isinstance(expr, n.DurationLit | n.DateTimeLit):
        return expr.text
    raise TypeError(f"not an expression node: {type(expr).__name__}")  # pragma: no cover


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


# ----------------------------------------------------------------------------- types


def _type(t: n.TypeExpr) -> str:
    if t.args is None:
        return t.name
    return f"{t.name}({', '.join(_type_arg(a) for a in t.args)})"


def _type_arg(arg: n.TypeArg) -> str:
    text = _quote(arg.value) if isinstance(arg.value, str) else _type(arg.value)
    return f"{arg.name}: {text}" if arg.name is not None else text


# ----------------------------------------------------------------------------- comments

_Item: TypeAlias = n.Decl | n.Attr
_Position: TypeAlias = tuple[int, int]


@dataclass(slots=True)
class _Placed:
    """Where each comment goes, keyed by the id of its item or of its container (a module, a
    block or a tag with attributes)."""

    leading: dict[int, list[str]] = field(default_factory=dict)
    trailing: dict[int, list[str]] = field(default_factory=dict)
    opening: dict[int, list[tuple[str, bool]]] = field(default_factory=dict)  # (text, after code)
    closing: dict[int, list[str]] = field(default_factory=dict)


def _start(item: _Item) -> _Position:
    return (item.span.line, item.span.column)


def _end(item: _Item) -> _Position:
    return (item.span.end_line, item.span.end_column)


def _children(item: _Item) -> tuple[_Item, ...] | None:
    """The items of a container, or None for an item that prints as one piece."""
    if isinstance(item, n.Block):
        return item.items
    if isinstance(item, n.TagDecl) and item.attrs:
        return item.attrs
    return None


def _place_comments(module: n.Module) -> _Placed:
    placed = _Placed()
    lines = module.source.split("\n")
    for comment in module.comments:
        pos = (comment.line, comment.column)
        line = lines[comment.line - 1] if 0 < comment.line <= len(lines) else ""
        after_code = line[: comment.column - 1].strip() != ""
        container: object = module
        items: tuple[_Item, ...] = module.decls
        inside = _enclosing(items, pos)
        while inside is not None:
            kids = _children(inside)
            if kids is None:
                break
            container, items = inside, kids
            inside = _enclosing(items, pos)
        if inside is not None:
            # Inside an item that prints as one piece: the comment goes before it.
            placed.leading.setdefault(id(inside), []).append(comment.text)
            continue
        _place_between(placed, comment, pos, after_code, container, module, items)
    return placed


def _enclosing(items: tuple[_Item, ...], pos: _Position) -> _Item | None:
    return next((item for item in items if _start(item) <= pos < _end(item)), None)


def _place_between(
    placed: _Placed,
    comment: n.Comment,
    pos: _Position,
    after_code: bool,
    container: object,
    module: n.Module,
    items: tuple[_Item, ...],
) -> None:
    """Place a comment that falls between the items of `container` (or before or after them)."""
    key = id(container)
    if after_code:
        ended = [item for item in items if _end(item) <= pos]
        on_line = [item for item in ended if item.span.end_line == comment.line]
        if on_line:
            placed.trailing.setdefault(id(max(on_line, key=_end)), []).append(comment.text)
            return
        if not ended and container is not module:
            # After the header of a block (`rule r {  # ...`), before its first item.
            placed.opening.setdefault(key, []).append((comment.text, True))
            return
    following = next((item for item in items if _start(item) > pos), None)
    if container is not module and (not items or following is items[0]):
        placed.opening.setdefault(key, []).append((comment.text, False))
    elif following is None:
        placed.closing.setdefault(key, []).append(comment.text)
    else:
        placed.leading.setdefault(id(following), []).append(comment.text)


# ----------------------------------------------------------------------------- declarations


def format_source(source: str, file: str = "<input>") -> tuple[str | None, list[Diagnostic]]:
    """Format one file's text; (None, diagnostics) when it has syntax errors."""
    module, diagnostics = parse(source, file)
    if module is None or any(d.is_error for d in diagnostics):
        return None, diagnostics
    return format_module(module), diagnostics


def format_module(module: n.Module) -> str:
    """The canonical text of a parsed module, ending with one newline (empty for nothing)."""
    placed = _place_comments(module)
    out: list[str] = []
    previous: str | None = None
    for decl in module.decls:
        lines = _item_lines(decl, 0, placed)
        kind = _one_line_kind(decl) if len(lines) == 1 else None
        if out and (kind is None or kind != previous):
            out.append("")
        out.extend(placed.leading.get(id(decl), []))
        out.extend(lines)
        previous = kind
    closing = placed.closing.get(id(module), [])
    if closing:
        if out:
            out.append("")
        out.extend(closing)
    return "\n".join(out) + "\n" if out else ""


def _one_line_kind(decl: n.Decl) -> str | None:
    """The group a one-line declaration keeps with its neighbours of the same kind."""
    if isinstance(decl, n.TagDecl):
        return None if decl.attrs else "tag"
    if isinstance(decl, n.EffectDecl):
        return "effect"
    if isinstance(decl, n.ConditionDecl):
        return "condition"
    return None


def _item_lines(item: _Item, depth: int, placed: _Placed) -> list[str]:
    """An item's own lines (with its trailing comment); its leading comments are the caller's."""
    indent = depth * INDENT
    pad = " " * indent
    if isinstance(item, n.Block):
        name = _quote(item.name) if item.quoted_name else item.name
        return _container_lines(f"{item.kind} {name}", item, item.items, depth, placed)
    if isinstance(item, n.TagDecl):
        header = f"tag {item.namespace}.{item.name}: {_type(item.type)}"
        if item.attrs:
            return _container_lines(header, item, item.attrs, depth, placed)
        lines = [pad + header]
    elif isinstance(item, n.EffectDecl):
        params = ", ".join(f"{p.name}: {_type(p.type)}" for p in item.params)
        lines = [f"{pad}effect {item.name}({params})"]
    elif isinstance(item, n.ConditionDecl):
        doc: Doc = (f"condition {item.name} = ", _expr(item.expr))
        lines = (pad + _render(doc, indent)).split("\n")
    else:
        doc = (f"{item.key} ", _expr(item.value))
        lines = (pad + _render(doc, indent)).split("\n")
    return _with_trailing(lines, item, pad, placed)


def _container_lines(
    header: str, node: n.Block | n.TagDecl, items: tuple[_Item, ...], depth: int, placed: _Placed
) -> list[str]:
    pad = " " * (depth * INDENT)
    inner = pad + " " * INDENT
    opening = placed.opening.get(id(node), [])
    closing = placed.closing.get(id(node), [])
    if not items and not opening and not closing:
        return _with_trailing([f"{pad}{header} {{}}"], node, pad, placed)
    first = f"{pad}{header} {{"
    if opening and opening[0][1]:
        first += "  " + opening[0][0]
        opening = opening[1:]
    lines = [first]
    lines.extend(inner + text for text, _ in opening)
    for i, item in enumerate(items):
        if i and isinstance(item, n.Block):
            lines.append("")
        lines.extend(inner + text for text in placed.leading.get(id(item), []))
        lines.extend(_item_lines(item, depth + 1, placed))
    lines.extend(inner + text for text in closing)
    lines.append(pad + "}")
    return _with_trailing(lines, node, pad, placed)


def _with_trailing(lines: list[str], item: _Item, pad: str, placed: _Placed) -> list[str]:
    trailing = placed.trailing.get(id(item), [])
    if trailing:
        lines[-1] += "  " + trailing[0]
        # Only one comment fits after an item's last line; any other one follows on its own.
        lines.extend(pad + text for text in trailing[1:])
    return lines
