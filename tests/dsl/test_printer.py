"""The canonical printer: exact layouts, and the three properties `arbiter fmt` promises —
formatting twice changes nothing, the output means what the input meant, no comment is lost."""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass, replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbiter.dsl import nodes as n
from arbiter.dsl.parser import parse, parse_expression
from arbiter.dsl.printer import format_expr, format_module, format_source

# ----------------------------------------------------------------------------- helpers


def strip_spans(value: Any) -> Any:
    """The node with every span blanked, for comparing meaning rather than position.

    Written decimals and amounts compare with their scale (89.00 is not 89.0); `tag x: t {}`
    and `tag x: t` are the same declaration, so `has_block` follows the attributes."""
    if isinstance(value, tuple):
        return tuple(strip_spans(v) for v in value)
    if isinstance(value, Decimal):
        return value.as_tuple()
    if is_dataclass(value) and not isinstance(value, type):
        changes: dict[str, Any] = {}
        for f in fields(value):
            item = getattr(value, f.name)
            changes[f.name] = n.NO_SPAN if isinstance(item, n.Span) else strip_spans(item)
        if isinstance(value, n.DecimalLit) and value.percent:
            changes["value"] = value.value  # a percentage prints without trailing zeros
        if isinstance(value, n.TagDecl):
            changes["has_block"] = bool(value.attrs)
        return replace(value, **changes)
    return value


def decls_of(text: str) -> Any:
    module, diagnostics = parse(text, "t.rules")
    assert module is not None and not diagnostics, (diagnostics, text)
    return strip_spans(module.decls)


def comment_texts(text: str) -> list[str]:
    module, diagnostics = parse(text, "t.rules")
    assert module is not None and not diagnostics
    return [c.text for c in module.comments]


def fmt(text: str) -> str:
    out, diagnostics = format_source(text, "t.rules")
    assert out is not None, diagnostics
    return out


def expr_of(text: str) -> n.Expr:
    expr, diagnostics = parse_expression(text)
    assert expr is not None, (diagnostics, text)
    return expr


# ----------------------------------------------------------------------------- exact layouts

EXAMPLE = """\
# tags are declared in rule files
tag user.age: int { display "年龄" default 0 }
tag user.region: enum("east", "west", "north")
tag user.tags: set { default [] }
tag user.registered_days: int
tag order.amount: money
tag order.lines: list(sku: string, category: string, quantity: int, price: money)
tag goods.category: string
effect show(content: string, slot: string)
condition new_user = "new_user" in user.tags or user.registered_days <= 7
condition big = order.amount >= 300 and goods.category in ["phone", "laptop"]
scene home_popup { display "首页弹窗" }
strategy s1 {
  scene home_popup
  hit first
  rule r1 { priority 10 when any(l in order.lines where l.category == "phone" and l.quantity >= 2) then show(content: "x", slot: "y") }
  rule r2 { when new_user then show(content: "new", slot: "b") }
}
test "new user gets popup" {
  scene home_popup
  given { user: { tags: ["new_user"], registered_days: 30 }, order: { amount: 10, lines: [] } }
  expect show(content: "new", slot: "b")
}
"""

EXAMPLE_FORMATTED = """\
# tags are declared in rule files
tag user.age: int {
    display "年龄"
    default 0
}

tag user.region: enum("east", "west", "north")

tag user.tags: set {
    default []
}

tag user.registered_days: int
tag order.amount: money
tag order.lines: list(sku: string, category: string, quantity: int, price: money)
tag goods.category: string

effect show(content: string, slot: string)

condition new_user = "new_user" in user.tags or user.registered_days <= 7
condition big = order.amount >= 300 and goods.category in ["phone", "laptop"]

scene home_popup {
    display "首页弹窗"
}

strategy s1 {
    scene home_popup
    hit first

    rule r1 {
        priority 10
        when any(l in order.lines where l.category == "phone" and l.quantity >= 2)
        then show(content: "x", slot: "y")
    }

    rule r2 {
        when new_user
        then show(content: "new", slot: "b")
    }
}

test "new user gets popup" {
    scene home_popup
    given { user: { tags: ["new_user"], registered_days: 30 }, order: { amount: 10, lines: [] } }
    expect show(content: "new", slot: "b")
}
"""


def test_example_file_takes_the_canonical_layout() -> None:
    assert fmt(EXAMPLE) == EXAMPLE_FORMATTED
    assert fmt(EXAMPLE_FORMATTED) == EXAMPLE_FORMATTED


MESSY = (
    'tag   user.age:int{display "年龄" default 0}tag user.vip : bool   '
    "effect  show( content : string,slot:string ,) effect hide ( ) "
    "condition   adult=user.age>=18 and(user.vip or(user.age>60))condition teen = "
    "user.age  between 13and 19 "
    'scene  home{display "首页"} strategy s{scene home hit   first rule r1{when adult then '
    'show(content:"x",slot:"y")priority 10}rule "r 2" { when not(adult)hit all}}'
)

