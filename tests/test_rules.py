"""The demo rule set in rules/ stays clean, its test blocks pass and its files are in the
canonical layout, as `arbiter check rules/`, `arbiter test rules/` and `arbiter fmt --check
rules/` would say."""

from __future__ import annotations

from pathlib import Path

from arbiter.dsl.checker import check_paths
from arbiter.dsl.compiler import compile_program
from arbiter.dsl.diagnostics import render_all
from arbiter.dsl.printer import format_source
from arbiter.engine.rule_tests import run_tests

RULES = Path(__file__).resolve().parent.parent / "rules"


def test_the_demo_rules_check_clean_without_warnings() -> None:
    result = check_paths([RULES])
    assert result.diagnostics == (), render_all(result.diagnostics, result.program.sources)


def test_every_test_block_in_the_demo_rules_passes() -> None:
    ruleset = compile_program(check_paths([RULES]))
    results = run_tests(ruleset)
    failures = [f"{r.location} {r.test.name}: expected {r.expected}, got {r.actual} {r.error or ''}" for r in results if not r.passed]
    assert failures == []
    # Every strategy is exercised by at least one test block.
    tested_scenes = {r.test.scene for r in results}
    assert {s.scene for s in ruleset.program.strategies.values()} <= tested_scenes


def test_every_demo_rule_file_is_already_formatted() -> None:
    files = sorted(RULES.rglob("*.rules"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        formatted, diagnostics = format_source(text, path.name)
        assert formatted is not None, render_all(diagnostics, {path.name: text})
        assert formatted == text, f"{path.name} is not formatted: run `arbiter fmt rules/`"
