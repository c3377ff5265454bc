"""Walking checked expressions: the children of a node, and the velocity feature a velocity
expression reads (named by its canonical text)."""

from __future__ import annotations

from arbiter.dsl import nodes as n
from arbiter.dsl import types as t
from arbiter.dsl.model import Feature


def feature_of(e: n.Velocity, type_: t.Type) -> Feature:
    """The feature a velocity expression reads; its canonical text is its id."""
    from arbiter.dsl.printer import format_expr  # printer -> parser; imported late to stay light

    return Feature(format_expr(e), e.kind, e.event, e.measure, e.key, e.window, type_)


def children(e: n.Expr) -> tuple[n.Expr, ...]:
    match e:
        case n.ListLit():
            return e.items
        case n.RecordLit():
            return tuple(v for _, v in e.fields)
        case n.Call():
            return tuple(a.value for a in e.args)
        case n.Unary():
            return (e.operand,)
        case n.BoolOp():
            return e.operands
        case n.Binary():
            return (e.left, e.right)
        case n.Between():
            return (e.value, e.low, e.high)
        case n.Quantifier():
            return (e.source,) + ((e.where,) if e.where is not None else ())
        case n.Aggregate():
            return (e.value, e.source) + ((e.where,) if e.where is not None else ())
        case n.Velocity():
            return ((e.measure,) if e.measure is not None else ()) + (e.key,)
    return ()