MESSY_FORMATTED = """\
tag user.age: int {
    display "年龄"
    default 0
}

tag user.vip: bool

effect show(content: string, slot: string)
effect hide()

condition adult = user.age >= 18 and (user.vip or user.age > 60)
condition teen = user.age between 13 and 19

scene home {
    display "首页"
}

strategy s {
    scene home
    hit first

    rule r1 {
        when adult
        then show(content: "x", slot: "y")
        priority 10
    }

    rule "r 2" {
        when not adult
        hit all
    }
}
"""


def test_a_messy_one_line_file_becomes_canonical() -> None:
    assert "\n" not in MESSY
    assert fmt(MESSY) == MESSY_FORMATTED
    assert decls_of(MESSY_FORMATTED) == decls_of(MESSY)


COMMENTED = """\
# header comment
tag user.age: int  # trailing on a tag
# before an effect
effect show(content: string)
strategy s { # opening
  # before scene
  scene home   # after scene
  rule r1 {
    when user.age >= 18 and   # inside a multi-line attribute
      user.age < 60
  } # after a rule
  rule r2 {
  # only comment
  }
  # before the closing brace
}
# end of file
"""

COMMENTED_FORMATTED = """\
# header comment
tag user.age: int  # trailing on a tag

# before an effect
effect show(content: string)

strategy s {  # opening
    # before scene
    scene home  # after scene

    rule r1 {
        # inside a multi-line attribute
        when user.age >= 18 and user.age < 60
    }  # after a rule

    rule r2 {
        # only comment
    }
    # before the closing brace
}

# end of file
"""


def test_comments_keep_their_places() -> None:
    assert fmt(COMMENTED) == COMMENTED_FORMATTED
    assert fmt(COMMENTED_FORMATTED) == COMMENTED_FORMATTED


def test_comments_in_a_block_header_and_on_a_closing_line() -> None:
    source = 'rule # a\n r { # b\n when x } # c\ntag a.b: int { # d\n}\n'
    assert fmt(source) == (
        "rule r {  # a\n"
        "    # b\n"
        "    when x\n"
        "}  # c\n"
        "\n"
        "# d\n"
        "tag a.b: int\n"
    )


def test_a_comment_before_the_first_item_stays_in_order_with_the_header_comment() -> None:
    source = "rule\n# own line\nr { # after the brace\n when x\n}\n"
    out = fmt(source)
    assert out == "rule r {\n    # own line\n    # after the brace\n    when x\n}\n"
    assert fmt(out) == out


def test_an_empty_block_stays_on_one_line() -> None:
    assert fmt("scene  home {\n\n}") == "scene home {}\n"


def test_comments_alone() -> None:
    assert fmt("# one\n\n\n   # two\n") == "# one\n\n# two\n"
    assert fmt("# one\n   # two\n\n") == "# one\n# two\n"
    assert fmt("") == ""
    assert fmt("  \n\n") == ""


def test_one_line_declarations_of_one_kind_stay_together() -> None:
    source = (
        "tag a.x: int tag a.y: int tag a.z: int { display \"z\" } tag a.w: int\n"
        "effect e1() effect e2(x: int) condition c1 = true condition c2 = false\n"
        "effect e3() tag a.v: money(USD)\n"
    )
    assert fmt(source) == (
        "tag a.x: int\n"
        "tag a.y: int\n"
        "\n"
        "tag a.z: int {\n"
        '    display "z"\n'
        "}\n"
        "\n"
        "tag a.w: int\n"
        "\n"
        "effect e1()\n"
        "effect e2(x: int)\n"
        "\n"
        "condition c1 = true\n"
        "condition c2 = false\n"
        "\n"
        "effect e3()\n"
        "\n"
        "tag a.v: money(USD)\n"
    )


def test_types_print_in_their_short_form() -> None:
    source = (
        'tag a.b: enum( "a" , "b", ) tag a.c: list( sku : string , quantity:int ) '
        "tag a.d: list(int) tag a.e: money() tag a.f: money(USD) tag a.g: int {}"
    )
    assert fmt(source) == (
        'tag a.b: enum("a", "b")\n'
        "tag a.c: list(sku: string, quantity: int)\n"
        "tag a.d: list(int)\n"
        "tag a.e: money\n"
        "tag a.f: money(USD)\n"
        "tag a.g: int\n"
    )


def test_nested_blocks_are_separated_except_the_first() -> None:
    source = "experiment x { variant a { weight 50 } variant b { weight 50 } salt \"s\" }"
    assert fmt(source) == (
        "experiment x {\n"
        "    variant a {\n"
        "        weight 50\n"
        "    }\n"
        "\n"
        "    variant b {\n"
        "        weight 50\n"
        "    }\n"
        '    salt "s"\n'
        "}\n"
    )


def test_quoted_names_are_escaped() -> None:
    source = 'test "say \\"hi\\"\\tnow\\\\" { expect x }'
    assert fmt(source) == 'test "say \\"hi\\"\\tnow\\\\" {\n    expect x\n}\n'


