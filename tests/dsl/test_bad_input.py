"""Bad input never crashes the rule-language front end.

Whatever an operator (or a broken upload) hands over (random bytes, random text, a valid file
mangled by deletions, duplications, swaps, stray punctuation and keywords, truncation), the
parser and the checker answer with diagnostics and never raise; a file that still checks clean
compiles. Inputs over the size, depth and length limits get their `dsl.limit.*` diagnostic
rather than a RecursionError or a long wait, and a long flat chain is not "deep".
"""

from __future__ import annotations

import time

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from arbiter.dsl.checker import CheckResult
from arbiter.dsl.compiler import compile_program
from arbiter.dsl.parser import MAX_FILE_BYTES, parse_expression
from tests.dsl.helpers import VALID_FILES, check, codes, rendered

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A limit is refused at once, not after a long walk; the bound only catches a blow-up
# (quadratic work, deep recursion), it is no performance figure.
PROMPTLY_S = 10.0

# Fragments the mutations insert: punctuation the grammar uses or misuses, keywords, literals
# of every kind, and characters that break lines or columns in other tools.
FRAGMENTS = [
    *"{}()[],.:=<>!+-*/\"'#%¥@&|\\",
    "==", "!=", ">=", "&&", "||", "\n", "\t", "\r", "\r\n", "\u2028", "\x0c", "\x00", " ",
    "tag", "condition", "effect", "scene", "strategy", "rule", "band", "experiment", "variant",
    "promotion", "test", "when", "then", "priority", "hit", "first", "all", "any", "count",
    "sum", "min", "max", "where", "for", "in", "not", "and", "or", "contains", "between",
    "true", "false", "user.age", "order.lines", "l.quantity", "show(content: \"x\")",
    "10 USD", "¥5", "1.5", "50%", "3d", "2026-02-30", "2026-01-01T10:00:00+08:00",
    "\"新人\"", "新用户", "[", "[[", "((", "{a: 1}", "-", "- -",
]


def assert_diagnosed(result: CheckResult) -> None:
    """Rendering never raises, and a file with errors always says so."""
    text = rendered(result)
    assert isinstance(text, str)
    for d in result.diagnostics:
        assert d.code.startswith("dsl.")
        assert d.span.line >= 0 and d.span.column >= 0


def check_never_raises(source: str) -> CheckResult:
    result = check(source)
    assert_diagnosed(result)
    event("checks clean" if result.ok else "has errors")
    if result.ok:
        compile_program(result)
    return result


# ---------------------------------------------------------------------------- random input


@FUZZ
@given(st.binary(max_size=2_000))
def test_random_bytes_decoded_with_replacement(data: bytes) -> None:
    check_never_raises(data.decode("utf-8", errors="replace"))


@FUZZ
@given(st.text(max_size=2_000))
def test_random_text(source: str) -> None:
    check_never_raises(source)


@FUZZ
@given(st.lists(st.sampled_from(FRAGMENTS + ["x", "s", "1", "\"a\""]), max_size=80))
def test_random_token_soup(tokens: list[str]) -> None:
    """Text made of the language's own words reaches far deeper into the parser."""
    source = " ".join(tokens)
    check_never_raises(source)
    parse_expression(source)


# ---------------------------------------------------------------------------- mutations

