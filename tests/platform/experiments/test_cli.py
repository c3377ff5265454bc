"""`arbiter experiment report | start | stop`: the table with exact figures on the hand-made
data set, the sample-ratio warning, and clear errors (never a traceback)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from arbiter.cli import app
from arbiter.platform.db import UnitOfWork, create_schema, make_engine
from arbiter.platform.experiments import service

from .support import T0, expose, hand_made, rules_text

REPORT = """\
experiment popup_ab · scene popup · unit user.id · status running
units first exposed at any time

variant    weight  units  conversions  rate [95% CI]            GMV (CNY)  GMV/unit  lift [95% CI]
control        50      4            1  25.00% [4.56%, 69.94%]      100.10     25.03  (control)
treatment      50      4            3  75.00% [30.06%, 95.44%]     130.01     32.50  +200.00% [-49.87%, +1695.39%]

sample ratio: chi² = 0.00, df 1, p = 1.0000 — ok (expected 50.0% / 50.0%, observed 50.0% / 50.0%)
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A working folder with rules/ and the default database var/arbiter.db."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ARBITER_DATABASE_URL", raising=False)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "popup.rules").write_text(rules_text(), encoding="utf-8")
    engine = make_engine("sqlite:///var/arbiter.db")
    create_schema(engine)
    yield engine
    engine.dispose()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_the_report_table_has_exact_figures(workdir: Engine) -> None:
    hand_made(workdir)
    code, out, _ = run("experiment", "report", "popup_ab")
    assert code == 0
    assert out == REPORT
    code, same, _ = run("experiment", "report", "popup_ab", "rules/popup.rules")
    assert same == REPORT


def test_the_report_as_json(workdir: Engine) -> None:
    hand_made(workdir)
    code, out, _ = run("experiment", "report", "popup_ab", "--format", "json",
                       "--since", "2026-11-11T10:00:00Z", "--until", "2026-11-12")
    assert code == 0
    found = json.loads(out)
    assert found["since"] == "2026-11-11T10:00:00+00:00" and found["until"] == "2026-11-12T00:00:00+00:00"
    assert [(v["name"], v["units"], v["conversions"]) for v in found["variants"]] == [
        ("control", 3, 1), ("treatment", 4, 2),
    ]
    assert found["variants"][1]["metric"] == "50.0600" and found["srm"]["flagged"] is False


def test_a_sample_ratio_mismatch_is_flagged_with_a_warning(workdir: Engine) -> None:
    expose(workdir, [(f"c{i}", "control", T0) for i in range(600)]
           + [(f"t{i}", "treatment", T0 + timedelta(minutes=1)) for i in range(480)])
    code, out, _ = run("experiment", "report", "popup_ab")
    assert code == 0
    # chi² = 2 · 60² / 540 = 13.33, p = erfc(sqrt(13.33 / 2)) = 0.00026
    assert ("sample ratio: chi² = 13.33, df 1, p = 0.00026 — MISMATCH "
            "(expected 50.0% / 50.0%, observed 55.6% / 44.4%)") in out
    assert "WARNING: sample ratio mismatch (p < 0.001)" in out
    assert "control        50    600            0  0.00% [0.00%, 0.64%]  0.00      0.00  (control)" in out
    assert "treatment      50    480            0  0.00% [0.00%, 0.79%]  0.00      0.00  —" in out


def test_start_and_stop(workdir: Engine) -> None:
    code, out, _ = run("experiment", "stop", "popup_ab", "--by", "ana", "--why", "bug in treatment")
    assert code == 0 and out.startswith("experiment popup_ab: running -> stopped at ")
    assert out.rstrip().endswith("by ana: bug in treatment")
    code, out, _ = run("experiment", "stop", "popup_ab", "--by", "bob", "--why", "again")
    assert code == 0 and "already stopped" in out and "by ana: bug in treatment" in out
    with UnitOfWork(workdir) as uow:
        assert service.statuses(uow) == {"popup_ab": "stopped"}
    code, out, _ = run("experiment", "report", "popup_ab")
    assert "status stopped" in out.splitlines()[0]
    code, out, _ = run("experiment", "start", "popup_ab", "--by", "ana", "--why", "fixed")
    assert code == 0 and "stopped -> running" in out
    code, _, err = run("experiment", "start", "popup_ab", "--by", "ana", "--why", " ")
    assert code == 2 and "why" in err


def test_mistakes_are_clear_messages(workdir: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run("experiment", "report", "nope")
    assert code == 2 and "no experiment `nope` in rules; experiments: popup_ab" in err
    code, _, err = run("experiment", "report", "popup_ab", "--since", "last week")
    assert code == 2 and "--since" in err
    code, _, err = run("experiment", "report", "popup_ab", "--since", "2026-11-12", "--until", "2026-11-11")
    assert code == 2 and "--until" in err
    code, _, err = run("experiment", "report", "popup_ab", "missing/")
    assert code == 2 and "missing: no such file or folder" in err
    code, _, err = run("experiment", "report", "popup_ab", "--format", "xml")
    assert code == 2
    broken = tmp_path / "broken.rules"
    broken.write_text("scene s { strategy nowhere }\n", encoding="utf-8")
    code, _, err = run("experiment", "report", "popup_ab", str(broken))
    assert code == 1 and "broken.rules:1:" in err
    monkeypatch.setenv("ARBITER_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1")
    code, _, err = run("experiment", "report", "popup_ab")
    assert code == 2 and err.startswith("error: database postgresql+psycopg://postgres@127.0.0.1:1/none")