LONG_RECORD = (
    'test "long" { given { user: { tags: ["new_user", "vip"], registered_days: 30, region: "east" }, '
    "order: { amount: 300.00 CNY, lines: [{ sku: \"p1\", category: \"phone\", quantity: 2, "
    "price: ¥3999.00 }] } } }"
)

LONG_RECORD_FORMATTED = """\
test "long" {
    given {
        user: { tags: ["new_user", "vip"], registered_days: 30, region: "east" }
        order: {
            amount: 300.00 CNY
            lines: [{ sku: "p1", category: "phone", quantity: 2, price: ¥3999.00 }]
        }
    }
}
"""


def test_a_record_too_long_for_its_line_takes_one_field_per_line() -> None:
    assert fmt(LONG_RECORD) == LONG_RECORD_FORMATTED
    assert fmt(LONG_RECORD_FORMATTED) == LONG_RECORD_FORMATTED
    assert all(len(line) <= 100 for line in LONG_RECORD_FORMATTED.splitlines())


def test_a_broken_record_keeps_the_commas_a_keyword_or_currency_field_needs() -> None:
    filler = ", ".join(f'f{i}: "{"v" * 8}"' for i in range(8))
    source = f"test t {{ given {{ {filler}, and: 1, USD: 2, where: 3, plain: 4 }} }}"
    out = fmt(source)
    assert '        f7: "vvvvvvvv",\n        and: 1,\n        USD: 2,\n        where: 3\n        plain: 4\n' in out
    assert decls_of(out) == decls_of(source)


def test_a_trailing_comment_does_not_count_towards_the_width() -> None:
    record = "{ " + ", ".join(f"k{i}: {i}" for i in range(11)) + " }"
    line = f"    given {record}"
    assert len(line) <= 100
    out = fmt(f"test t {{ given {record} # {'x' * 40}\n}}")
    assert out == f"test t {{\n{line}  # {'x' * 40}\n}}\n"


# ----------------------------------------------------------------------------- blank lines

BLANKS = """\


# Section: the user tags.

# The user's age.
tag user.age: int
tag user.vip: bool


tag user.level: int
effect show(content: string)
effect hide()

effect ping()
# Two conditions that go together.
condition adult = user.age >= 18
condition senior =
    user.age >= 60
strategy s {

    # about s

    scene home
    hit first



    rule r1 {
        when adult

        then show(content: "x")
    }
    rule r2 {
        # first
        when senior
    }
    # closing one

    # closing two

}
tag order.amount: money {
    display "金额"

    default 0
}


# end one

# end two


"""

BLANKS_FORMATTED = """\
# Section: the user tags.

# The user's age.
tag user.age: int
tag user.vip: bool

tag user.level: int

effect show(content: string)
effect hide()

effect ping()

# Two conditions that go together.
condition adult = user.age >= 18
condition senior = user.age >= 60

strategy s {
    # about s

    scene home
    hit first

    rule r1 {
        when adult

        then show(content: "x")
    }

    rule r2 {
        # first
        when senior
    }
    # closing one

    # closing two
}

tag order.amount: money {
    display "金额"

    default 0
}

# end one

# end two
"""


def test_the_authors_blank_lines_are_kept_and_runs_of_them_become_one() -> None:
    assert fmt(BLANKS) == BLANKS_FORMATTED
    assert fmt(BLANKS_FORMATTED) == BLANKS_FORMATTED


def test_a_blank_line_before_an_item_goes_before_the_comments_taken_out_of_it() -> None:
    source = "rule r {\n    when a\n\n    then f(  # inside\n        x: 1)\n}\n"
    out = fmt(source)
    assert out == "rule r {\n    when a\n\n    # inside\n    then f(x: 1)\n}\n"
    assert fmt(out) == out


def test_no_blank_line_after_an_opening_line_or_before_a_closing_brace() -> None:
    source = "rule r {  # header\n\n    when a\n\n}\n\n\ntag a.b: int {\n\n    default 0\n\n}\n"
    assert fmt(source) == "rule r {  # header\n    when a\n}\n\ntag a.b: int {\n    default 0\n}\n"


def test_a_module_without_source_lines_gets_no_blank_lines_of_its_own() -> None:
    module, _ = parse("strategy s {\n    scene a\n\n    hit first\n}\n")
    assert module is not None
    bare = n.Module("<canonical>", module.decls, (), "")
    assert format_module(bare) == "strategy s {\n    scene a\n    hit first\n}\n"


# ----------------------------------------------------------------------------- long lines

LONG_LISTS = (
    "strategy s { rule r { when new_user then [show(content: \"newbie_gift_pack_v2\", "
    "slot: \"home_popup\"), grant_coupon(template: \"newbie_50_short\", amount: 50 CNY, "
    "valid_for: 72h)] } rule t { then grant_coupon(template: \"a_template_with_a_long_name\", "
    "amount: 50 CNY, valid_for: 72h, note: \"x\") } "
    "rule u { clients [web, app] then show(content: \"x\", slot: \"y\") } }"
)

