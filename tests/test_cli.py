"""The `arbiter` command as an operator uses it: exit codes, exact output, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
tag user.level: int { default 0 }
tag order.amount: money
effect show(content: string)
scene popup { }
strategy popup_v1 {
    scene popup
    hit first
    rule big { priority 10 when order.amount >= 300 then show(content: "big") }
    rule small { when order.amount < 300 then show(content: "small") }
}
test big_orders { scene popup given { order: { amount: 300 } } expect show(content: "big") }
test small_orders { scene popup given { order: { amount: 10 } } expect show(content: "small") }
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "arbiter.cli", *args], cwd=cwd, capture_output=True, text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=60,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "popup.rules").write_text(GOOD, encoding="utf-8")
    return tmp_path


def test_check_is_quiet_on_clean_rules(rules: Path) -> None:
    result = run("check", "rules", cwd=rules)
    assert (result.returncode, result.stdout) == (0, "checked 1 file: 0 errors, 0 warnings\n")


def test_check_reports_every_error_with_a_caret_and_exits_1(rules: Path) -> None:
    (rules / "rules" / "bad.rules").write_text(
        'condition a = user.levl >= 3\ncondition b = order.amount >= "300"\n', encoding="utf-8"
    )
    result = run("check", "rules", cwd=rules)
    assert result.returncode == 1
    assert result.stdout == (
        "rules/bad.rules:1:15: error[dsl.tag.unknown]: unknown tag `user.levl`; did you mean `user.level`?\n"
        "  |\n"
        "1 | condition a = user.levl >= 3\n"
        "  |               ^^^^^^^^^\n"
        "  = hint: tags in `user`: level\n"
        "\n"
        "rules/bad.rules:2:15: error[dsl.money.incompatible]: an amount in CNY cannot be compared with string\n"
        "  |\n"
        '2 | condition b = order.amount >= "300"\n'
        "  |               ^^^^^^^^^^^^^^^^^^^^^\n"
        "  = hint: amounts compare only with amounts\n"
        "\n"
        "checked 2 files: 2 errors, 0 warnings\n"
    )
    as_json = json.loads(run("check", "rules", "--format", "json", cwd=rules).stdout)
    assert as_json["ok"] is False
    assert [(d["code"], d["file"], d["line"], d["column"]) for d in as_json["diagnostics"]] == [
        ("dsl.tag.unknown", "rules/bad.rules", 1, 15),
        ("dsl.money.incompatible", "rules/bad.rules", 2, 15),
    ]


def test_test_runs_every_test_block_and_shows_what_differs(rules: Path) -> None:
    result = run("test", "rules", "-v", cwd=rules)
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "PASS rules/popup.rules:11 big_orders",
        "PASS rules/popup.rules:12 small_orders",
        "2 passed, 0 failed",
    ]
    (rules / "rules" / "popup.rules").write_text(
        GOOD + 'test wrong { scene popup given { order: { amount: 5 } } expect show(content: "big") }\n',
        encoding="utf-8",
    )
    result = run("test", "rules", cwd=rules)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "FAIL rules/popup.rules:13 wrong",
        '     expected: show(content: "big")',
        '     actual:   show(content: "small")',
        '     - effect #1 show.content: expected "big", got "small"',
        "2 passed, 1 failed",
    ]


def test_eval_explains_each_rule(rules: Path) -> None:
    (rules / "ctx.json").write_text('{"order": {"amount": "120.50"}}', encoding="utf-8")
    result = run("eval", "rules", "--scene", "popup", "--context", "ctx.json", "--explain", cwd=rules)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1:] == [
        "effects:",
        '  show(content: "small")',
        "fired: popup_v1.small",
        "✗ popup_v1.big (priority 10): did not match",
        "    order.amount >= 300  =>  false",
        "    order.amount  =>  120.50 CNY",
        "✓ popup_v1.small (priority 0): matched: the highest-priority match fires",
        "    order.amount < 300  =>  true",
        "    order.amount  =>  120.50 CNY",
    ]
    expr = run("eval", "rules", "--expr", "order.amount * 2 + 0.01", "--context", "ctx.json", cwd=rules)
    assert expr.stdout == "241.01 CNY\n"


def test_fmt_check_then_rewrite(rules: Path) -> None:
    messy = rules / "rules" / "popup.rules"
    messy.write_text(GOOD.replace("    hit first", "  hit   first"), encoding="utf-8")
    check = run("fmt", "--check", "rules", cwd=rules)
    assert check.returncode == 1
    assert "would reformat rules/popup.rules" in check.stdout
    assert run("fmt", "rules", cwd=rules).returncode == 0
    again = run("fmt", "--check", "rules", cwd=rules)
    assert (again.returncode, again.stdout) == (0, "0 file(s) would reformat, 1 unchanged\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("check", "missing"), "error: missing: no such file or folder\n"),
        (("eval", "rules", "--scene", "nope"), "error: unknown scene `nope`; scenes: popup\n"),
        (("eval", "rules", "--scene", "popup", "--context", "rules/popup.rules"),
         "error: rules/popup.rules:1:1: invalid JSON: Expecting value\n"),
        (("eval", "rules", "--expr", 'order.amount > "x"'),
         "error: dsl.money.incompatible: an amount in CNY cannot be compared with string\n"),
        (("eval", "rules", "--scene", "popup", "--now", "yesterday"),
         "error: --now: 'yesterday' is not an ISO date-time such as 2026-11-11T20:00:00+08:00\n"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(rules: Path, args: tuple[str, ...], message: str) -> None:
    result = run(*args, cwd=rules)
    assert (result.returncode, result.stderr) == (2, message)
