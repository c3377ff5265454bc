"""Explanations: every rule of a strategy, whether it matched, and the value of each
sub-expression, so an operator can see why a user did or did not get something.

Values come from the reference interpreter, one sub-expression at a time, with the text as
the operator wrote it (sliced from the rule file by the node's span). Expressions inside a
quantifier depend on the item being looked at, so only the quantifier's own value is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arbiter.dsl import nodes as n
from arbiter.dsl.interpreter import evaluate
from arbiter.dsl.model import Program, Strategy
from arbiter.dsl.runtime import EvaluationError, output
from arbiter.dsl.walk import children
from arbiter.engine.decision import ExprTrace, RuleTrace
from arbiter.engine.strategies import Outcome

_LITERALS = (n.BoolLit, n.IntLit, n.DecimalLit, n.MoneyLit, n.StringLit, n.DurationLit, n.DateTimeLit)


def source_text(program: Program, span: n.Span) -> str:
    source = program.sources.get(span.file)
    if source is None or span.line < 1:
        return "?"
    lines = source.split("\n")[span.line - 1 : span.end_line]
    if not lines:
        return "?"
    if len(lines) == 1:
        return lines[0][span.column - 1 : span.end_column - 1]
    lines[0] = lines[0][span.column - 1 :]
    lines[-1] = lines[-1][: span.end_column - 1]
    return " ".join(part.strip() for part in lines)


def trace_expression(expr: n.Expr, ctx: Mapping[str, Any], program: Program) -> tuple[ExprTrace, ...]:
    parts: list[ExprTrace] = []

    def visit(node: n.Expr) -> None:
        if isinstance(node, _LITERALS):
            return
        text = source_text(program, node.span)
        try:
            value = output(evaluate(node, ctx, program), program.type_of(node))
            parts.append(ExprTrace(text, value, node.span.line, node.span.column))
        except EvaluationError as exc:
            parts.append(ExprTrace(text, None, node.span.line, node.span.column, exc.message))
        if isinstance(node, n.Quantifier | n.Aggregate):
            return
        if isinstance(node, n.Name) and len(node.parts) == 1 and node.parts[0] in program.conditions:
            visit(program.conditions[node.parts[0]].expr)  # show what the named condition saw
            return
        for child in children(node):
            visit(child)

    visit(expr)
    return tuple(parts)


def explain_strategy(
    program: Program, strategy: Strategy, ctx: Mapping[str, Any], outcome: Outcome
) -> tuple[RuleTrace, ...]:
    traces: list[RuleTrace] = []
    fired = set(outcome.fired)
    first_fired = outcome.fired[0] if outcome.fired else None
    groups_taken: dict[str, str] = {}
    for rule in strategy.rules:
        # Every rule's condition is evaluated here, even those the decision did not need to
        # look at, so an operator sees which lower rules would also have matched.
        matched, failure = _holds(rule.when, ctx, program)
        if failure is not None:
            note = f"could not be evaluated: {failure}"
        elif strategy.hit == "first":
            if rule.id in fired:
                note = "matched: the highest-priority match fires"
            elif matched:
                note = f"matched, but `{first_fired}` fired first" if first_fired else "matched"
            else:
                note = "did not match"
        elif strategy.hit == "all":
            if rule.id in fired:
                note = "matched"
                if rule.group is not None:
                    groups_taken.setdefault(rule.group, rule.id)
            elif matched and rule.group is not None:
                note = f"matched, but excluded by `{groups_taken.get(rule.group, '?')}` in group \"{rule.group}\""
            else:
                note = "matched" if matched else "did not match"
        else:
            note = f"matched: +{rule.score}" if matched else "did not match"
        parts = trace_expression(rule.when, ctx, program) if rule.when is not None else ()
        if rule.when is None:
            note += " (no condition: always matches)"
        traces.append(RuleTrace(rule.id, rule.priority, matched, rule.id in fired, note, parts))
    return tuple(traces)


def _holds(when: n.Expr | None, ctx: Mapping[str, Any], program: Program) -> tuple[bool, str | None]:
    if when is None:
        return True, None
    try:
        return bool(evaluate(when, ctx, program)), None
    except EvaluationError as exc:
        return False, exc.message