LONG_LISTS_FORMATTED = """\
strategy s {
    rule r {
        when new_user
        then [
            show(content: "newbie_gift_pack_v2", slot: "home_popup"),
            grant_coupon(template: "newbie_50_short", amount: 50 CNY, valid_for: 72h),
        ]
    }

    rule t {
        then grant_coupon(
            template: "a_template_with_a_long_name",
            amount: 50 CNY,
            valid_for: 72h,
            note: "x",
        )
    }

    rule u {
        clients [web, app]
        then show(content: "x", slot: "y")
    }
}
"""


def test_a_list_or_call_too_long_for_its_line_takes_one_item_per_line() -> None:
    assert fmt(LONG_LISTS) == LONG_LISTS_FORMATTED
    assert fmt(LONG_LISTS_FORMATTED) == LONG_LISTS_FORMATTED
    assert decls_of(LONG_LISTS_FORMATTED) == decls_of(LONG_LISTS)


def test_a_list_of_records_breaks_the_list_first_then_each_record_that_does_not_fit() -> None:
    source = (
        'test t { given { order: { amount: 100 CNY, lines: [{ sku: "SKU-TOPUP-100", '
        'category: "top_up", quantity: 1, price: 100 CNY }, { sku: "SKU-DRESS-7", category: '
        '"dress", quantity: 1, price: 159 CNY, is_virtual: false, shop: "shop-fashion-001" }] } } }'
    )
    assert fmt(source) == (
        "test t {\n"
        "    given {\n"
        "        order: {\n"
        "            amount: 100 CNY\n"
        "            lines: [\n"
        '                { sku: "SKU-TOPUP-100", category: "top_up", quantity: 1, price: 100 CNY },\n'
        "                {\n"
        '                    sku: "SKU-DRESS-7"\n'
        '                    category: "dress"\n'
        "                    quantity: 1\n"
        "                    price: 159 CNY\n"
        "                    is_virtual: false\n"
        '                    shop: "shop-fashion-001"\n'
        "                },\n"
        "            ]\n"
        "        }\n"
        "    }\n"
        "}\n"
    )


def test_long_types_and_effect_parameters_take_one_item_per_line() -> None:
    source = (
        "tag order.lines: list(sku: string, spu: string, category: string, brand: string, "
        "shop: string, quantity: int, price: money) { display \"订单行\" } "
        "tag order.channel: enum(\"app\", \"mini_program\", \"web\", \"live_stream\", \"offline_store\", "
        "\"call_centre\", \"kiosk\") "
        "effect grant_coupon(template: string, amount: money, valid_for: duration, reason: string, "
        "slot: string)"
    )
    assert fmt(source) == (
        "tag order.lines: list(\n"
        "    sku: string,\n"
        "    spu: string,\n"
        "    category: string,\n"
        "    brand: string,\n"
        "    shop: string,\n"
        "    quantity: int,\n"
        "    price: money,\n"
        ") {\n"
        '    display "订单行"\n'
        "}\n"
        "\n"
        "tag order.channel: enum(\n"
        '    "app",\n'
        '    "mini_program",\n'
        '    "web",\n'
        '    "live_stream",\n'
        '    "offline_store",\n'
        '    "call_centre",\n'
        '    "kiosk",\n'
        ")\n"
        "\n"
        "effect grant_coupon(\n"
        "    template: string,\n"
        "    amount: money,\n"
        "    valid_for: duration,\n"
        "    reason: string,\n"
        "    slot: string,\n"
        ")\n"
    )


def test_a_long_condition_moves_after_its_equals_sign() -> None:
    source = (
        'condition blocked_device = passthrough.device_id in ["dev-ring-0001", "dev-ring-0002", '
        '"dev-ring-0003"]\n'
        'condition many = passthrough.device_id in ["dev-ring-0001", "dev-ring-0002", '
        '"dev-ring-0003", "dev-ring-0004", "dev-ring-0005", "dev-ring-0006"]\n'
    )
    out = fmt(source)
    assert out == (
        "condition blocked_device =\n"
        '    passthrough.device_id in ["dev-ring-0001", "dev-ring-0002", "dev-ring-0003"]\n'
        "condition many =\n"
        "    passthrough.device_id in [\n"
        '        "dev-ring-0001",\n'
        '        "dev-ring-0002",\n'
        '        "dev-ring-0003",\n'
        '        "dev-ring-0004",\n'
        '        "dev-ring-0005",\n'
        '        "dev-ring-0006",\n'
        "    ]\n"
    )
    assert fmt(out) == out


def test_a_long_and_or_chain_takes_one_operand_per_line() -> None:
    source = (
        'rule r { when not goods.is_virtual and goods.price >= ¥99.00 and (user.region not in '
        '["西藏", "新疆"] or user.level >= 3) then pass() }\n'
        'condition c = user.level >= 5 or user.credit_status == "active" and '
        'order.payment_method != "credit" and order.amount >= 1000 CNY or user.vip\n'
    )
    out = fmt(source)
    assert out == (
        "rule r {\n"
        "    when not goods.is_virtual\n"
        "        and goods.price >= ¥99.00\n"
        '        and (user.region not in ["西藏", "新疆"] or user.level >= 3)\n'
        "    then pass()\n"
        "}\n"
        "\n"
        "condition c =\n"
        "    user.level >= 5\n"
        '        or user.credit_status == "active"\n'
        '            and order.payment_method != "credit"\n'
        "            and order.amount >= 1000 CNY\n"
        "        or user.vip\n"
    )
    assert fmt(out) == out
    assert decls_of(out) == decls_of(source)


