"""Settlement over HTTP, on SQLite and on PostgreSQL + Redis, as the platform's staff see it:
the commission rates, the shop's terms set at onboarding, the event intake, the cycles run
by the operator and the statements and balances the analyst reads. The money comes from the
merchant flow run over HTTP (tests/api/test_merchants_routes.py): statement 1 nets 349.60,
statement 2 -4.75 with the refund clawed back, closing 344.85, all withdrawn.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.settlement import service as settlement

from .conftest import NOW, SHOP, Api, assert_problem
from .test_merchants_routes import DAY, HOUR, Flow, clock_at, money, ok, run_flow

FIRST, SECOND = f"{SHOP}:2026-11-16", f"{SHOP}:2026-11-18"


@pytest.fixture(scope="module")
def flow(api: Api) -> Flow:
    return run_flow(api)


def test_rates_are_set_by_the_operator_and_read_by_the_analyst(api: Api, flow: Flow) -> None:
    assert ok(api.get("analyst", "/v1/settlement/rates", params={"category": "dress", "sku": "SKU-DRESS-1"})) == {
        "category": "dress", "sku": "SKU-DRESS-1", "rate": "0.05"}
    assert ok(api.put("operator", "/v1/settlement/rates/skus/SKU-DRESS-1", json={"rate": "0.08"}))["rate"] == "0.08"
    assert ok(api.get("operator", "/v1/settlement/rates", params={"category": "dress", "sku": "SKU-DRESS-1"}))[
        "rate"] == "0.08"
    assert ok(api.put("operator", "/v1/settlement/rates/categories/*", json={"rate": "0.03"}))["rate"] == "0.03"
    assert ok(api.get("operator", "/v1/settlement/rates", params={"category": "shoes", "sku": "SKU-X"}))[
        "rate"] == "0.03"
    ok(api.put("operator", "/v1/settlement/rates/skus/SKU-DRESS-1", json={"rate": "0.05"}))
    for rate in ("1", "1.5", "-0.1", "0.12345", 0.05):
        problem = assert_problem(api.put("operator", "/v1/settlement/rates/categories/dress", json={"rate": rate}),
                                 422)
        assert "rate" in str(problem)
    assert_problem(api.put("analyst", "/v1/settlement/rates/categories/dress", json={"rate": "0.01"}), 403)
    assert_problem(api.put("merchant", "/v1/settlement/rates/categories/dress", json={"rate": "0.01"}), 403)


def test_onboarding_set_the_shops_terms(api: Api, flow: Flow) -> None:
    assert ok(api.get("analyst", f"/v1/settlement/shops/{SHOP}")) == {
        "shop": SHOP, "cycle_days": 3, "policy": "net_next_cycle", "currency": "CNY"}
    assert_problem(api.get("operator", "/v1/settlement/shops/shop-nobody-009"), 404)
    other = "shop-terms-777"
    made = ok(api.put("operator", f"/v1/settlement/shops/{other}", json={"cycle_days": 1, "policy": "from_deposit"}))
    assert made == {"shop": other, "cycle_days": 1, "policy": "from_deposit", "currency": "CNY"}
    assert ok(api.get("operator", f"/v1/settlement/shops/{other}/balances"))["available"] == money("0.00")
    assert_problem(api.put("operator", f"/v1/settlement/shops/{other}", json={"cycle_days": 1, "policy": "later"}),
                   422)


def test_the_intake_applies_each_event_once(api: Api, flow: Flow) -> None:
    assert flow.answers["taken in"]["applied"] >= 2  # the two paid orders
    assert ok(api.post("operator", "/v1/settlement/consume", json={}))["applied"] == 0
    with UnitOfWork(api.services.database) as uow:
        lines = settlement.lines_of(uow, shop=SHOP)
    assert sorted(x.commission for x in lines) == [Decimal("8.95"), Decimal("18.40")]


def test_the_cycles_statements_with_the_merchant_flows_figures(api: Api, flow: Flow) -> None:
    statements = ok(api.get("analyst", f"/v1/settlement/shops/{SHOP}/statements"))
    assert [(s["id"], s["opening"], s["goods"], s["commission"], s["refunds"], s["net"], s["closing"])
            for s in statements] == [
        (FIRST, money("0.00"), money("368.00"), money("18.40"), money("0.00"), money("349.60"), money("349.60")),
        (SECOND, money("349.60"), money("179.00"), money("8.95"), money("-174.80"), money("-4.75"), money("344.85")),
    ]
    second = ok(api.get("operator", f"/v1/settlement/statements/{SECOND}"))
    assert second == statements[1]
    entries = [(e["kind"], e["units"], e["base"], e["commission"], e["net"]) for e in second["entries"]
               if e["kind"] in ("goods", "refund")]
    assert sorted(entries) == [("goods", 1, "179.00", "8.95", "170.05"), ("refund", 1, "184.00", "9.20", "-174.80")]
    # Every statement reconciles: opening + net = closing.
    for s in statements:
        assert Decimal(s["opening"]["amount"]) + Decimal(s["net"]["amount"]) == Decimal(s["closing"]["amount"])
    assert ok(api.get("analyst", f"/v1/settlement/shops/{SHOP}/balances")) == {
        "pending": money("0.00"), "available": money("0.00"), "deposit": money("10000.00"),
        "withdrawn": money("0.00")}
    with UnitOfWork(api.services.database) as uow:
        assert ledger.balance(uow, accounts.COMMISSION_REVENUE)== Money.of("18.15")  # 18.40 + 8.95 - 9.20
        assert ledger.trial_balance(uow).balanced
    assert_problem(api.get("operator", "/v1/settlement/statements/shop-fashion-001:2030-01-01"), 404)


def test_a_cycle_runs_once_a_day(api: Api, flow: Flow) -> None:
    with clock_at(api, NOW + 6 * DAY + 4 * HOUR):  # statement 2's day again: the statement made
        again = ok(api.post("operator", f"/v1/settlement/shops/{SHOP}/settle", json={}))
        assert again == flow.answers["statement 2"]
    replay = api.post("operator", f"/v1/settlement/shops/{SHOP}/settle", json={},
                      headers={"Idempotency-Key": "settle-1"})
    assert replay.headers.get("idempotent-replayed") == "true"
    assert ok(replay) == flow.answers["statement 1"]
    with clock_at(api, NOW + 9 * DAY):  # the next cycle states the withdrawal made after statement 2
        third: dict[str, Any] = ok(api.post("operator", f"/v1/settlement/shops/{SHOP}/settle", json={}))
        assert (third["id"], third["opening"], third["withdrawals"], third["net"], third["closing"]) == (
            f"{SHOP}:2026-11-20", money("344.85"), money("-344.85"), money("0.00"), money("0.00"))
    with clock_at(api, NOW + 10 * DAY):  # nothing to state: a draft, nothing stored
        empty: dict[str, Any] = ok(api.post("operator", f"/v1/settlement/shops/{SHOP}/settle", json={}))
        assert (empty["draft"], empty["net"], empty["entries"]) == (True, money("0.00"), [])
    assert len(ok(api.get("operator", f"/v1/settlement/shops/{SHOP}/statements"))) == 3
    assert_problem(api.post("operator", "/v1/settlement/shops/shop-nobody-009/settle", json={}), 404)
    assert_problem(api.post("operator", f"/v1/settlement/shops/{SHOP}/settle", json={"at": "2026-11-20"}), 422)
    assert_problem(api.post("analyst", f"/v1/settlement/shops/{SHOP}/settle", json={}), 403)
    assert_problem(api.post("merchant", f"/v1/settlement/shops/{SHOP}/settle", json={}), 403)
