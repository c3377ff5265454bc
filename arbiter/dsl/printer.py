r"""The canonical printer behind `arbiter fmt`: nodes back to rule-file text, one layout only.

`format_source` parses and prints a file (or returns the syntax diagnostics); `format_module`
prints a parsed module; `format_expr` prints one expression on one line, for explanations and
messages. Printing twice changes nothing, the output parses to the same declarations, and no
comment is ever lost.

The canonical layout:

* 4-space indentation, one attribute per line inside blocks: `kind name {` ... `}`; a block
  name written quoted stays quoted; an empty block is `kind name {}`.
* Blank lines: a blank line the author left between two items of a block, between two
  top-level declarations, or between comment lines that stand between them, is kept; runs of
  blank lines become one, and none is kept right after a block's opening line or at the start
  or end of the file. A blank line is always put between top-level declarations, except that
  consecutive declarations of the same kind without a block (tags without attributes,
  effects, conditions) stay together unless the author separated them; before a nested block
  unless it comes first in its block; and before the comments at the end of the file.
* `tag ns.name: type` has no block when it has no attributes, otherwise `tag ns.name: type {`
  and one attribute per line. Types print as `int`, `money(USD)`, `enum("a", "b")`,
  `list(sku: string, quantity: int)`. `effect name(field: type, ...)` and
  `condition name = expr` take one line each when they fit.
* Expressions carry only the parentheses their precedence needs (low to high: or, and, not,
  comparisons, + -, * /, unary minus, atoms). Comparisons do not chain, so a comparison
  operand that is one gets parentheses; so does a right operand of + - * / with the
  operator's own precedence, and an and/or operand that is itself an and/or of the same kind,
  because the tree written without them would be a different one.
* Literals: decimals keep their written scale (`89.00`), percentages print as percent
  numbers (`90%`, `12.5%`), money as `300.00 CNY` or `¥300.00` as written, strings in double
  quotes with `\\`, `\"`, `\n`, `\t` escaped, durations and dates as written.
* Lines are 100 columns wide (a wide character such as 中 counts two); what does not fit
  breaks, outermost first, and only where it reads well:
  - a list (`[...]`), the arguments of a call, the fields of a list type, the values of an
    enum and the parameters of an effect: one item per line one level deeper, each followed
    by a comma, the closing bracket on a line of its own;
  - a record: `{ key: value, key2: value2 }` on one line, otherwise one field per line one
    level deeper, without commas (the grammar makes them optional; one is kept only where
    the next field's name would otherwise read as a keyword or a currency code);
  - the body of a quantifier or an aggregate (`sum(`, then the body one level deeper, `)`);
  - the expression of a condition moves to the next line, one level deeper, after `=`;
  - the and/or chain that is the whole value of an attribute or a condition: each operand
    after the first on a line of its own, one level deeper, led by its `and` or `or`; an
    `and` chain that is an operand of such an `or` chain breaks the same way, one level
    deeper still.
  Nothing else breaks, so a long comparison or a chain in parentheses stays on its line.
* Comments: one on its own line stays before the item that follows it (at that item's
  indentation), or before the closing `}` of its block, or at the end of the file; one after
  code stays at the end of the line of the item it follows, two spaces before `#`. One after
  a block's opening line stays there. A comment inside a multi-line item that cannot keep its
  place moves before that item. Comments do not count towards a line's width.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from arbiter.dsl import nodes as n
from arbiter.dsl.diagnostics import Diagnostic
from arbiter.dsl.parser import parse

WIDTH = 100
INDENT = 4

# ----------------------------------------------------------------------------- layout documents
# A small Wadler-style document: text, concatenation (a tuple), a nested part, a break that is
# flat text or a newline, and a group whose breaks are all flat or all newlines. A group is
# laid out flat when it fits on the rest of its line, up to the next break that is already a
# newline (a later group counts as broken there, so that the last of several groups on a
# line is the one that breaks).


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


def _width(text: str) -> int:
    """Columns `text` takes in a terminal: a wide (CJK) character takes two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _render(doc: Doc, indent: int) -> str:
    """Lay `doc` out from column `indent`; a group stays flat when the rest of its line fits."""
    out: list[str] = []
    column = indent
    stack: list[_Frame] = [(indent, False, doc)]
    while stack:
        ind, flat, d = stack.pop()
        if isinstance(d, str):
            out.append(d)
            column += _width(d)
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
            width -= _width(d)
        elif isinstance(d, tuple | _Group):
            # A group takes the mode of its frame: flat inside `parts`, broken after them.
            todo.extend((flat, part) for part in reversed(d if isinstance(d, tuple) else d.parts))
        elif isinstance(d, _Nest):
            todo.extend((flat, part) for part in reversed(d.parts))
        else:
            if not flat:
                return True
            width -= len(d.flat)
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


def _bracketed(opening: str, items: Sequence[Doc], closing: str) -> Doc:
    """`opening item, item closing` on one line, or one item per line with trailing commas."""
    if not items:
        return opening + closing
    inner: list[Doc] = [_Break("")]
    for i, item in enumerate(items):
        if i:
            inner.append(_Break(", ", ","))
        inner.append(item)
    return _Group((opening, _Nest(tuple(inner)), _Break("", ","), closing))


