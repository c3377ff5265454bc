"""`arbiter demo --flow merchant` tells the marketplace merchant's flow with its figures."""

from __future__ import annotations

from typer.testing import CliRunner

from arbiter.cli import app


def test_the_demo_tells_the_merchant_flow() -> None:
    result = CliRunner().invoke(app, ["demo", "--flow", "merchant"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "== Marketplace merchant (衣橱时装: onboarding, goods, orders, settlement, refund, withdrawal)" in out
    assert "deposit paid, shop open: status=active, deposit=10000.00 CNY, cycle=T+3" in out
    assert "statement 1: id=shop-fashion-001:2026-11-15, goods=368.00 CNY, commission=18.40 CNY, net=349.60 CNY" in out
    assert "refunds=-174.80 CNY, net=-4.75 CNY, closing=344.85 CNY" in out
    assert "withdrawal: amount=344.85 CNY, status=paid" in out
    assert "score 评分: score=3.40" in out