def test_an_and_chain_first_in_a_broken_or_chain_goes_deeper_than_the_ors() -> None:
    source = (
        'rule r { when user.credit_status == "active" and order.payment_method != "credit" and '
        "order.amount >= 1000 CNY or user.level >= 5 and user.vip }"
    )
    assert fmt(source) == (
        "rule r {\n"
        '    when user.credit_status == "active"\n'
        '            and order.payment_method != "credit"\n'
        "            and order.amount >= 1000 CNY\n"
        "        or user.level >= 5 and user.vip\n"
        "}\n"
    )


def test_a_long_aggregate_keeps_its_body_whole_on_the_lines_between() -> None:
    source = (
        "rule r { when new_user and sum(line.price * line.quantity for line in order.lines "
        "where not line.is_virtual and line.quantity > 0) >= 99 CNY }"
    )
    assert fmt(source) == (
        "rule r {\n"
        "    when new_user\n"
        "        and sum(\n"
        "            line.price * line.quantity for line in order.lines where not line.is_virtual"
        " and line.quantity > 0\n"
        "        ) >= 99 CNY\n"
        "}\n"
    )


def test_of_two_calls_on_a_line_the_last_one_breaks() -> None:
    source = (
        'rule r { when starts_with(user.name, "a") == ends_with(user.name_with_a_long_field_name,'
        ' "a long suffix", "another long argument") }'
    )
    assert fmt(source) == (
        "rule r {\n"
        '    when starts_with(user.name, "a") == ends_with(\n'
        "        user.name_with_a_long_field_name,\n"
        '        "a long suffix",\n'
        '        "another long argument",\n'
        "    )\n"
        "}\n"
    )


def test_wide_characters_count_two_columns() -> None:
    region = "浙" * 40
    line = f'    given {{ region: "{region}", city: "x" }}'
    assert len(line) <= 100
    assert fmt(f'test t {{ given {{ region: "{region}", city: "x" }} }}') == (
        f'test t {{\n    given {{\n        region: "{region}"\n        city: "x"\n    }}\n}}\n'
    )


def test_a_comment_after_a_broken_list_stays_after_its_closing_bracket() -> None:
    items = ", ".join(f'"item-number-{i}"' for i in range(6))
    out = fmt(f"rule r {{ then [{items}]  # why\n}}")
    assert out == (
        "rule r {\n    then [\n"
        + "".join(f'        "item-number-{i}",\n' for i in range(6))
        + "    ]  # why\n}\n"
    )
    assert fmt(out) == out


def test_syntax_errors_give_diagnostics_and_no_text() -> None:
    out, diagnostics = format_source("rule r { when x ==  }\ntag a.b: \n", "bad.rules")
    assert out is None
    assert diagnostics and all(d.span.file == "bad.rules" for d in diagnostics)
    assert format_source("rule r { when 'x' }")[0] is None


def test_format_module_matches_format_source() -> None:
    module, _ = parse(EXAMPLE)
    assert module is not None
    assert format_module(module) == EXAMPLE_FORMATTED


