"""Suppliers over HTTP, on both backends: onboarding a supplier and reading its contract; a
purchase order created once per Idempotency-Key, received into the Shanghai warehouse (the
stock goes up, the cost goes on the statement: 7886.38, due 30 days after); a dropship request
shipped by the supplier's callback (its cost on the statement, the event for fulfilment), the
same upload again changing nothing and another tracking number refused; bad input named."""

from __future__ import annotations

from typing import Any

from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import world
from arbiter.platform.events import service as events
from arbiter.platform.inventory import service as inventory
from arbiter.platform.suppliers import service as suppliers

from .conftest import NOW, Api, assert_problem, unique


def cny(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def onboard(api: Api, kind: str, **terms: Any) -> str:
    code = unique(f"sup-{kind}")
    ok(api.post("operator", "/v1/suppliers", json={"code": code, "name": f"{kind} supplier", "kind": kind, **terms}))
    return code


def test_a_supplier_is_onboarded_once_with_its_contract(shop: Api) -> None:
    code = unique("sup-topup")
    body = {"code": code, "name": "Top-up Hub", "kind": "realtime_api", "settlement_days": 7, "cost_rate": "0.985"}
    made = ok(shop.post("operator", "/v1/suppliers", json=body))
    assert made == {"code": code, "name": "Top-up Hub", "kind": "realtime_api", "status": "active",
                    "contract": {"settlement_days": 7, "price_terms": "", "cost_rate": "0.985"}}
    assert ok(shop.post("operator", "/v1/suppliers", json=body)) == made  # the same again changes nothing
    assert ok(shop.get("analyst", f"/v1/suppliers/{code}")) == made
    listed = ok(shop.get("analyst", "/v1/suppliers", params={"kind": "realtime_api"}))
    assert made in listed and {s["kind"] for s in listed} == {"realtime_api"}
    assert world.STOCK_SUPPLIER in [s["code"] for s in ok(shop.get("operator", "/v1/suppliers"))]

    other = shop.post("operator", "/v1/suppliers", json={**body, "settlement_days": 30})
    assert "other terms" in assert_problem(other, 409, "suppliers.supplier.exists")["detail"]
    assert ok(shop.get("operator", f"/v1/suppliers/{code}"))["contract"]["settlement_days"] == 7


def test_bad_supplier_calls_name_what_was_wrong(shop: Api) -> None:
    base = {"code": unique("sup-bad"), "name": "Bad", "kind": "dropship"}
    for field, value in (("cost_rate", "1.5"), ("kind", "wholesale"), ("settlement_days", 400), ("colour", "red")):
        problem = assert_problem(shop.post("operator", "/v1/suppliers", json={**base, field: value}), 422, "validation")
        assert [e["location"] for e in problem["errors"]] == [["body", field]]
    assert_problem(shop.get("operator", f"/v1/suppliers/{base['code']}"), 404, "not-found")
    assert_problem(shop.get("operator", "/v1/suppliers/nobody/statement",
                            params={"start": "2026-11-01", "end": "2026-11-30"}), 404, "suppliers.supplier.unknown")
    backwards = shop.get("operator", f"/v1/suppliers/{world.STOCK_SUPPLIER}/statement",
                         params={"start": "2026-11-30", "end": "2026-11-01"})
    assert "end" in assert_problem(backwards, 422)["detail"]
    assert_problem(shop.get("operator", "/v1/purchase-orders/PO-999999"), 404, "not-found")
    assert_problem(shop.get("operator", "/v1/purchase-orders/42"), 422, "validation")


def test_a_purchase_order_is_created_once_received_into_stock_and_stated(shop: Api) -> None:
    supplier = onboard(shop, "stock_purchase", settlement_days=30)
    body = {"warehouse": world.WAREHOUSE, "lines": [
        {"sku": world.PHONE, "quantity": 3, "unit_cost": cny("2600.00")},
        {"sku": world.EARBUDS, "quantity": 7, "unit_cost": cny("12.34")}]}
    key = {"Idempotency-Key": unique("po")}
    made = shop.post("operator", f"/v1/suppliers/{supplier}/purchase-orders", json=body, headers=key)
    order = ok(made)
    assert order["id"].startswith("PO-") and order["status"] == "created"
    assert (order["supplier"], order["warehouse"], order["total"]) == (supplier, world.WAREHOUSE, cny("7886.38"))
    assert order["lines"] == [{"sku": world.PHONE, "quantity": 3, "unit_cost": cny("2600.00")},
                              {"sku": world.EARBUDS, "quantity": 7, "unit_cost": cny("12.34")}]
    again = shop.post("operator", f"/v1/suppliers/{supplier}/purchase-orders", json=body, headers=key)
    assert again.json() == order and again.headers["idempotent-replayed"] == "true"
    reused = shop.post("operator", f"/v1/suppliers/{supplier}/purchase-orders", headers=key,
                       json={**body, "lines": body["lines"][:1]})
    assert_problem(reused, 422, "idempotency-key-reused")

    with UnitOfWork(shop.services.database) as uow:
        before = inventory.available(uow, world.EARBUDS)
    received = ok(shop.post("operator", f"/v1/purchase-orders/{order['id']}/receive", json={}))
    assert received == {**order, "status": "received"}
    assert ok(shop.post("operator", f"/v1/purchase-orders/{order['id']}/receive", json={})) == received
    with UnitOfWork(shop.services.database) as uow:
        assert inventory.available(uow, world.EARBUDS) == before + 7  # received once
    assert ok(shop.get("analyst", f"/v1/purchase-orders/{order['id']}")) == received

    stated = ok(shop.get("analyst", f"/v1/suppliers/{supplier}/statement",
                         params={"start": "2026-11-01", "end": "2026-11-30"}))
    assert (stated["total"], stated["due"], stated["start"], stated["end"]) == (
        cny("7886.38"), "2026-12-30", "2026-11-01", "2026-11-30")
    assert [(x["day"], x["kind"], x["reference"], x["sku"], x["quantity"], x["amount"]["amount"])
            for x in stated["lines"]] == [
        ("2026-11-11", "purchase_order", order["id"], world.PHONE, 3, "7800.00"),
        ("2026-11-11", "purchase_order", order["id"], world.EARBUDS, 7, "86.38")]

    wrong = shop.post("operator", f"/v1/suppliers/{world.DROPSHIP_SUPPLIER}/purchase-orders", json=body)
    assert_problem(wrong, 422, "suppliers.supplier.kind")
    nowhere = shop.post("operator", f"/v1/suppliers/{supplier}/purchase-orders",
                        json={**body, "warehouse": "WH-NOWHERE"})
    assert "WH-NOWHERE" in assert_problem(nowhere, 404)["detail"]
    zero = shop.post("operator", f"/v1/suppliers/{supplier}/purchase-orders",
                     json={**body, "lines": [{**body["lines"][0], "quantity": 0}]})
    assert assert_problem(zero, 422)["errors"][0]["location"] == ["body", "lines", 0, "quantity"]


def test_the_dropship_callback_ships_once_and_states_the_cost(shop: Api) -> None:
    supplier = onboard(shop, "dropship", settlement_days=15)
    order_id = unique("o-dropship")
    with UnitOfWork(shop.services.database) as uow:
        request_id = suppliers.push_dropship(uow, supplier, order_id, [
            ("L1", world.PHONE_DROPSHIP, 2, Money.of("3550.00")), ("L2", world.EARBUDS, 1)],
            {"name": "张三", "phone": "13800138000", "city": "上海"}, NOW)
        uow.commit()
    pushed = ok(shop.get("service", f"/v1/dropships/{request_id}"))
    assert (pushed["status"], pushed["carrier"], pushed["tracking_no"]) == ("pushed", None, None)
    assert pushed["address"] == {"name": "张三", "phone": "138****8000", "city": "上海"}
    assert ok(shop.get("operator", "/v1/dropships", params={"order_id": order_id})) == [pushed]

    tracking = {"carrier": "SF", "tracking_no": "SF1234567890"}
    key = {"Idempotency-Key": unique("ship")}
    shipped = ok(shop.post("service", f"/v1/dropships/{request_id}/tracking", json=tracking, headers=key))
    assert shipped == {**pushed, "status": "shipped", **tracking}
    replayed = shop.post("service", f"/v1/dropships/{request_id}/tracking", json=tracking, headers=key)
    assert replayed.json() == shipped and replayed.headers["idempotent-replayed"] == "true"
    assert ok(shop.post("service", f"/v1/dropships/{request_id}/tracking", json=tracking)) == shipped
    other = shop.post("service", f"/v1/dropships/{request_id}/tracking", json={**tracking, "tracking_no": "SF999"})
    assert_problem(other, 409, "suppliers.dropship.shipped")

    stated = ok(shop.get("operator", f"/v1/suppliers/{supplier}/statement",
                         params={"start": "2026-11-11", "end": "2026-11-11"}))
    assert stated["total"] == cny("7160.00") and stated["due"] == "2026-11-26"  # 2 x 3550.00 + 60.00
    assert [(x["kind"], x["sku"], x["quantity"], x["amount"]["amount"]) for x in stated["lines"]] == [
        ("dropship", world.PHONE_DROPSHIP, 2, "7100.00"), ("dropship", world.EARBUDS, 1, "60.00")]
    with UnitOfWork(shop.services.database) as uow:
        sent = [e.kind for e in events.about(uow, order_id)]
    assert sent == [suppliers.SHIPPED_EVENT]  # once, for fulfilment

    assert_problem(shop.post("service", "/v1/dropships/DS-999999/tracking", json=tracking), 404,
                   "suppliers.dropship.unknown")
    blank = shop.post("service", f"/v1/dropships/{request_id}/tracking", json={"carrier": "SF"})
    assert assert_problem(blank, 422)["errors"][0]["location"] == ["body", "tracking_no"]
