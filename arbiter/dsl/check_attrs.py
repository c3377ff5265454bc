"""Reading declaration attributes: the shape a block must have (schema.py) checked, and each
attribute's value read as the kind it must be (a string, a whole number, a share, a symbol
from a list, names, a reference to another declaration), every problem a diagnostic.

This is the base of the declaration checker; `check_catalog`, `check_strategies` and
`check_blocks` build on it, and `checker.py` puts them together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from arbiter.dsl import nodes as n
from arbiter.dsl import types as t
from arbiter.dsl.diagnostics import Diagnostic, Severity
from arbiter.dsl.exprcheck import ExpressionChecker
from arbiter.dsl.model import (
    MISSING,
    Effect,
    Tag,
)
from arbiter.dsl.schema import AttrSpec, BlockSpec
from arbiter.dsl.suggest import did_you_mean


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


class AttributeReader:
    """Diagnostics and attribute readers shared by every declaration check."""

    diagnostics: list[Diagnostic]
    types: dict[int, t.Type]
    ex: ExpressionChecker
    tags: dict[str, Tag]
    effects: dict[str, Effect]
    conditions: dict[str, n.ConditionDecl]

    def error(self, code: str, message: str, span: n.Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, Severity.ERROR, hint))

    def warning(self, code: str, message: str, span: n.Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, Severity.WARNING, hint))

    def duplicate(self, what: str, name: str, span: n.Span, first: n.Span) -> None:
        self.error("dsl.name.duplicate", f"{what} `{name}` is declared twice", span, f"first declared at {first}")

    # ------------------------------------------------------------------ the program

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

    def strings(self, attr: n.Attr) -> list[str]:
        items = attr.value.items if isinstance(attr.value, n.ListLit) else (attr.value,)
        out: list[str] = []
        for item in items:
            if isinstance(item, n.StringLit):
                out.append(item.value)
            else:
                self.error("dsl.attr.invalid", f"`{attr.key}` takes strings, e.g. [\"SKU-1\", \"SKU-2\"]", item.span)
        return out
