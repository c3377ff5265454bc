"""Golden tests: the exact text an operator sees for each class of rule problem.

Each case is a minimal rule file (it declares only what it needs), checked as the CLI checks
it; the test compares the full rendering (`file:line:col: severity[code]: message`, the source
line in a gutter, the caret under the span, the hint) and the list of codes. Where the current
text is wrong or unhelpful, the case holds what it should say and names the discrepancy: a
strict xfail, so the suite stays green until the text is fixed, and then the mark must go.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from tests.dsl.helpers import check, codes, rendered, text


class Golden(NamedTuple):
    name: str
    source: str
    codes: list[str]
    expected: str
    discrepancy: str | None  # why the current text is wrong; None when it is right


def case(name: str, source: str, expected_codes: list[str], expected: str, discrepancy: str | None = None) -> Golden:
    return Golden(name, text(source), expected_codes, text(expected).rstrip("\n"), discrepancy)


CASES = [
    case(
        "syntax_unexpected_token",
        """
        tag user.age int
        """,
        ["dsl.syntax.unexpected_token"],
        """
        x.rules:1:14: error[dsl.syntax.unexpected_token]: unexpected 'int'; expected ':'
          |
        1 | tag user.age int
          |              ^^^
        """,
    ),
    case(
        "syntax_single_equals",
        """
        tag user.age: int
        condition adult = user.age = 18
        """,
        ["dsl.syntax.unexpected_token"],
        """
        x.rules:2:28: error[dsl.syntax.unexpected_token]: unexpected '='; expected a name, a comparison, ')', '}', ']', ',', '.', '-', ...
          |
        2 | condition adult = user.age = 18
          |                            ^
          = hint: to compare, write '==' (one '=' names a condition)
        """,
    ),
    case(
        "syntax_unexpected_character_at",
        """
        tag user.age: int
        condition adult = user.age @ 18
        """,
        ["dsl.syntax.unexpected_character"],
        """
        x.rules:2:28: error[dsl.syntax.unexpected_character]: unexpected character '@'
          |
        2 | condition adult = user.age @ 18
          |                            ^
        """,
    ),
    case(
        "syntax_single_quotes",
        """
        tag user.name: string
        condition bob = user.name == 'bob'
        """,
        ["dsl.syntax.unexpected_character"],
        """
        x.rules:2:30: error[dsl.syntax.unexpected_character]: unexpected character "'"
          |
        2 | condition bob = user.name == 'bob'
          |                              ^
          = hint: strings use double quotes: "like this"
        """,
    ),
    case(
        "syntax_double_ampersand",
        """
        tag user.age: int
        condition teen = user.age >= 13 && user.age < 20
        """,
        ["dsl.syntax.unexpected_character"],
        """
        x.rules:2:33: error[dsl.syntax.unexpected_character]: unexpected character '&'
          |
        2 | condition teen = user.age >= 13 && user.age < 20
          |                                 ^
          = hint: write 'and' / 'or'
        """,
    ),
    case(
        "syntax_missing_brace",
        """
        tag user.age: int { display "age"
        tag user.level: int
        """,
        ["dsl.syntax.unexpected_end"],
        """
        x.rules:1:34: error[dsl.syntax.unexpected_end]: the declaration is not finished; expected '}'
          |
        1 | tag user.age: int { display "age"
          |                                  ^
          = hint: a declaration is not finished: check for a missing '}' or ')'
        """,
    ),
    case(
        "syntax_missing_paren",
        """
        tag user.age: int
        condition teen = (user.age >= 13 and user.age < 20
        tag user.level: int
        """,
        ["dsl.syntax.unexpected_end"],
        """
        x.rules:2:51: error[dsl.syntax.unexpected_end]: the declaration is not finished; expected ')'
          |
        2 | condition teen = (user.age >= 13 and user.age < 20
          |                                                   ^
          = hint: a declaration is not finished: check for a missing '}' or ')'
        """,
    ),
    case(
        "syntax_two_errors_two_declarations",
        """
        tag user.age int
        tag user.level: int
        condition vip = user.level = 3
        """,
        ["dsl.syntax.unexpected_token", "dsl.syntax.unexpected_token"],
        """
        x.rules:1:14: error[dsl.syntax.unexpected_token]: unexpected 'int'; expected ':'
          |
        1 | tag user.age int
          |              ^^^

        x.rules:3:28: error[dsl.syntax.unexpected_token]: unexpected '='; expected a name, a comparison, ')', '}', ']', ',', '.', '-', ...
          |
        3 | condition vip = user.level = 3
          |                            ^
          = hint: to compare, write '==' (one '=' names a condition)
        """,
    ),
    case(
        "tag_unknown_did_you_mean",
        """
        tag user.age: int
        tag user.registered_days: int
        condition adult = user.agee >= 18
        """,
        ["dsl.tag.unknown"],
        """
        x.rules:3:19: error[dsl.tag.unknown]: unknown tag `user.agee`; did you mean `user.age`?
          |
        3 | condition adult = user.agee >= 18
          |                   ^^^^^^^^^
          = hint: tags in `user`: age, registered_days
        """,
    ),
    case(
        "tag_unknown_suggests_only_close_names",
        """
        tag user.age: int
        tag user.level: int
        tag user.tags: set
        condition adult = user.agee >= 18
        """,
        ["dsl.tag.unknown"],
        """
        x.rules:4:19: error[dsl.tag.unknown]: unknown tag `user.agee`; did you mean `user.age`?
          |
        4 | condition adult = user.agee >= 18
          |                   ^^^^^^^^^
          = hint: tags in `user`: age, level, tags
        """,
    ),
    case(
        "tag_unknown_namespace_in_expression",
        """
        tag user.age: int
        condition adult = usr.age >= 18
        """,
        ["dsl.tag.unknown"],
        """
        x.rules:2:19: error[dsl.tag.unknown]: unknown tag `usr.age`; did you mean `user.age`?
          |
        2 | condition adult = usr.age >= 18
          |                   ^^^^^^^
          = hint: namespaces: user
        """,
    ),
    case(
        "tag_unknown_namespace_in_declaration",
        """
        tag usr.age: int
        """,
        ["dsl.tag.namespace"],
        """
        x.rules:1:5: error[dsl.tag.namespace]: unknown tag namespace `usr`
          |
        1 | tag usr.age: int
          |     ^^^^^^^
          = hint: did you mean `user`?
        """,
    ),
    case(
        "tag_unknown_with_no_tag_declared",
        """
        condition adult = user.age >= 18
        """,
        ["dsl.tag.unknown"],
        """
        x.rules:1:19: error[dsl.tag.unknown]: unknown tag `user.age`
          |
        1 | condition adult = user.age >= 18
          |                   ^^^^^^^^
          = hint: no tag is declared in `user`; declare it with `tag user.age: <type>`
        """,
    ),
    case(
        "name_unknown_did_you_mean",
        """
        tag user.level: int
        condition adults = user.level >= 18
        condition vip = adult and user.level > 3
        """,
        ["dsl.name.unknown"],
        """
        x.rules:3:17: error[dsl.name.unknown]: unknown name `adult`
          |
        3 | condition vip = adult and user.level > 3
          |                 ^^^^^
          = hint: did you mean `adults`?
        """,
    ),
    case(
        "type_mismatch_int_string",
        """
        tag user.age: int
        condition adult = user.age == "18"
        """,
        ["dsl.type.mismatch"],
        """
        x.rules:2:19: error[dsl.type.mismatch]: cannot compare int with string
          |
        2 | condition adult = user.age == "18"
          |                   ^^^^^^^^^^^^^^^^
          = hint: write 18 without quotes to compare numbers
        """,
    ),
    case(
        "type_bool_expected_condition",
        """
        tag user.age: int
        condition adult = user.age
        """,
        ["dsl.type.mismatch"],
        """
        x.rules:2:19: error[dsl.type.mismatch]: condition `adult` must be true or false, but its expression is int
          |
        2 | condition adult = user.age
          |                   ^^^^^^^^
        """,
    ),
    case(
        "type_bool_expected_when",
        """
        tag user.age: int
        effect show(content: string)
        scene home { }
        strategy s {
          scene home
          hit first
          rule r { when user.age then show(content: "x") }
        }
        """,
        ["dsl.type.mismatch"],
        """
        x.rules:7:17: error[dsl.type.mismatch]: the `when` of rule `r` must be true or false, but this is int
          |
        7 |   rule r { when user.age then show(content: "x") }
          |                 ^^^^^^^^
          = hint: compare it with something, e.g. `user.level >= 3`
        """,
    ),
    case(
        "type_bool_expected_and",
        """
        tag user.age: int
        condition adult = user.age and true
        """,
        ["dsl.type.mismatch"],
        """
        x.rules:2:19: error[dsl.type.mismatch]: each side of `and` must be true or false, but this is int
          |
        2 | condition adult = user.age and true
          |                   ^^^^^^^^
          = hint: compare it with something, e.g. `user.level >= 3`
        """,
    ),
    case(
        "enum_value_not_in_enum",
        """
        tag user.region: enum("east", "west", "north")
        condition northern = user.region == "North"
        """,
        ["dsl.type.enum_value"],
        """
        x.rules:2:37: error[dsl.type.enum_value]: "North" is not a value of an enum (east, west, north)
          |
        2 | condition northern = user.region == "North"
          |                                     ^^^^^^^
          = hint: did you mean "north"?
        """,
    ),
    case(
        "money_compared_with_decimal",
        """
        tag order.amount: money
        tag order.ratio: decimal
        condition big = order.amount >= order.ratio
        """,
        ["dsl.money.incompatible"],
        """
        x.rules:3:17: error[dsl.money.incompatible]: an amount in CNY cannot be compared with decimal
          |
        3 | condition big = order.amount >= order.ratio
          |                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^
          = hint: write the amount with its currency, e.g. `300 CNY`
        """,
    ),
    case(
        "money_other_currency",
        """
        tag order.amount: money
        condition big = order.amount >= 10 USD
        """,
        ["dsl.money.currency"],
        """
        x.rules:2:17: error[dsl.money.currency]: cannot compare money(CNY) with money(USD): the currencies differ
          |
        2 | condition big = order.amount >= 10 USD
          |                 ^^^^^^^^^^^^^^^^^^^^^^
          = hint: amounts in different currencies never mix; convert upstream
        """,
    ),
    case(
        "money_added_to_non_money",
        """
        tag order.amount: money
        tag order.ratio: decimal
        condition big = order.amount + order.ratio > 100
        """,
        ["dsl.money.incompatible"],
        """
        x.rules:3:17: error[dsl.money.incompatible]: an amount in CNY cannot be combined with decimal
          |
        3 | condition big = order.amount + order.ratio > 100
          |                 ^^^^^^^^^^^^^^^^^^^^^^^^^^
          = hint: write the amount with its currency, e.g. `300 CNY`
        """,
    ),
    case(
        "tag_scope",
        """
        tag order.coupon: string { scope [checkout] }
        effect show(content: string)
        scene home_popup { }
        scene checkout { }
        condition has_coupon = order.coupon != ""
        strategy popup {
          scene home_popup
          hit all
          rule direct { when order.coupon == "x" then show(content: "a") }
          rule through { when has_coupon then show(content: "b") }
        }
        """,
        ["dsl.tag.scope", "dsl.tag.scope"],
        """
        x.rules:9:22: error[dsl.tag.scope]: tag `order.coupon` may not be read in scene `home_popup`
          |
        9 |   rule direct { when order.coupon == "x" then show(content: "a") }
          |                      ^^^^^^^^^^^^
          = hint: its scope: checkout

        x.rules:10:23: error[dsl.tag.scope]: tag `order.coupon` may not be read in scene `home_popup` (through condition `has_coupon`)
           |
        10 |   rule through { when has_coupon then show(content: "b") }
           |                       ^^^^^^^^^^
          = hint: its scope: checkout
        """,
    ),
    case(
        "duplicate_names",
        """
        tag user.age: int
        tag user.age: int
        effect show(content: string)
        effect show(text: string)
        condition adult = user.age >= 18
        condition adult = user.age >= 21
        scene home { }
        scene home { }
        strategy s {
          scene home
          hit all
          rule r { when adult then show(content: "x") }
          rule r { when adult then show(content: "y") }
        }
        """,
        ["dsl.name.duplicate", "dsl.name.duplicate", "dsl.name.duplicate", "dsl.name.duplicate", "dsl.name.duplicate"],
        """
        x.rules:2:5: error[dsl.name.duplicate]: tag `user.age` is declared twice
          |
        2 | tag user.age: int
          |     ^^^^^^^^
          = hint: first declared at x.rules:1:5

        x.rules:4:8: error[dsl.name.duplicate]: effect `show` is declared twice
          |
        4 | effect show(text: string)
          |        ^^^^
          = hint: first declared at x.rules:3:8

        x.rules:6:11: error[dsl.name.duplicate]: condition `adult` is declared twice
          |
        6 | condition adult = user.age >= 21
          |           ^^^^^
          = hint: first declared at x.rules:5:11

        x.rules:8:7: error[dsl.name.duplicate]: scene `home` is declared twice
          |
        8 | scene home { }
          |       ^^^^
          = hint: first declared at x.rules:7:7

        x.rules:13:8: error[dsl.name.duplicate]: rule `r` is declared twice
           |
        13 |   rule r { when adult then show(content: "y") }
           |        ^
          = hint: first declared at x.rules:12:8
        """,
    ),
    case(
        "condition_cycle",
        """
        condition a = b
        condition b = a
        """,
        ["dsl.condition.cycle"],
        """
        x.rules:2:15: error[dsl.condition.cycle]: condition `a` refers to itself: a -> b -> a
          |
        2 | condition b = a
          |               ^
          = hint: a condition cannot depend on itself, directly or through others
        """,
    ),
    case(
        "rule_unreachable",
        """
        tag user.age: int
        effect show(content: string)
        scene home { }
        scene cart { }
        strategy s {
          scene home
          hit first
          rule catch_all { priority 10 then show(content: "x") }
          rule adult { when user.age >= 18 then show(content: "y") }
        }
        strategy t {
          scene cart
          hit first
          rule always { priority 5 when true or user.age > 1 then show(content: "x") }
          rule later {
            when user.age >= 18
            then show(content: "y")
          }
        }
        """,
        ["dsl.rule.unreachable", "dsl.rule.unreachable"],
        """
        x.rules:9:3: error[dsl.rule.unreachable]: rule `adult` can never fire: rule `catch_all` (priority 10) comes first and always matches
          |
        9 |   rule adult { when user.age >= 18 then show(content: "y") }
          |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
          = hint: in a `first` strategy the highest-priority match wins: lower the priority of `catch_all` or narrow it with a `when`

        x.rules:15:3: error[dsl.rule.unreachable]: rule `later` can never fire: rule `always` (priority 5) comes first and always matches
           |
        15 |   rule later {
           |   ^^^^^^^^^^
          = hint: in a `first` strategy the highest-priority match wins: lower the priority of `always` or narrow it with a `when`
        """,
    ),
    case(
        "tag_deprecated",
        """
        tag user.level: int { status deprecated description "read user.vip_level instead" }
        condition vip = user.level >= 3
        """,
        ["dsl.tag.deprecated"],
        """
        x.rules:2:17: warning[dsl.tag.deprecated]: tag `user.level` is deprecated
          |
        2 | condition vip = user.level >= 3
          |                 ^^^^^^^^^^
          = hint: read user.vip_level instead
        """,
    ),
    case(
        "tag_offline",
        """
        tag user.level: int { status offline }
        condition vip = user.level >= 3
        """,
        ["dsl.tag.offline"],
        """
        x.rules:2:17: error[dsl.tag.offline]: tag `user.level` is offline and can no longer be read
          |
        2 | condition vip = user.level >= 3
          |                 ^^^^^^^^^^
          = hint: remove the reference or bring the tag back online in its declaration
        """,
    ),
    case(
        "attr_unknown_did_you_mean",
        """
        effect show(content: string)
        scene home { }
        strategy s {
          scene home
          hit first
          rule r { priorty 10 then show(content: "x") }
        }
        """,
        ["dsl.attr.unknown"],
        """
        x.rules:6:12: error[dsl.attr.unknown]: rule `r` has no attribute `priorty`
          |
        6 |   rule r { priorty 10 then show(content: "x") }
          |            ^^^^^^^
          = hint: did you mean `priority`?
        """,
    ),
    case(
        "attr_missing",
        """
        effect show(content: string)
        scene home { }
        strategy s {
          scene home
          rule r { then show(content: "x") }
        }
        """,
        ["dsl.attr.missing"],
        """
        x.rules:3:10: error[dsl.attr.missing]: strategy `s` needs `hit`
          |
        3 | strategy s {
          |          ^
          = hint: first: the highest-priority match; all: every match; score: sum and band
        """,
    ),
    case(
        "effect_unknown",
        """
        effect show(content: string)
        scene home { }
        strategy s {
          scene home
          hit all
          rule r { then shwo(content: "x") }
        }
        """,
        ["dsl.effect.unknown"],
        """
        x.rules:6:17: error[dsl.effect.unknown]: unknown effect `shwo`
          |
        6 |   rule r { then shwo(content: "x") }
          |                 ^^^^
          = hint: did you mean `show`?
        """,
    ),
    case(
        "effect_field_unknown",
        """
        effect show(content: string, slot: string)
        scene home { }
        strategy s {
          scene home
          hit all
          rule r { then show(content: "x", slto: "top") }
        }
        """,
        ["dsl.effect.field_missing", "dsl.effect.field"],
        """
        x.rules:6:17: error[dsl.effect.field_missing]: effect `show` is missing `slot`
          |
        6 |   rule r { then show(content: "x", slto: "top") }
          |                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^

        x.rules:6:36: error[dsl.effect.field]: effect `show` has no field `slto` (its fields: content, slot)
          |
        6 |   rule r { then show(content: "x", slto: "top") }
          |                                    ^^^^^^^^^^^
          = hint: did you mean `slot`?
        """,
    ),
    case(
        "effect_field_missing",
        """
        effect show(content: string, slot: string)
        scene home { }
        strategy s {
          scene home
          hit all
          rule r { then show(content: "x") }
        }
        """,
        ["dsl.effect.field_missing"],
        """
        x.rules:6:17: error[dsl.effect.field_missing]: effect `show` is missing `slot`
          |
        6 |   rule r { then show(content: "x") }
          |                 ^^^^^^^^^^^^^^^^^^
        """,
    ),
    case(
        "function_unknown",
        """
        tag user.name: string
        condition long_name = lenght(user.name) > 10
        """,
        ["dsl.function.unknown"],
        """
        x.rules:2:23: error[dsl.function.unknown]: unknown function `lenght`
          |
        2 | condition long_name = lenght(user.name) > 10
          |                       ^^^^^^
          = hint: did you mean `len`?
        """,
    ),
    case(
        "function_arguments",
        """
        tag user.name: string
        tag user.age: int
        condition a = len(user.name, user.age) > 3
        condition b = len(user.age) > 3
        """,
        ["dsl.function.args", "dsl.function.args"],
        """
        x.rules:3:15: error[dsl.function.args]: `len` takes 1 argument, got 2
          |
        3 | condition a = len(user.name, user.age) > 3
          |               ^^^^^^^^^^^^^^^^^^^^^^^^
          = hint: len(string | set | list) -> int

        x.rules:4:15: error[dsl.function.args]: `len` expects a string, a set or a list, got int
          |
        4 | condition b = len(user.age) > 3
          |               ^^^^^^^^^^^^^
          = hint: len(string | set | list) -> int
        """,
    ),
    case(
        "limit_cost",
        """
        tag order.lines: list(sku: string, quantity: int)
        effect show(content: string)
        scene cart { }
        strategy s {
          scene cart
          hit first
          rule dup { when any(a in order.lines where any(b in order.lines where a.sku == b.sku)) then show(content: "x") }
        }
        """,
        ["dsl.limit.cost"],
        """
        x.rules:7:19: error[dsl.limit.cost]: the `when` of rule `dup` may take up to 3,001,001 steps to evaluate; the limit is 1,000,000
          |
        7 |   rule dup { when any(a in order.lines where any(b in order.lines where a.sku == b.sku)) then show(content: "x") }
          |                   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
          = hint: avoid nesting quantifiers over lists inside one another
        """,
    ),
    case(
        "cjk_names_and_strings",
        """
        tag user.age: int { display "年龄" }
        condition 新用户 = user.age >= "18"
        effect show(content: string)
        scene home { display "首页" }
        strategy s { scene home hit first rule r { display "规则" when 新人 then show(content: "新人礼包") } }
        """,
        ["dsl.type.mismatch", "dsl.name.unknown"],
        """
        x.rules:2:17: error[dsl.type.mismatch]: cannot order int with string
          |
        2 | condition 新用户 = user.age >= "18"
          |                    ^^^^^^^^^^^^^^^^
          = hint: write 18 without quotes to compare numbers

        x.rules:5:62: error[dsl.name.unknown]: unknown name `新人`
          |
        5 | strategy s { scene home hit first rule r { display "规则" when 新人 then show(content: "新人礼包") } }
          |                                                                ^^^^
          = hint: declare it with `condition 新人 = ...`, or name a tag as `namespace.name`
        """,
    ),
]


def _rendering_params() -> list[object]:
    return [
        pytest.param(
            g,
            id=g.name,
            marks=[pytest.mark.xfail(strict=True, reason=g.discrepancy)] if g.discrepancy else [],
        )
        for g in CASES
    ]


@pytest.mark.parametrize("golden", _rendering_params())
def test_golden(golden: Golden) -> None:
    result = check(golden.source)
    assert codes(result) == golden.codes
    assert rendered(result) == golden.expected


@pytest.mark.parametrize("golden", [pytest.param(g, id=g.name) for g in CASES])
def test_codes(golden: Golden) -> None:
    """The codes hold even where the rendering is a known discrepancy."""
    assert codes(check(golden.source)) == golden.codes


def test_deprecated_tag_is_a_warning_and_the_check_stays_ok() -> None:
    result = check(
        text(
            """
            tag user.level: int { status deprecated }
            condition vip = user.level >= 3
            """
        )
    )
    assert result.ok
    assert [(d.code, d.severity.value) for d in result.diagnostics] == [("dsl.tag.deprecated", "warning")]
    assert rendered(result) == text(
        """
        x.rules:2:17: warning[dsl.tag.deprecated]: tag `user.level` is deprecated
          |
        2 | condition vip = user.level >= 3
          |                 ^^^^^^^^^^
          = hint: it will go offline; move to its replacement
        """
    ).rstrip("\n")


# ---------------------------------------------------------------------------- limits


def test_limit_depth() -> None:
    nested = "[" * 64 + "1" + "]" * 64
    result = check(f"tag user.age: int\ncondition a = user.age in {nested}\n")
    assert codes(result) == ["dsl.limit.depth"]
    assert rendered(result) == "\n".join(
        [
            "x.rules:2:15: error[dsl.limit.depth]: the expression nests deeper than 64 levels",
            "  |",
            # A long source line is shown as a window around the span, marked with "…".
            f"2 | {('condition a = user.age in ' + nested)[:120]}…",
            "  |               " + "^" * (120 - len("condition a = ")),
            "  = hint: split it into named conditions",
        ]
    )


def test_limit_list_size() -> None:
    items = "".join(f"  {i},\n" for i in range(10_001))
    result = check(f"tag user.age: int\ncondition a = user.age in [\n{items}]\n")
    assert codes(result) == ["dsl.limit.list_size"]
    assert rendered(result) == text(
        """
        x.rules:2:27: error[dsl.limit.list_size]: the list has 10,001 items; the limit is 10,000
          |
        2 | condition a = user.age in [
          |                           ^
          = hint: keep long lists out of rule files: use a managed list or a tag
        """
    ).rstrip("\n")


def test_limit_file_size() -> None:
    source = "# a generated file\n" + "tag user.age: int\n" * 60_000
    result = check(source)
    assert codes(result) == ["dsl.limit.file_size"]
    assert rendered(result) == text(
        """
        x.rules:1:1: error[dsl.limit.file_size]: the file is 1,080,019 bytes; the limit is 1,000,000
          |
        1 | # a generated file
          | ^
          = hint: split the rules over several files
        """
    ).rstrip("\n")


def test_limit_file_size_of_a_one_line_file_renders_briefly() -> None:
    result = check("condition a = " + "true or " * 130_000 + "true\n")
    assert codes(result) == ["dsl.limit.file_size"]
    out = rendered(result)
    assert out.startswith("x.rules:1:1: error[dsl.limit.file_size]: the file is 1,040,019 bytes;")
    assert out.endswith("  = hint: split the rules over several files")
    assert len(out) < 400


# ---------------------------------------------------------------------------- line breaks


def test_caret_line_after_a_unicode_line_separator_in_a_comment() -> None:
    result = check("tag user.age: int  # age\u2028(pasted)\ncondition adult = user.agee >= 18\n")
    assert codes(result) == ["dsl.tag.unknown"]
    assert rendered(result) == text(
        """
        x.rules:2:19: error[dsl.tag.unknown]: unknown tag `user.agee`; did you mean `user.age`?
          |
        2 | condition adult = user.agee >= 18
          |                   ^^^^^^^^^
          = hint: tags in `user`: age
        """
    ).rstrip("\n")
