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
    assert "== Marketplace merchant" in out and "withdrawal: amount=344.85 CNY, status=paid" in out
    assert "== Installments (分期): 3000.00 in 3 periods on a 5000.00 line, financed by a funder" in out
    assert "available=5000.00, overpayment=1023.00, repurchase=2000.00, funder=trust_a" in out
    assert "no funder: closed before shipment: order=closed, payment=succeeded, payment_refunded=3000.00" in out
    assert "financed 资产路由: funder=self_held, stage=shipment, principal=3000.00, over_capacity=True" in out


def test_an_unknown_flow_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(app, ["demo", "--flow", "bogus"])
    assert result.exit_code == 2
    assert "--flow: bogus is not one of phone, dropship, topup, merchant, installments" in result.output
