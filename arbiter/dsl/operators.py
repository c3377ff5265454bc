"""Typing the operators: comparisons, membership and arithmetic, with the money rules — an
amount meets only an amount in the same currency, or a bare number literal, which takes the
amount's currency; datetimes and durations add up as expected; everything else is a
diagnostic naming both types."""

from __future__ import annotations

from arbiter.dsl import nodes as n
from arbiter.dsl import types as t
from arbiter.dsl.suggest import did_you_mean

ORDERING = {"<", "<=", ">", ">="}
EQUALITY = {"==", "!="}


def is_number_literal(node: n.Expr) -> bool:
    return isinstance(node, n.IntLit) or (isinstance(node, n.DecimalLit) and not node.percent)


class OperatorTyping:
    """The operator half of the expression checker (`exprcheck.ExpressionChecker`)."""

    types: dict[int, t.Type]

    def _error(self, code: str, message: str, span: n.Span, hint: str | None) -> None:
        """Report a diagnostic; the expression checker provides it."""

    def _compare(self, op: str, a: t.Type, b: t.Type, an: n.Expr, bn: n.Expr, span: n.Span) -> None:
        if t.UNKNOWN in (a, b):
            return
        verb = "order" if op in ORDERING else "compare"
        if isinstance(a, t.MoneyType) or isinstance(b, t.MoneyType):
            self._money_pair(op, a, b, an, bn, span, "compare")
            return
        if isinstance(a, t.EnumType) or isinstance(b, t.EnumType):
            if op in ORDERING or op == "between":
                self._error("dsl.type.mismatch", f"enum values have no order: cannot {verb} {describe(a)}", span, "compare with == or use `in [...]`")
                return
            for enum_type, _other, other_node in ((a, b, bn), (b, a, an)):
                if isinstance(enum_type, t.EnumType) and isinstance(other_node, n.StringLit):
                    if other_node.value not in enum_type.values:
                        self._error(
                            "dsl.type.enum_value",
                            f"\"{other_node.value}\" is not a value of {describe(enum_type)}",
                            other_node.span,
                            did_you_mean(other_node.value, enum_type.values, quote='"')
                            or "values: " + ", ".join(f'"{v}"' for v in enum_type.values),
                        )
                    return
            if t.is_stringlike(a) and t.is_stringlike(b):
                return
        if a == b and (op in EQUALITY or t.is_ordered(a)):
            return
        if t.is_numeric(a) and t.is_numeric(b):
            return
        if a == b:
            self._error("dsl.type.mismatch", f"cannot {verb} {describe(a)} values", span, None)
            return
        self._error(
            "dsl.type.mismatch",
            f"cannot {verb} {describe(a)} with {describe(b)}",
            span,
            quote_hint(an, bn),
        )

    def _money_pair(self, op: str, a: t.Type, b: t.Type, an: n.Expr, bn: n.Expr, span: n.Span, verb: str) -> bool:
        """Money meets money of the same currency, or a bare number literal (which takes the
        other side's currency). Returns whether the pair is valid."""
        if isinstance(a, t.MoneyType) and isinstance(b, t.MoneyType):
            if a.currency != b.currency:
                self._error(
                    "dsl.money.currency",
                    f"cannot {verb} {a} with {b}: the currencies differ",
                    span,
                    "amounts in different currencies never mix; convert upstream",
                )
                return False
            return True
        money_type, other, other_node = (a, b, bn) if isinstance(a, t.MoneyType) else (b, a, an)
        assert isinstance(money_type, t.MoneyType)
        if t.is_numeric(other) and is_number_literal(other_node):
            return True
        word = "compared" if verb == "compare" else "combined"
        self._error(
            "dsl.money.incompatible",
            f"an amount in {money_type.currency} cannot be {word} with {describe(other)}",
            span,
            f"write the amount with its currency, e.g. `300 {money_type.currency}`"
            if t.is_numeric(other)
            else "amounts compare only with amounts",
        )
        return False

    def _membership(self, op: str, item: t.Type, container: t.Type, item_node: n.Expr, container_node: n.Expr, e: n.Binary) -> None:
        if t.UNKNOWN in (item, container):
            return
        if container == t.MANAGED_LIST:
            if not (t.is_stringlike(item) or item == t.INT):
                self._error("dsl.type.mismatch", f"managed lists hold strings; cannot look for {describe(item)} in one", e.span, None)
            return
        if item == t.MANAGED_LIST:
            self._error("dsl.type.mismatch", "a managed list is looked up with `value in list(\"name\")`", e.span, None)
            return
        if container == t.SET:
            if not t.is_stringlike(item):
                self._error("dsl.type.mismatch", f"a set holds strings; cannot look for {describe(item)} in it", e.span, None)
            return
        if container == t.STRING or isinstance(container, t.EnumType):
            if not t.is_stringlike(item):
                self._error("dsl.type.mismatch", f"cannot look for {describe(item)} in a string", e.span, None)
            return
        if isinstance(container, t.ListType):
            if container.item == t.UNKNOWN:
                return
            if isinstance(container_node, n.ListLit):
                for member in container_node.items:
                    self._compare("==", item, self.types.get(id(member), t.UNKNOWN), item_node, member, member.span)
            else:
                self._compare("==", item, container.item, item_node, container_node, e.span)
            return
        side = "right" if op != "contains" else "left"
        self._error(
            "dsl.type.mismatch",
            f"the {side} side of `{op}` must be a list, a set or a string, but this is {describe(container)}",
            container_node.span,
            None,
        )

    def _arith(self, op: str, a: t.Type, b: t.Type, e: n.Binary) -> t.Type:
        if t.UNKNOWN in (a, b):
            return t.UNKNOWN
        if op in ("+", "-"):
            if t.is_numeric(a) and t.is_numeric(b):
                return t.INT if a == b == t.INT else t.DECIMAL
            if isinstance(a, t.MoneyType) or isinstance(b, t.MoneyType):
                if self._money_pair(op, a, b, e.left, e.right, e.span, "add" if op == "+" else "subtract"):
                    return a if isinstance(a, t.MoneyType) else b
                return t.UNKNOWN
            if a == t.DATETIME and b == t.DURATION:
                return t.DATETIME
            if op == "-" and a == b == t.DATETIME:
                return t.DURATION
            if a == b == t.DURATION:
                return t.DURATION
            if op == "+" and t.is_stringlike(a) and t.is_stringlike(b):
                return t.STRING
        elif op == "*":
            if t.is_numeric(a) and t.is_numeric(b):
                return t.INT if a == b == t.INT else t.DECIMAL
            if isinstance(a, t.MoneyType) and t.is_numeric(b):
                return a
            if t.is_numeric(a) and isinstance(b, t.MoneyType):
                return b
            if a == t.DURATION and b == t.INT:
                return t.DURATION
            if isinstance(a, t.MoneyType) and isinstance(b, t.MoneyType):
                self._error("dsl.money.incompatible", "cannot multiply money by money", e.span, "multiply an amount by a number")
                return t.UNKNOWN
        elif op == "/":
            if t.is_numeric(a) and t.is_numeric(b):
                return t.DECIMAL
            if isinstance(a, t.MoneyType) and t.is_numeric(b):
                return a
            if isinstance(a, t.MoneyType) and isinstance(b, t.MoneyType):
                if self._money_pair(op, a, b, e.left, e.right, e.span, "divide"):
                    return t.DECIMAL
                return t.UNKNOWN
        if (isinstance(a, t.MoneyType) or isinstance(b, t.MoneyType)) and op in ("+", "-", "*", "/"):
            other = b if isinstance(a, t.MoneyType) else a
            self._error("dsl.money.incompatible", f"an amount cannot be combined with {describe(other)} by `{op}`", e.span, None)
            return t.UNKNOWN
        self._error("dsl.type.mismatch", f"cannot apply `{op}` to {describe(a)} and {describe(b)}", e.span, None)
        return t.UNKNOWN


def describe(type_: t.Type) -> str:
    if isinstance(type_, t.EnumType):
        return "an enum (" + ", ".join(type_.values[:6]) + (", ..." if len(type_.values) > 6 else "") + ")"
    if isinstance(type_, t.MoneyType):
        return f"money ({type_.currency})"
    if isinstance(type_, t.ListType):
        return str(type_)
    if type_ == t.SET:
        return "a set of strings"
    if type_ == t.INT:
        return "int"
    return str(type_)


def quote_hint(a: n.Expr, b: n.Expr) -> str | None:
    for node in (a, b):
        if isinstance(node, n.StringLit):
            text = node.value.strip()
            if text.lstrip("-").replace(".", "", 1).isdigit():
                return f"write {text} without quotes to compare numbers"
            if text in ("true", "false"):
                return f"write {text} without quotes"
    return None
