"""Compiled code and the reference interpreter agree on every value.

Hypothesis writes random well-typed expressions (as rule-language text, so the parser and the
checker are exercised too) and random contexts; the compiled function runs WITHOUT its
interpreter fallback, so the compiled path is tested on its own. When the compiled path
raises, the interpreter must report an EvaluationError for the same context.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st

from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import _FALLBACK, CompileError, Compiler, compile_program
from arbiter.dsl.interpreter import evaluate
from arbiter.dsl.parser import parse_expression
from arbiter.dsl.runtime import EvaluationError

CATALOG = """
tag user.age: int
tag user.level: int { default 1 }
tag user.score: decimal
tag user.region: enum("east", "west", "north", "south")
tag user.name: string
tag user.tags: set { default [] }
tag user.vip: bool
tag user.balance: money
tag user.registered_at: datetime
tag order.amount: money
tag order.count: int
tag order.lines: list(category: string, quantity: int, price: money, gift: bool)
tag goods.category: string
tag goods.weight: decimal
condition adult = user.age >= 18
condition rich = order.amount >= 500 or user.vip
"""

RESULT = check_sources({"catalog.rules": CATALOG})
assert RESULT.ok, RESULT.diagnostics
RULESET = compile_program(RESULT)
PROGRAM = RULESET.program
COMPILER = Compiler(PROGRAM)

INT_TAGS = ["user.age", "user.level", "order.count"]
DEC_TAGS = ["user.score", "goods.weight"]
MONEY_TAGS = ["user.balance", "order.amount"]
STR_TAGS = ["user.name", "goods.category"]
REGIONS = ["east", "west", "north", "south"]
WORDS = ["phone", "laptop", "vip", "new_user", "east", "", "Phone"]

small_ints = st.integers(min_value=-50, max_value=500)
decimals = st.decimals(min_value=Decimal("-100"), max_value=Decimal("1000"), places=2, allow_nan=False)


def dec_text(value: Decimal) -> str:
    text = format(value, "f")
    return text if "." in text else text + ".0"


@st.composite
def int_expr(draw: st.DrawFn, depth: int, var: str | None = None) -> str:
    options = ["lit", "tag"] + (["field"] if var else [])
    if depth > 0:
        options += ["arith", "len", "count", "abs", "floor", "sum"]
    kind = draw(st.sampled_from(options))
    if kind == "lit":
        return str(draw(small_ints))
    if kind == "tag":
        return draw(st.sampled_from(INT_TAGS))
    if kind == "field":
        return f"{var}.quantity"
    if kind == "arith":
        op = draw(st.sampled_from(["+", "-", "*"]))
        return f"({draw(int_expr(depth - 1, var))} {op} {draw(int_expr(depth - 1, var))})"
    if kind == "len":
        return draw(st.sampled_from(["len(user.tags)", "len(order.lines)", "len(user.name)"]))
    if kind == "count":
        return f"count(l{depth} in order.lines where {draw(bool_expr(depth - 1, f'l{depth}'))})"
    if kind == "abs":
        return f"abs({draw(int_expr(depth - 1, var))})"
    if kind == "floor":
        return f"floor({draw(dec_expr(depth - 1, var))})"
    return f"sum(l{depth}.quantity for l{depth} in order.lines)"


@st.composite
def dec_expr(draw: st.DrawFn, depth: int, var: str | None = None) -> str:
    options = ["lit", "tag"]
    if depth > 0:
        options += ["arith", "div", "round", "mix"]
    kind = draw(st.sampled_from(options))
    if kind == "lit":
        return dec_text(draw(decimals))
    if kind == "tag":
        return draw(st.sampled_from(DEC_TAGS))
    if kind == "arith":
        op = draw(st.sampled_from(["+", "-", "*"]))
        return f"({draw(dec_expr(depth - 1, var))} {op} {draw(dec_expr(depth - 1, var))})"
    if kind == "div":
        return f"({draw(dec_expr(depth - 1, var))} / {draw(int_expr(depth - 1, var))})"
    if kind == "round":
        return f"round({draw(dec_expr(depth - 1, var))}, {draw(st.integers(0, 3))})"
    return f"({draw(int_expr(depth - 1, var))} + {draw(dec_expr(depth - 1, var))})"


@st.composite
def money_expr(draw: st.DrawFn, depth: int, var: str | None = None) -> str:
    options = ["lit", "tag"] + (["field"] if var else [])
    if depth > 0:
        options += ["add", "scale", "sum", "div", "max"]
    kind = draw(st.sampled_from(options))
    if kind == "lit":
        return f"{dec_text(abs(draw(decimals)))} CNY"
    if kind == "tag":
        return draw(st.sampled_from(MONEY_TAGS))
    if kind == "field":
        return f"{var}.price"
    if kind == "add":
        op = draw(st.sampled_from(["+", "-"]))
        return f"({draw(money_expr(depth - 1, var))} {op} {draw(money_expr(depth - 1, var))})"
    if kind == "scale":
        return f"({draw(money_expr(depth - 1, var))} * {draw(dec_expr(depth - 1, var))})"
    if kind == "sum":
        v = f"m{depth}"
        where = f" where {draw(bool_expr(depth - 1, v))}" if draw(st.booleans()) else ""
        return f"sum({v}.price * {v}.quantity for {v} in order.lines{where})"
    if kind == "div":
        return f"({draw(money_expr(depth - 1, var))} / {draw(int_expr(depth - 1, var))})"
    return f"max(x{depth}.price for x{depth} in order.lines)"


@st.composite
def str_expr(draw: st.DrawFn, depth: int, var: str | None = None) -> str:
    options = ["lit", "tag"] + (["field"] if var else [])
    if depth > 0:
        options += ["lower", "concat"]
    kind = draw(st.sampled_from(options))
    if kind == "lit":
        return '"' + draw(st.sampled_from(WORDS)) + '"'
    if kind == "tag":
        return draw(st.sampled_from(STR_TAGS))
    if kind == "field":
        return f"{var}.category"
    if kind == "lower":
        return f"{draw(st.sampled_from(['lower', 'upper']))}({draw(str_expr(depth - 1, var))})"
    return f"({draw(str_expr(depth - 1, var))} + {draw(str_expr(depth - 1, var))})"


@st.composite
def bool_expr(draw: st.DrawFn, depth: int, var: str | None = None) -> str:
    options = ["lit", "cmp_int", "cmp_str", "region", "tagset", "vip"] + (["gift"] if var else [])
    if depth > 0:
        options += ["and", "or", "not", "cmp_dec", "cmp_money", "between", "in_list", "any", "all",
                    "cond", "contains", "starts", "datetime"]
    kind = draw(st.sampled_from(options))
    cmp = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    d = max(depth - 1, 0)
    if kind == "lit":
        return draw(st.sampled_from(["true", "false"]))
    if kind == "cmp_int":
        return f"{draw(int_expr(d, var))} {cmp} {draw(int_expr(d, var))}"
    if kind == "cmp_dec":
        return f"{draw(dec_expr(d, var))} {cmp} {draw(dec_expr(d, var))}"
    if kind == "cmp_money":
        right = draw(money_expr(d, var)) if draw(st.booleans()) else str(draw(small_ints))
        return f"{draw(money_expr(d, var))} {cmp} {right}"
    if kind == "cmp_str":
        return f"{draw(str_expr(d, var))} {draw(st.sampled_from(['==', '!=']))} {draw(str_expr(d, var))}"
    if kind == "region":
        return f'user.region {draw(st.sampled_from(["==", "!="]))} "{draw(st.sampled_from(REGIONS))}"'
    if kind == "tagset":
        return f'"{draw(st.sampled_from(WORDS))}" {draw(st.sampled_from(["in", "not in"]))} user.tags'
    if kind == "contains":
        return f'user.tags contains "{draw(st.sampled_from(WORDS))}"'
    if kind == "vip":
        return "user.vip"
    if kind == "gift":
        return f"{var}.gift"
    if kind == "and" or kind == "or":
        parts = [draw(bool_expr(d, var)) for _ in range(draw(st.integers(2, 4)))]
        return "(" + f" {kind} ".join(parts) + ")"
    if kind == "not":
        return f"not ({draw(bool_expr(d, var))})"
    if kind == "between":
        return f"{draw(int_expr(d, var))} between {draw(int_expr(d, var))} and {draw(int_expr(d, var))}"
    if kind == "in_list":
        items = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4))
        op = draw(st.sampled_from(["in", "not in"]))
        return f"{draw(str_expr(d, var))} {op} [" + ", ".join(f'"{w}"' for w in items) + "]"
    if kind in ("any", "all"):
        v = f"q{depth}"
        return f"{kind}({v} in order.lines where {draw(bool_expr(d, v))})"
    if kind == "cond":
        return draw(st.sampled_from(["adult", "rich", "not adult"]))
    if kind == "starts":
        return f"starts_with({draw(str_expr(d, var))}, {draw(str_expr(d, var))})"
    return f"days_since(user.registered_at) {cmp} {draw(small_ints)}"


line_strategy = st.fixed_dictionaries({
    "category": st.sampled_from(WORDS),
    "quantity": st.integers(0, 5),
    "price": decimals.map(abs),
    "gift": st.booleans(),
})


@st.composite
def contexts(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "user": {
            "age": draw(small_ints),
            "level": draw(st.integers(0, 5)),
            "score": draw(decimals),
            "region": draw(st.sampled_from(REGIONS)),
            "name": draw(st.sampled_from(WORDS)),
            "tags": draw(st.lists(st.sampled_from(WORDS), max_size=3)),
            "vip": draw(st.booleans()),
            "balance": draw(decimals),
            "registered_at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=draw(st.integers(0, 24 * 400))),
        },
        "order": {
            "amount": draw(decimals.map(abs)),
            "count": draw(st.integers(0, 10)),
            "lines": draw(st.lists(line_strategy, max_size=4)),
        },
        "goods": {"category": draw(st.sampled_from(WORDS)), "weight": draw(decimals)},
    }


any_expr = st.one_of(
    bool_expr(3), int_expr(3), dec_expr(3), money_expr(3), str_expr(2),
)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _run(fn: Any) -> tuple[str, Any]:
    try:
        return "value", fn()
    except EvaluationError as exc:
        return "error", exc.message
    except _FALLBACK as exc:
        return "raised", type(exc).__name__


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=any_expr, raw=contexts())
def test_compiled_code_agrees_with_the_interpreter(text: str, raw: dict[str, Any]) -> None:
    expr, problems = parse_expression(text)
    assert not problems and expr is not None, (text, problems)
    try:
        checked = RULESET.compile_expression(text)  # type-checks; the fallback version
    except CompileError as exc:
        # Nested quantifiers may exceed the static cost limit: a refusal, not a disagreement.
        assert "dsl.limit.cost" in str(exc), (text, str(exc))
        reject()
    fast = COMPILER.expression(checked.expr, program=checked.program, fallback=False)
    ctx = RULESET.prepare(raw, now=NOW)
    compiled = _run(lambda: fast.fn(ctx))
    interpreted = _run(lambda: evaluate(checked.expr, ctx, checked.program))
    event(f"compiled path: {compiled[0]}")
    assert interpreted[0] != "raised", (text, interpreted)
    if compiled[0] == "value":
        assert interpreted == compiled, text
        assert type(interpreted[1]) is type(compiled[1]), text
        assert checked.fn(ctx) == compiled[1]
    else:
        # The compiled path gave up: the interpreter must explain why with an EvaluationError.
        assert interpreted[0] == "error", (text, compiled, interpreted)


def test_missing_values_use_defaults_or_fail_clearly() -> None:
    level = RULESET.compile_expression("user.level + 1")
    assert level(RULESET.prepare({})) == 2  # default 1, filled by prepare
    assert level({"user": {}}) == 2  # default applied by the interpreter fallback
    age = RULESET.compile_expression("user.age >= 18")
    try:
        age(RULESET.prepare({"user": {}}))
    except EvaluationError as exc:
        assert exc.message == "<expression>:1:1: tag `user.age` is missing and has no default"
    else:
        raise AssertionError("a missing tag without default must fail")


def test_money_stays_exact() -> None:
    total = RULESET.compile_expression("sum(l.price * l.quantity for l in order.lines)")
    ctx = RULESET.prepare({"order": {"lines": [
        {"category": "a", "quantity": 3, "price": "0.10", "gift": False},
        {"category": "b", "quantity": 1, "price": "0.20", "gift": False},
    ]}})
    assert total(ctx) == Decimal("0.50")
    assert str(total(ctx)) == "0.50"
