"""The syntax tree of the rule language: frozen dataclasses, each with a Span.

The Lark tree never leaves `arbiter.dsl`: `parser.py` turns it into these nodes, and every
later stage (checker, compiler, interpreter, printer) reads only these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node stands in its file: 1-based lines and columns, end exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NO_SPAN = Span("<none>", 0, 0, 0, 0)


# ----------------------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class BoolLit:
    value: bool
    span: Span


@dataclass(frozen=True, slots=True)
class IntLit:
    value: int
    span: Span


@dataclass(frozen=True, slots=True)
class DecimalLit:
    """An exact decimal such as 0.95; `percent` marks one written as 95%."""

    value: Decimal
    span: Span
    percent: bool = False


@dataclass(frozen=True, slots=True)
class MoneyLit:
    amount: Decimal
    currency: str
    span: Span
    yuan_sign: bool = False


@dataclass(frozen=True, slots=True)
class StringLit:
    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class DurationLit:
    value: timedelta
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class DateTimeLit:
    value: datetime
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class ListLit:
    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class RecordLit:
    fields: tuple[tuple[str, Expr], ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Name:
    """A dotted name: a tag (`user.age`), a condition (`new_user`), a loop variable's field
    (`line.price`) or a bare symbol in a declaration (`first`, `data`)."""

    parts: tuple[str, ...]
    span: Span

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Arg:
    name: str | None
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Call:
    """A function call (`len(user.tags)`) or an effect (`show(content: "x")`)."""

    name: str
    args: tuple[Arg, ...]
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "not" | "-"
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class BoolOp:
    """`a and b and c` or `a or b or c`: chains are flat, however long."""

    op: str  # "and" | "or"
    operands: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Binary:
    """`op` is one of: == != < <= > >= in "not in" contains + - * /"""

    op: str
    left: Expr
    right: Expr
    span: Span
    op_span: Span


@dataclass(frozen=True, slots=True)
class Between:
    value: Expr
    low: Expr
    high: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Quantifier:
    """any / all / count over a list: `any(line in order.lines where line.quantity >= 2)`."""

    kind: str
    var: str
    source: Expr
    where: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class Aggregate:
    """sum / min / max over a list: `sum(line.price for line in order.lines)`."""

    kind: str
    value: Expr
    var: str
    source: Expr
    where: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class Velocity:
    """A count, distinct count or sum over recorded events in a sliding window, per key:
    `count(order by user.id within 1h)`, `distinct(user.id by passthrough.device_id within 1d)`,
    `sum(payment.amount by payment.card within 1d)`."""

    kind: str  # count | distinct | sum
    event: str | None  # count: the kind of event counted
    measure: Expr | None  # distinct and sum: what is counted or added up
    key: Expr
    window: timedelta
    window_text: str
    span: Span


Expr = (
    BoolLit
    | IntLit
    | DecimalLit
    | MoneyLit
    | StringLit
    | DurationLit
    | DateTimeLit
    | ListLit
    | RecordLit
    | Name
    | Call
    | Unary
    | BoolOp
    | Binary
    | Between
    | Quantifier
    | Aggregate
    | Velocity
)


# ----------------------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class TypeArg:
    """One argument of a type: an enum value, a name (a currency) or a record field."""

    name: str | None
    value: str | TypeExpr
    span: Span


@dataclass(frozen=True, slots=True)
class TypeExpr:
    name: str
    args: tuple[TypeArg, ...] | None
    span: Span


@dataclass(frozen=True, slots=True)
class Attr:
    """`key value` inside a block, e.g. `priority 10` or `when user.age >= 18`."""

    key: str
    value: Expr
    span: Span
    key_span: Span


@dataclass(frozen=True, slots=True)
class Block:
    """`kind name { items }`: scene, strategy, rule, band, promotion, experiment, variant, test."""

    kind: str
    name: str
    items: tuple[Attr | Block, ...]
    span: Span
    name_span: Span
    quoted_name: bool = False

    def attrs(self, key: str) -> tuple[Attr, ...]:
        return tuple(i for i in self.items if isinstance(i, Attr) and i.key == key)

    def attr(self, key: str) -> Attr | None:
        for item in self.items:
            if isinstance(item, Attr) and item.key == key:
                return item
        return None

    def blocks(self, kind: str | None = None) -> tuple[Block, ...]:
        return tuple(i for i in self.items if isinstance(i, Block) and (kind is None or i.kind == kind))


@dataclass(frozen=True, slots=True)
class TagDecl:
    namespace: str
    name: str
    type: TypeExpr
    attrs: tuple[Attr, ...]
    span: Span
    name_span: Span
    has_block: bool

    @property
    def path(self) -> str:
        return f"{self.namespace}.{self.name}"


@dataclass(frozen=True, slots=True)
class ConditionDecl:
    name: str
    expr: Expr
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: TypeExpr
    span: Span


@dataclass(frozen=True, slots=True)
class EffectDecl:
    name: str
    params: tuple[Param, ...]
    span: Span
    name_span: Span


Decl = TagDecl | ConditionDecl | EffectDecl | Block


@dataclass(frozen=True, slots=True)
class Comment:
    text: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Module:
    """One parsed rule file."""

    file: str
    decls: tuple[Decl, ...]
    comments: tuple[Comment, ...]
    source: str