# ----------------------------------------------------------------------------- expressions


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1", "1"),
        ("-  7", "-7"),
        ("89.00", "89.00"),
        ("0.0000001", "0.0000001"),
        ("-0.50", "-0.50"),
        ("90%", "90%"),
        ("12.50%", "12.5%"),
        ("100.0%", "100%"),
        ("0.001%", "0.001%"),
        ("300.00CNY", "300.00 CNY"),
        ("- 5 USD", "-5 USD"),
        ("¥ 300.00", "¥300.00"),
        ("-¥3", "-¥3"),
        ('"a\\"b\\\\c\\nd\\te"', '"a\\"b\\\\c\\nd\\te"'),
        ('"\\q"', '"q"'),
        ("7d", "7d"),
        ("2024-01-01T10:00:00+08:00", "2024-01-01T10:00:00+08:00"),
        ("2024-06-18", "2024-06-18"),
        ("true", "true"),
        ("false", "false"),
        ("[ 1 ,2, ]", "[1, 2]"),
        ("[]", "[]"),
        ("{}", "{}"),
        ("{ a : 1 b: [ ] , }", "{ a: 1, b: [] }"),
        ("user . age", "user.age"),
        ("len( user.tags )", "len(user.tags)"),
        ('show(content:"x" , slot : "y",)', 'show(content: "x", slot: "y")'),
        ("any( l in order.lines )", "any(l in order.lines)"),
        ("count(l in order.lines where l.quantity>=2)", "count(l in order.lines where l.quantity >= 2)"),
        (
            "sum(l.price*l.quantity for l in order.lines where l.category==\"phone\")",
            'sum(l.price * l.quantity for l in order.lines where l.category == "phone")',
        ),
        ("max( l.price for l in order.lines)", "max(l.price for l in order.lines)"),
        ("a or b or c", "a or b or c"),
        ("(a or b) or c", "(a or b) or c"),
        ("a or (b or c)", "a or (b or c)"),
        ("(a and b) or c", "a and b or c"),
        ("(a or b) and c", "(a or b) and c"),
        ("a and (b and c)", "a and (b and c)"),
        ("not (a and b)", "not (a and b)"),
        ("not (a == b)", "not a == b"),
        ("(not a) == b", "(not a) == b"),
        ("not not a", "not not a"),
        ("(a == b) == c", "(a == b) == c"),
        ("a != (b < c)", "a != (b < c)"),
        ("(a in b) in c", "(a in b) in c"),
        ("x not  in [1]", "x not in [1]"),
        ("tags contains \"vip\"", 'tags contains "vip"'),
        ("x between a+1 and (b*2)", "x between a + 1 and b * 2"),
        ("(x between 1 and 2) == true", "(x between 1 and 2) == true"),
        ("x between (a and b) and c", "x between (a and b) and c"),
        ("(a - b) - c", "a - b - c"),
        ("a - (b - c)", "a - (b - c)"),
        ("a - (b + c)", "a - (b + c)"),
        ("a + (b * c)", "a + b * c"),
        ("(a + b) * c", "(a + b) * c"),
        ("a / (b * c)", "a / (b * c)"),
        ("(a / b) / c", "a / b / c"),
        ("a - -5", "a - -5"),
        ("a * -b", "a * -b"),
        ("-(a + b)", "-(a + b)"),
        ("- - x", "--x"),
        ("-(5)", "-5"),
        ("f((a or b), [(1 + 2)], k: (x))", "f(a or b, [1 + 2], k: x)"),
        ("{ a: (1 + 2) * 3 }", "{ a: (1 + 2) * 3 }"),
    ],
)
def test_format_expr(source: str, expected: str) -> None:
    expr = expr_of(source)
    assert format_expr(expr) == expected
    assert strip_spans(expr_of(expected)) == strip_spans(expr)


def test_format_expr_keeps_a_record_on_one_line_however_long() -> None:
    record = "{ " + ", ".join(f"field{i}: {i}" for i in range(30)) + " }"
    assert format_expr(expr_of(record)) == record


# ----------------------------------------------------------------------------- properties
# Random expressions, written with every operand parenthesised so that any tree can be made.

_LEAVES = [
    "1", "0", "-3", "42", "2.50", "0.125", "-0.5", "90%", "12.5%", "300.00 CNY", "5 USD",
    "¥5", "¥300.00", "-¥2", '"a"', '"q\\"uo\\\\te\\n"', '"中文"', "7d", "24h", "2024-01-01",
    "2024-01-01T10:00:00Z", "2024-01-01T10:00+08:00", "true", "false", "x", "user.age",
    "order.amount", "l.price", "[]", "{}",
]