_span = st.tuples(st.floats(0, 1), st.integers(0, 40))


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid file after one to four random edits."""
    source = draw(st.sampled_from(VALID_FILES))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "truncate"]))
        (where, length) = draw(_span)
        start = int(where * len(source))
        end = min(len(source), start + length)
        if op == "delete":
            source = source[:start] + source[end:]
        elif op == "duplicate":
            source = source[:end] + source[start:end] + source[end:]
        elif op == "swap":
            (where2, length2) = draw(_span)
            start2 = max(end, int(where2 * len(source)))
            end2 = min(len(source), start2 + length2)
            source = source[:start] + source[start2:end2] + source[end:start2] + source[start:end] + source[end2:]
        elif op == "insert":
            fragment = draw(st.sampled_from(FRAGMENTS))
            source = source[:start] + fragment + source[start:]
        else:
            source = source[:start]
    return source


@FUZZ
@given(mutated())
def test_mutated_valid_files(source: str) -> None:
    check_never_raises(source)


@FUZZ
@given(st.lists(mutated(), min_size=2, max_size=3))
def test_mutated_files_checked_together(sources: list[str]) -> None:
    """Declarations cross files: duplicates, references and scopes meet across them."""
    from arbiter.dsl.checker import check_sources

    result = check_sources({f"f{i}.rules": s for i, s in enumerate(sources)})
    assert_diagnosed(result)
    event("checks clean" if result.ok else "has errors")
    if result.ok:
        compile_program(result)


def test_the_valid_files_are_valid() -> None:
    for source in VALID_FILES:
        result = check(source)
        assert result.diagnostics == ()
        compile_program(result)


# ---------------------------------------------------------------------------- expressions


@FUZZ
@given(st.text(max_size=500))
def test_parse_expression_on_random_text(source: str) -> None:
    expr, diagnostics = parse_expression(source)
    assert (expr is None) == bool(diagnostics)


@FUZZ
@given(st.lists(st.sampled_from(FRAGMENTS + ["x", "1", "\"a\""]), max_size=40))
def test_parse_expression_on_token_soup(tokens: list[str]) -> None:
    expr, diagnostics = parse_expression(" ".join(tokens))
    assert (expr is None) == bool(diagnostics)


# ---------------------------------------------------------------------------- limits


def refused(source: str, code: str) -> None:
    started = time.perf_counter()
    result = check(source)
    rendered(result)
    assert code in codes(result), codes(result)
    assert not result.ok
    assert time.perf_counter() - started < PROMPTLY_S


def expression_refused(text: str, code: str) -> None:
    started = time.perf_counter()
    expr, diagnostics = parse_expression(text)
    assert expr is None
    assert [d.code for d in diagnostics] == [code]
    assert time.perf_counter() - started < PROMPTLY_S


def test_over_size_file() -> None:
    refused("tag user.age: int\n" * (MAX_FILE_BYTES // 18 + 1), "dsl.limit.file_size")


def test_over_size_file_of_multibyte_characters() -> None:
    # The limit is in bytes: 400,000 CJK characters are 1.2 MB of UTF-8.
    refused("# " + "新" * 400_000 + "\n", "dsl.limit.file_size")


def test_over_size_expression() -> None:
    expression_refused("1 + " * (MAX_FILE_BYTES // 4) + "1", "dsl.limit.file_size")


def test_over_deep_not() -> None:
    expr = "not (" * 200 + "user.age > 1" + ")" * 200
    refused(f"tag user.age: int\ncondition a = {expr}\n", "dsl.limit.depth")
    expression_refused(expr, "dsl.limit.depth")


def test_over_deep_lists() -> None:
    expr = "user.age in " + "[" * 200 + "1" + "]" * 200
    refused(f"tag user.age: int\ncondition a = {expr}\n", "dsl.limit.depth")
    expression_refused(expr, "dsl.limit.depth")


def test_over_deep_records_and_calls() -> None:
    refused("tag user.age: int\ncondition a = [" + "{a: " * 200 + "1" + "}" * 200 + "] == []\n", "dsl.limit.depth")
    expression_refused("abs(" * 200 + "1" + ")" * 200, "dsl.limit.depth")


def test_over_deep_negation_and_arithmetic() -> None:
    expression_refused("-" * 2_000 + "user.age", "dsl.limit.depth")
    expression_refused("user.age" + " + 1" * 5_000 + " > 3", "dsl.limit.depth")


def test_over_deep_in_a_rule_and_an_effect() -> None:
    deep = "not (" * 200 + "true" + ")" * 200
    source = (
        "effect show(n: int)\nscene s { }\n"
        f"strategy st {{ scene s hit all rule r {{ when {deep} then show(n: {'-(' * 200}1{')' * 200}) }} }}\n"
    )
    refused(source, "dsl.limit.depth")


def test_redundant_parentheses_do_not_count_as_depth() -> None:
    expr = "(" * 2_000 + "user.age > 1" + ")" * 2_000
    result = check(f"tag user.age: int\ncondition a = {expr}\n")
    assert result.diagnostics == ()
    compile_program(result)


def test_over_long_list() -> None:
    items = ", ".join(str(i) for i in range(10_001))
    refused(f"tag user.age: int\ncondition a = user.age in [{items}]\n", "dsl.limit.list_size")
    expression_refused(f"[{items}]", "dsl.limit.list_size")


def test_list_at_the_limit_is_fine() -> None:
    items = ", ".join(str(i) for i in range(10_000))
    result = check(f"tag user.age: int\ncondition a = user.age in [{items}]\n")
    assert result.diagnostics == ()


def test_over_deep_and_syntax_error_in_one_file_are_both_reported() -> None:
    deep = "not (" * 200 + "true" + ")" * 200
    result = check(f"condition a = {deep}\ncondition b = true &&\n")
    assert codes(result) == ["dsl.limit.depth", "dsl.syntax.unexpected_character"]


# ---------------------------------------------------------------------------- long flat chains


def test_long_and_chain_checks_compiles_and_evaluates() -> None:
    chain = " and ".join(f"user.age != {i}" for i in range(5_000))
    source = (
        "tag user.age: int\neffect show(n: int)\nscene s { }\n"
        f"condition a = {chain}\n"
        f"strategy st {{ scene s hit first rule r {{ when {chain} then show(n: 1) }} }}\n"
    )
    result = check(source)
    assert result.diagnostics == ()
    ruleset = compile_program(result)
    condition = ruleset.conditions["a"]
    assert condition(ruleset.prepare({"user": {"age": 5_000}})) is True
    assert condition(ruleset.prepare({"user": {"age": 4_999}})) is False
    select = ruleset.strategies["st"].select
    assert select(ruleset.prepare({"user": {"age": 5_000}})) == 0
    assert select(ruleset.prepare({"user": {"age": 17}})) == -1


def test_long_or_chain_checks_and_compiles() -> None:
    chain = " or ".join(f"user.age == {i}" for i in range(5_000))
    result = check(f"tag user.age: int\ncondition a = {chain}\n")
    assert result.diagnostics == ()
    ruleset = compile_program(result)
    assert ruleset.conditions["a"](ruleset.prepare({"user": {"age": 4_999}})) is True
    assert ruleset.conditions["a"](ruleset.prepare({"user": {"age": 5_000}})) is False