def _hugged(opening: str, body: Doc, closing: str) -> Doc:
    """`opening body closing` on one line, or the body alone on the lines between."""
    return _Group((opening, _Nest((_Break(""), body)), _Break(""), closing))


# ----------------------------------------------------------------------------- expressions

_OR, _AND, _NOT, _COMPARE, _SUM, _PRODUCT, _UNARY, _ATOM = range(1, 9)
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains"})
# Names that, after a value, would be read as part of the expression: a record field with
# such a name keeps the comma before it when its record is broken over lines.
_KEYWORDS = frozenset({
    "and", "or", "not", "in", "contains", "between", "for", "where", "true", "false",
    "any", "all", "count", "sum", "min", "max", "tag", "condition", "effect", "by", "within",
    "distinct",
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


def _value(expr: n.Expr) -> Doc:
    """The whole value of an attribute or a condition: an and/or chain there may break."""
    return _chain(expr) if isinstance(expr, n.BoolOp) else _expr(expr)


def _chain(expr: n.BoolOp) -> Doc:
    """An and/or chain that breaks before each operator, one level deeper than its first
    operand; an `and` chain inside an `or` chain breaks the same way one level deeper still,
    so that the lines show the tree."""
    least = _AND if expr.op == "or" else _NOT
    parts: list[Doc] = []
    for operand in expr.operands:
        # Only an `and` inside an `or` goes without parentheses, and so may break too.
        nested = isinstance(operand, n.BoolOp) and _precedence(operand) >= least
        doc = _chain(operand) if isinstance(operand, n.BoolOp) and nested else _operand(operand, least)
        if parts:
            parts.extend((_Break(" "), f"{expr.op} ", doc))
        else:
            # Only a nested chain starts inside the indentation: its own breaks go deeper.
            parts.append(_Nest((doc,)) if nested else doc)
    return _Group((parts[0], _Nest(tuple(parts[1:]))))


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
        args = [
            (f"{arg.name}: ", _expr(arg.value)) if arg.name else _expr(arg.value)
            for arg in expr.args
        ]
        return _bracketed(f"{expr.name}(", args, ")")
    if isinstance(expr, n.Quantifier):
        where: Doc = (" where ", _expr(expr.where)) if expr.where is not None else ""
        return _hugged(f"{expr.kind}(", (f"{expr.var} in ", _expr(expr.source), where), ")")
    if isinstance(expr, n.Aggregate):
        where = (" where ", _expr(expr.where)) if expr.where is not None else ""
        body = (_expr(expr.value), f" for {expr.var} in ", _expr(expr.source), where)
        return _hugged(f"{expr.kind}(", body, ")")
    if isinstance(expr, n.Velocity):
        counted: Doc = expr.event if expr.event is not None else _expr(expr.measure) if expr.measure else ""
        return _hugged(f"{expr.kind}(", (counted, " by ", _expr(expr.key), f" within {expr.window_text}"), ")")
    if isinstance(expr, n.ListLit):
        return _bracketed("[", [_expr(item) for item in expr.items], "]")
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


def _type(t: n.TypeExpr) -> Doc:
    if t.args is None:
        return t.name
    return _bracketed(f"{t.name}(", [_type_arg(a) for a in t.args], ")")


def _type_arg(arg: n.TypeArg) -> Doc:
    value = _quote(arg.value) if isinstance(arg.value, str) else _type(arg.value)
    return (f"{arg.name}: ", value) if arg.name is not None else value


# ----------------------------------------------------------------------------- comments

_Item: TypeAlias = n.Decl | n.Attr
_Position: TypeAlias = tuple[int, int]
_Entry: TypeAlias = tuple[bool, list[str]]  # (a blank line before it, its lines)


@dataclass(slots=True)
class _Placed:
    """Where each comment goes, keyed by the id of its item or of its container (a module, a
    block or a tag with attributes), each with whether a blank line stood before it; and the
    source lines, to tell where the author left blank lines between items."""

    lines: list[str]
    leading: dict[int, list[tuple[str, bool]]] = field(default_factory=dict)
    moved: dict[int, list[str]] = field(default_factory=dict)  # from inside a one-piece item
    trailing: dict[int, list[str]] = field(default_factory=dict)
    opening: dict[int, list[tuple[str, bool, bool]]] = field(default_factory=dict)  # after code?
    closing: dict[int, list[tuple[str, bool]]] = field(default_factory=dict)

    def blank_before(self, line: int, column: int) -> bool:
        """Whether an empty line separates what starts at (line, column) from what precedes it."""
        if not 2 <= line <= len(self.lines):
            return False
        return self.lines[line - 1][: column - 1].strip() == "" and not self.lines[line - 2].strip()


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
    placed = _Placed(module.source.split("\n"))
    for comment in module.comments:
        pos = (comment.line, comment.column)
        line = placed.lines[comment.line - 1] if 0 < comment.line <= len(placed.lines) else ""
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
            placed.moved.setdefault(id(inside), []).append(comment.text)
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
            placed.opening.setdefault(key, []).append((comment.text, True, False))
            return
    blank = placed.blank_before(*pos)
    following = next((item for item in items if _start(item) > pos), None)
    if container is not module and (not items or following is items[0]):
        placed.opening.setdefault(key, []).append((comment.text, False, blank))
    elif following is None:
        placed.closing.setdefault(key, []).append((comment.text, blank))
    else:
        placed.leading.setdefault(id(following), []).append((comment.text, blank))


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
    entries: list[_Entry] = []
    previous: str | None = None
    for decl in module.decls:
        kind = _unblocked_kind(decl)
        forced = kind is None or kind != previous
        entries.extend(_item_entries(decl, _item_lines(decl, 0, placed), 0, placed, forced))
        previous = kind
    for i, (text, blank) in enumerate(placed.closing.get(id(module), [])):
        entries.append((blank or i == 0, [text]))
    out = _join(entries)
    return "\n".join(out) + "\n" if out else ""


def _join(entries: list[_Entry]) -> list[str]:
    """The entries' lines, one blank line between two entries where either asks for it; never
    one before the first."""
    out: list[str] = []
    for blank, lines in entries:
        if blank and out:
            out.append("")
        out.extend(lines)
    return out


def _item_entries(
    item: _Item, lines: list[str], depth: int, placed: _Placed, forced: bool
) -> list[_Entry]:
    """An item's comments and lines; `forced` puts a blank line before all of them."""
    pad = " " * (depth * INDENT)
    entries: list[_Entry] = [(blank, [pad + text]) for text, blank in placed.leading.get(id(item), [])]
    blank = placed.blank_before(*_start(item))
    moved = placed.moved.get(id(item), [])
    if moved:
        # The blank line before the item now goes before the comments taken out of it.
        entries.append((blank, [pad + text for text in moved]))
        blank = False
    entries.append((blank, lines))
    if forced:
        entries[0] = (True, entries[0][1])
    return entries


def _unblocked_kind(decl: n.Decl) -> str | None:
    """The group a declaration without a block keeps with its neighbours of the same kind."""
    if isinstance(decl, n.TagDecl):
        return None if decl.attrs else "tag"
    if isinstance(decl, n.EffectDecl):
        return "effect"
    if isinstance(decl, n.ConditionDecl):
        return "condition"
    return None


def _doc_lines(doc: Doc, depth: int) -> list[str]:
    indent = depth * INDENT
    return (" " * indent + _render(doc, indent)).split("\n")


def _item_lines(item: _Item, depth: int, placed: _Placed) -> list[str]:
    """An item's own lines (with its trailing comment); its leading comments are the caller's."""
    pad = " " * (depth * INDENT)
    doc: Doc
    if isinstance(item, n.Block):
        name = _quote(item.name) if item.quoted_name else item.name
        return _container_lines(f"{item.kind} {name}", item, item.items, depth, placed)
    if isinstance(item, n.TagDecl):
        header: Doc = (f"tag {item.namespace}.{item.name}: ", _type(item.type))
        if item.attrs:
            return _container_lines(header, item, item.attrs, depth, placed)
        doc = header
    elif isinstance(item, n.EffectDecl):
        params = [(f"{p.name}: ", _type(p.type)) for p in item.params]
        doc = _bracketed(f"effect {item.name}(", params, ")")
    elif isinstance(item, n.ConditionDecl):
        doc = (f"condition {item.name} =", _Group((_Nest((_Break(" "), _value(item.expr))),)))
    else:
        doc = (f"{item.key} ", _value(item.value))
    return _with_trailing(_doc_lines(doc, depth), item, pad, placed)


def _container_lines(
    header: Doc, node: n.Block | n.TagDecl, items: tuple[_Item, ...], depth: int, placed: _Placed
) -> list[str]:
    pad = " " * (depth * INDENT)
    inner = pad + " " * INDENT
    opening = placed.opening.get(id(node), [])
    closing = placed.closing.get(id(node), [])
    if not items and not opening and not closing:
        return _with_trailing(_doc_lines((header, " {}"), depth), node, pad, placed)
    lines = _doc_lines((header, " {"), depth)
    if opening and opening[0][1]:
        lines[-1] += "  " + opening[0][0]
        opening = opening[1:]
    entries: list[_Entry] = [(blank, [inner + text]) for text, _, blank in opening]
    for i, item in enumerate(items):
        forced = i > 0 and isinstance(item, n.Block)
        entries.extend(
            _item_entries(item, _item_lines(item, depth + 1, placed), depth + 1, placed, forced)
        )
    entries.extend((blank, [inner + text]) for text, blank in closing)
    lines.extend(_join(entries))
    lines.append(pad + "}")
    return _with_trailing(lines, node, pad, placed)


def _with_trailing(lines: list[str], item: _Item, pad: str, placed: _Placed) -> list[str]:
    trailing = placed.trailing.get(id(item), [])
    if trailing:
        lines[-1] += "  " + trailing[0]
        # Only one comment fits after an item's last line; any other one follows on its own.
        lines.extend(pad + text for text in trailing[1:])
    return lines
