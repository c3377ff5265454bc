"""`arbiter rules ...`: publish, refuse, roll back, diff and list from the command line."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from arbiter.cli import app as arbiter_app
from arbiter.commands.rules import app
from arbiter.dsl.compiler import source_hash
from tests.platform.rules.conftest import Database
from tests.platform.rules.samples import broken, sources

Invoke = Callable[..., Any]  # runs `arbiter rules ARGS...`, returns the click Result


@pytest.fixture
def run(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(env={"ARBITER_DATABASE_URL": db.url, "ARBITER_REDIS_URL": ""})

    def invoke(*args: str) -> Any:
        return runner.invoke(app, list(args))

    return invoke


def write(files: dict[str, str]) -> None:
    for name, text in files.items():
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text(text, encoding="utf-8")


def test_publish_list_diff_and_rollback(run: Invoke) -> None:
    write(sources("v1"))
    result = run("publish", "rules", "--by", "alice", "--why", "first")
    assert (result.exit_code, result.stdout) == (
        0, f"published version 1 ({source_hash(sources('v1'))[:12]})\n"
    )
    write(sources("v2"))
    result = run("publish", "rules/catalog.rules", "rules/home.rules", "--by", "bob", "--why", "second")
    assert (result.exit_code, result.stdout) == (
        0, f"published version 2 ({source_hash(sources('v2'))[:12]}); version 1 archived\n"
    )

    result = run("diff", "1", "2")
    assert (result.exit_code, result.stdout) == (0, "~ rules welcome.new_user\n")
    result = run("diff", "2", "2")
    assert (result.exit_code, result.stdout) == (0, "versions 2 and 2 declare the same rules\n")

    result = run("rollback", "1", "--by", "carol", "--why", "v2 is wrong")
    assert result.exit_code == 0
    assert result.stdout == (
        f"published version 3 ({source_hash(sources('v1'))[:12]}), a rollback to version 1; "
        "version 2 archived\n"
    )

    result = run("versions")
    assert result.exit_code == 0
    rows = [re.split(r"\s{2,}", line.strip()) for line in result.stdout.splitlines()]
    assert [(r[0].strip(), r[1].strip(), r[-1]) for r in rows] == [
        ("1", "archived", "alice: first"),
        ("2", "archived", "bob: second"),
        ("3", "published", "carol: v2 is wrong (rollback of 1)"),
    ]


def test_refused_rules_print_diagnostics_and_exit_1(run: Invoke) -> None:
    write(broken())
    result = run("publish", "rules", "--by", "alice", "--why", "broken")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        "rules/home.rules:12:14: error[dsl.tag.unknown]: unknown tag `user.agee`\n"
    )
    assert "12 |         when user.agee > 1\n" in result.stderr
    assert result.stderr.endswith("refused: 1 error, 0 warnings; nothing was published\n")
    result = run("versions")
    assert (result.exit_code, result.stdout) == (0, "no versions yet\n")


def test_errors_are_messages_with_exit_codes(run: Invoke) -> None:
    result = run("publish", "missing", "--by", "a", "--why", "b")
    assert (result.exit_code, result.stderr) == (2, "error: missing: no such file or folder\n")
    result = run("rollback", "7", "--by", "a", "--why", "b")
    assert (result.exit_code, result.stderr) == (2, "error: there is no ruleset version 7\n")
    result = run("diff", "1", "2")
    assert (result.exit_code, result.stderr) == (2, "error: there is no ruleset version 1\n")
    write(sources("v1"))
    assert run("publish", "rules", "--by", "a", "--why", "b").exit_code == 0
    result = run("publish", "rules", "--by", "a", "--why", "again")
    assert result.exit_code == 1
    assert result.stderr == "error: nothing to publish: these rules are version 1, published already\n"
    result = run("publish", "rules", "--by", "", "--why", "b")
    assert result.exit_code == 2
    assert "`by` is required" in result.stderr


def test_an_unreachable_database_is_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    result = CliRunner(env={"ARBITER_DATABASE_URL": url}).invoke(app, ["versions"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: database postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert "Traceback" not in result.output


def test_mounted_on_the_arbiter_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'var' / 'arbiter.db'}"
    result = CliRunner(env={"ARBITER_DATABASE_URL": url}).invoke(arbiter_app, ["rules", "versions"])
    assert (result.exit_code, result.stdout) == (0, "no versions yet\n")