_BINARY = ["==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "+", "-", "*", "/"]


def _exprs() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        p = inner.map(lambda e: f"({e})")
        return st.one_of(
            st.tuples(p, st.sampled_from(_BINARY), p).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
            st.tuples(st.sampled_from(["and", "or"]), st.lists(p, min_size=2, max_size=4)).map(
                lambda t: f" {t[0]} ".join(t[1])
            ),
            p.map(lambda e: f"not {e}"),
            p.map(lambda e: f"-{e}"),
            st.tuples(p, p, p).map(lambda t: f"{t[0]} between {t[1]} and {t[2]}"),
            st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
            st.lists(inner, max_size=3).map(
                lambda xs: "{" + " ".join(f"k{i}: {x}" for i, x in enumerate(xs)) + "}"
            ),
            st.tuples(st.lists(inner, max_size=2), st.lists(inner, max_size=2)).map(
                lambda t: "f(" + ", ".join([*t[0], *(f"n{i}: {x}" for i, x in enumerate(t[1]))]) + ")"
            ),
            st.tuples(st.sampled_from(["any", "all", "count"]), inner, st.none() | inner).map(
                lambda t: f"{t[0]}(l in {t[1]}" + (f" where {t[2]})" if t[2] else ")")
            ),
            st.tuples(st.sampled_from(["sum", "min", "max"]), inner, inner, st.none() | inner).map(
                lambda t: f"{t[0]}({t[1]} for l in {t[2]}" + (f" where {t[3]})" if t[3] else ")")
            ),
            p,
        )

    return st.recursive(st.sampled_from(_LEAVES), extend, max_leaves=12)


def _grouping_parens(text: str) -> list[tuple[int, int]]:
    """Pairs of parentheses that only group (not those of calls), outside strings."""
    pairs: list[tuple[int, int]] = []
    opened: list[tuple[int, bool]] = []
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "(":
            opened.append((i, i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")))
        elif ch == ")":
            start, is_call = opened.pop()
            if not is_call:
                pairs.append((start, i))
    return pairs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_exprs())
def test_format_expr_round_trips_with_the_fewest_parentheses(source: str) -> None:
    expr = expr_of(source)
    text = format_expr(expr)
    again = expr_of(text)
    assert strip_spans(again) == strip_spans(expr), (source, text)
    assert format_expr(again) == text
    for start, end in _grouping_parens(text):
        without = text[:start] + text[start + 1 : end] + text[end + 1 :]
        changed, _ = parse_expression(without)
        assert changed is None or strip_spans(changed) != strip_spans(expr), (text, without)


# Declarations covering every form of the grammar; whitespace and comments are added at random.
SNIPPETS = [
    'tag user.age: int { display "年龄" default 0 }',
    'tag user.region: enum("east", "west", "north")',
    "tag user.tags: set { default [] }",
    "tag user.registered_days: int",
    "tag order.amount: money(CNY) { source api scope [home_popup, checkout] }",
    "tag order.lines: list(sku: string, category: string, quantity: int, price: money,)",
    "tag goods.ids: list(int) {}",
    'tag user.level: int { display "等级" status deprecated description "old" default -1 }',
    "effect show(content: string, slot: string)",
    "effect discount(amount: money)",
    "effect noop()",
    'condition new_user = "new_user" in user.tags or user.registered_days <= 7',
    'condition big = order.amount >= 300 and goods.category in ["phone", "laptop"]',
    'condition not_vip = not ("vip" in user.tags) and user.region not in ["west"]',
    'condition mixed = (a or b) and not c or d and (e or f and g)',
    "condition money_math = order.amount - 20.00 CNY * 2 >= ¥100 and -order.amount < -¥5.5",
    "condition ratio = order.amount * 90% / (1 + 0.05) > 1000 USD - 12.5%",
    'condition during = now between 2024-06-01 and 2024-06-18T23:59:59+08:00 or wait >= 7d '
    "or wait < 24h or wait > 30s or at == 2024-06-18T10:00Z",
    "condition cmp = (a == b) != c and (x < y) == (p >= q) and u > v and w <= z",
    'condition has = user.tags contains "vip" and not (user.age - (user.bonus - 1)) > 3',
    "condition phones = any(l in order.lines where l.category == \"phone\" and l.quantity >= 2)",
    "condition every = all(l in order.lines) and count(l in order.lines where l.quantity > 1) >= 2",
    "condition spend = sum(l.price * l.quantity for l in order.lines where l.quantity > 0) >= 500 CNY",
    "condition cheap = min(l.price for l in order.lines) < 10 and max(l.price for l in [1, 2]) > 1",
    'condition calls = len(user.tags) > 0 and contains_any(user.tags, ["a", "b",]) and f()',
    'condition strs = name == "tab\\there \\"q\\" back\\\\slash\\nline # not a comment" or x == 1m',
    "condition recs = { a: 1 b: { c: [1, 2] }, d: -0.50 } == { } or [] == [[], [1]]",
    'scene home_popup { display "首页弹窗" access api clients [web, app] on_failure open }',
    "scene checkout {}",
    "strategy s1 {\n  scene home_popup\n  hit first\n"
    '  rule r1 { priority 10 when any(l in order.lines where l.category == "phone") '
    'then show(content: "x", slot: "y") }\n'
    '  rule r2 { when new_user then show(content: "new", slot: "b") }\n}',
    "strategy s2 { scene checkout hit all rule only { when big then discount(amount: ¥20) } }",
    'strategy s3 { hit any rule "quoted name" { when true then noop() } rule empty {} }',
    "promotion p { budget 10000.00 CNY starts 2024-06-01 ends 2024-06-18 "
    "band b1 { when order.amount >= 300 then discount(amount: 30 CNY) } "
    "band b2 { when order.amount >= 500 then discount(amount: 60 CNY) } }",
    'experiment e { salt "e1" variant control { weight 50 } variant treat { weight 50% } }',
    'test "new user gets popup" {\n  scene home_popup\n'
    '  given { user: { tags: ["new_user"], registered_days: 30 }, order: { amount: 10, lines: [] } }\n'
    '  expect show(content: "new", slot: "b")\n}',
    'test "long given" { given { user: { tags: ["new_user", "vip", "gold"], registered_days: 30, '
    'region: "east", age: 40 }, order: { amount: 300.00 CNY, lines: [{ sku: "p1", category: '
    '"phone", quantity: 2, price: ¥3999.00 }, { sku: "p2", category: "case", quantity: 1, '
    'price: ¥19.90 }] }, and: 1, USD: 2 } expect nothing }',
    # Too long for one line: lists, calls, types, parameters, chains and aggregates break.
    "tag order.items: list(sku: string, spu: string, category: string, brand: string, shop: string, "
    'quantity: int, price: money) { display "订单行" scope [home_popup, checkout, payment] }',
    "effect grant(template_identifier: string, amount_of_money: money, valid_for: duration, "
    'reason: string, channel: enum("app", "web"))',
    'condition blocked = passthrough.device_id in ["dev-ring-0001", "dev-ring-0002", '
    '"dev-ring-0003", "dev-ring-0004", "dev-ring-0005"]',
    'condition chain = user.level >= 5 or user.credit_status == "active" and '
    'order.payment_method != "credit" and order.amount >= 1000 CNY or not (a or b)',
    'strategy s4 { scene home rule gift { when new_user and sum(line.price * line.quantity for line '
    "in order.lines where not line.is_virtual and line.quantity > 0) >= 99 CNY "
    'then [show(content: "newbie_gift_pack_v2", slot: "home_popup"), grant(template_identifier: '
    '"newbie_50_short", amount_of_money: 50 CNY, valid_for: 72h, reason: "r", channel: "app")] } }',
    'test "lists of records" { given { order: { lines: [{ sku: "SKU-TOPUP-100", category: '
    '"top_up", quantity: 1 }, { sku: "SKU-DRESS-7", category: "dress", quantity: 1, '
    'price: 159 CNY, is_virtual: false }] } } expect [show(content: "a", slot: "b"), '
    'show(content: "c", slot: "d")] }',
]

_TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"'
    r"|\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?)?"
    r"|\d+(?:\.\d+)?(?:%|[dhms](?![\w.]))?"
    r"|[^\W\d]\w*"
    r"|==|!=|<=|>=|[<>]"
    r"|[-+*/(){}\[\],.:=¥]"
    r"|\s+"
)

_COMMENT_TEXT = st.text(alphabet=' abcxyz#"{}()中文:', max_size=10)
# Blank lines, some with spaces or a tab on them.
_BLANK_LINES = st.lists(st.sampled_from(["\n", "  \n", "\t\n"]), max_size=3).map("".join)


def _tokens(snippet: str) -> list[tuple[str, bool]]:
    """The snippet's tokens, each with whether whitespace was written before it."""
    out: list[tuple[str, bool]] = []
    spaced = True
    pos = 0
    while pos < len(snippet):
        match = _TOKEN.match(snippet, pos)
        assert match is not None, snippet[pos:]
        text = match.group()
        pos = match.end()
        if text.isspace():
            spaced = True
            continue
        out.append((text, spaced))
        spaced = False
    return out


@st.composite
def _separator(draw: st.DrawFn, spaced: bool) -> str:
    kind = draw(st.integers(0, 11))
    if kind == 0:
        return f"  #{draw(_COMMENT_TEXT)}\n"  # at the end of a line
    if kind == 1:
        return f"\n  #{draw(_COMMENT_TEXT)}\n  "  # on a line of its own
    if kind == 2:
        # On a line of its own, with blank lines before or after it.
        before, after = draw(_BLANK_LINES), draw(_BLANK_LINES)
        return f"\n{before}  #{draw(_COMMENT_TEXT)}\n{after}  "
    if kind == 3:
        return "\n" + draw(_BLANK_LINES) + draw(st.sampled_from(["", "  ", "\t"]))
    plain = [" ", "   ", "\n", "\n\n      ", "\t"] + ([] if spaced else ["", "", ""])
    return draw(st.sampled_from(plain))


@st.composite
def rule_files(draw: st.DrawFn) -> str:
    snippets = draw(st.lists(st.sampled_from(SNIPPETS), min_size=1, max_size=5))
    parts: list[str] = [draw(_BLANK_LINES)]
    if draw(st.booleans()):
        parts.append(f"#{draw(_COMMENT_TEXT)}\n")
    for snippet in snippets:
        for text, spaced in _tokens(snippet):
            if "".join(parts).strip():
                parts.append(draw(_separator(spaced)))
            parts.append(text)
        parts.append("\n" + draw(_BLANK_LINES))
    if draw(st.booleans()):
        parts.append(f"\n#{draw(_COMMENT_TEXT)}")
    return "".join(parts)


def test_every_snippet_parses_and_splits_into_its_tokens() -> None:
    for snippet in SNIPPETS:
        rebuilt = "".join((" " if spaced else "") + text for text, spaced in _tokens(snippet))
        assert decls_of(rebuilt) == decls_of(snippet)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_files())
def test_formatting_is_idempotent_keeps_meaning_and_comments(source: str) -> None:
    out = fmt(source)
    assert fmt(out) == out
    assert decls_of(out) == decls_of(source)
    assert comment_texts(out) == comment_texts(source)
    assert out == "" or (out.endswith("\n") and not out.endswith("\n\n"))
    assert not any(line != line.rstrip() for line in out.split("\n"))
    assert_blank_lines_are_single_and_between_items(out)


def assert_blank_lines_are_single_and_between_items(out: str) -> None:
    """Never two blank lines in a row, none at the start, none right after a line that opens
    a block or a bracket, none right before a line that closes one."""
    lines = out.split("\n")[:-1]
    for i, line in enumerate(lines):
        if line:
            continue
        assert 0 < i < len(lines) - 1, out
        code = lines[i - 1].split("  #")[0]
        assert lines[i + 1] and (code.lstrip().startswith("#") or code[-1:] not in "{[("), out
        assert lines[i + 1].lstrip()[:1] not in ("}", "]", ")"), out
