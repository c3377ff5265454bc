"""`arbiter demo` tells the golden flows on the embedded defaults, with their figures."""

from __future__ import annotations

from typer.testing import CliRunner

from arbiter.cli import app


def test_the_demo_tells_every_golden_flow_with_its_figures() -> None:
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "== Self-operated phone (warehouse 入仓; after-sales: return)" in out
    assert "final=3669.00" in out and "payable=3669.00, discount=330.00" in out
    assert "after-sales done: status=refunded, order=closed, refunded=3669.00, payment_refunded=3669.00" in out
    assert "== Self-operated phone (dropship 代发; after-sales: refund_only)" in out
    assert "shipped: carrier=SF, tracking=SF100200300, status=shipped" in out
    assert "real-time purchase: status=fulfilled, order=completed, refunded=0.00" in out
    assert "real-time purchase: status=failed, order=closed, refunded=100.00" in out
    assert "virtual goods have no after-sales" in out


def test_an_unknown_flow_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(app, ["demo", "--flow", "bogus"])
    assert result.exit_code == 2
    assert "--flow: bogus is not one of phone, dropship, topup" in result.output
