"""The marketplace merchant over HTTP, on SQLite and on PostgreSQL + Redis: the flow of
arbiter.platform.demo.merchant_flow with its exact figures, the merchant's own steps through
its key (`shop-fashion-001`) and the platform's through the operator's; the users' cart,
checkout, cashier, delivery and refund request are set up by platform calls, as the
storefront would make them.

    order A  2 × 199.00, paid 298.00; base 368.00, commission 18.40, the merchant gets 349.60
    order B  1 × 199.00, paid 149.00; base 179.00, commission 8.95, the merchant gets 170.05
    refund   one dress of A after settlement: 149.00 to the user, 174.80 clawed back
    statement 1: net 349.60;  statement 2: 170.05 - 174.80 = -4.75, closing 344.85;
    withdrawal 344.85, available 0.00

A second merchant (`shop-other-002`, the `merchant-other` key) neither reads nor changes
anything of the first: every attempt is a 404, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from arbiter.clock import FixedClock
from arbiter.errors import Conflict
from arbiter.platform.aftersales import service as aftersales
from arbiter.platform.cart import service as cart
from arbiter.platform.catalog import service as catalog
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import world
from arbiter.platform.demo.flows import device_of, new_user, pay
from arbiter.platform.demo.story import Story
from arbiter.platform.fulfillment import service as fulfillment
from arbiter.platform.merchants import service as merchants
from arbiter.platform.orders import checkout as orders
from arbiter.platform.orders import records

from .conftest import NOW, OTHER_SHOP, SHOP, Api, assert_problem

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
MERCHANT, OTHER = "m-fashion", "m-other"
DRESS, COAT = "SKU-DRESS-1", "SKU-COAT-9"
BUYERS = (("13800138005", 2, 1 * DAY, 3), ("13800138006", 1, 3 * DAY, 5))  # phone, dresses, delivered after, stars
OFFICE = f"/v1/shops/{SHOP}"
OTHERS = f"/v1/shops/{OTHER_SHOP}"


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


@contextmanager
def clock_at(api: Api, when: datetime) -> Iterator[None]:
    """Stand the app's clock at `when`, then back where it was."""
    clock = api.services.clock
    assert isinstance(clock, FixedClock)
    before = clock.now()
    clock.advance(when - before)
    try:
        yield
    finally:
        clock.advance(before - clock.now())


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@dataclass
class Flow:
    """What the flow made, and what the calls answered along the way."""

    orders: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)


def onboard(api: Api, merchant_id: str, shop: str, categories: list[str]) -> dict[str, Any]:
    """Apply (the merchant portal), approve and record the deposit (the operator): the shop opens."""
    applied = ok(api.post("service", "/v1/merchants", json={
        "merchant_id": merchant_id, "name": "衣橱服饰有限公司", "type": "enterprise", "shop": shop,
        "shop_name": "衣橱时装", "categories": categories,
        "qualifications": {"business_license": "91310000MA1FL8XQ2K"}}))
    assert (applied["status"], applied["deposit"]) == ("applied", money("10000.00"))
    reviewed = ok(api.post("operator", f"/v1/merchants/{merchant_id}/review",
                           json={"approve": True, "reasons": ["licence verified", "categories in scope"]}))
    assert reviewed["status"] == "approved"
    receipt = {"amount": money("10000.00"), "reference": f"CLR-DEP-{merchant_id}"}
    paid = api.post("operator", f"/v1/merchants/{merchant_id}/deposit", json=receipt,
                    headers={"Idempotency-Key": f"deposit-{merchant_id}"})
    opened: dict[str, Any] = ok(paid)
    assert opened["status"] == "active"
    return opened


def stock_the_shop(api: Api, office: str, role: str, *, spu: str, sku: str, category: str) -> None:
    """Through the merchant's key: its warehouse, a product and its variant, 50 units, on sale."""
    ok(api.post(role, f"{office}/warehouse", json={"name": "衣橱时装发货仓", "region": "上海",
                                                   "serves": ["上海", "江苏", "浙江"]}))
    ok(api.post(role, f"{office}/products", json={"spu": spu, "title": "真丝连衣裙", "category": category,
                                                  "description": "a silk dress"}))
    draft = ok(api.post(role, f"{office}/goods", json={
        "sku": sku, "spu": spu, "list_price": money("259.00"), "sale_price": money("199.00"),
        "cost": money("90.00")}))
    assert (draft["status"], draft["sale_price"]) == ("draft", money("199.00"))
    received = ok(api.post(role, f"{office}/goods/{sku}/stock", json={"quantity": 50, "key": "first-batch"}))
    assert (received["on_hand"], received["locked"], received["received"]) == (50, 0, True)
    assert ok(api.post(role, f"{office}/goods/{sku}/publish"))["status"] == "published"


def buy(api: Api, phone: str, quantity: int, index: int) -> tuple[str, str]:
    """A user buys dresses through cart, checkout and the cashier (platform calls)."""
    platform, story = api.services.platform(), Story("buy")
    with UnitOfWork(platform.db) as uow:
        user_id, address = new_user(uow, platform, phone, NOW, story)
        device = device_of(phone)
        cart.add(uow, user_id, DRESS, quantity, NOW)
        placed = orders.checkout(uow, platform, user_id=user_id, from_cart=True, address_id=address,
                                 payment_method="alipay", passthrough=device, key=f"dress-{index}", now=NOW)
        if not placed.ok or placed.order is None:
            raise Conflict(f"checkout refused: {placed.reason}")
        [order] = placed.order.orders
        pay(uow, platform, placed.order.id, user_id, device, NOW, story)
    return user_id, order.id


def run_flow(api: Api) -> Flow:
    """The merchant flow over HTTP, from the application to the withdrawal."""
    flow, platform = Flow(), api.services.platform()
    with UnitOfWork(platform.db) as uow:
        world.build(uow, platform, NOW)
        catalog.add_category(uow, "apparel", "服装")
        for code, name in (("dress", "连衣裙"), ("coat", "大衣")):
            catalog.add_category(uow, code, name, "apparel")
    for category in ("dress", "coat"):
        assert ok(api.put("operator", f"/v1/settlement/rates/categories/{category}", json={"rate": "0.05"}))[
            "rate"] == "0.05"
    flow.answers["opened"] = onboard(api, MERCHANT, SHOP, ["dress", "coat"])
    stock_the_shop(api, OFFICE, "merchant", spu="SPU-DRESS-1", sku=DRESS, category="dress")
    flow.answers["coupon"] = ok(api.put("merchant", f"{OFFICE}/coupons/fashion_20", json={
        "display": "店铺券 满199减20", "threshold": money("199.00"), "value": money("20.00"), "days_after_claim": 7,
        "claim_limit": 1}))
    flow.answers["promotions"] = ok(api.get("merchant", f"{OFFICE}/promotions"))

    for index, (phone, quantity, _after, _stars) in enumerate(BUYERS, start=1):
        user_id, order_id = buy(api, phone, quantity, index)
        flow.users.append(user_id)
        flow.orders.append(order_id)
    flow.answers["taken in"] = ok(api.post("operator", "/v1/settlement/consume", json={}))
    flow.answers["paid orders"] = ok(api.get("merchant", f"{OFFICE}/orders", params={"status": "paid"}))

    with clock_at(api, NOW + 20 * HOUR):
        flow.answers["shipped"] = [
            ok(api.post("merchant", f"{OFFICE}/orders/{order_id}/ship",
                        json={"carrier": "SF", "tracking_no": f"SF-FASHION-{n}"}))
            for n, order_id in enumerate(flow.orders, start=1)]
    with UnitOfWork(platform.db) as uow:
        for n, ((_phone, _quantity, after, stars), user_id, order_id) in enumerate(
                zip(BUYERS, flow.users, flow.orders, strict=True), start=1):
            delivered = NOW + after
            fulfillment.logistics(uow, carrier="SF", tracking_no=f"SF-FASHION-{n}", key=f"SF-FASHION-{n}-d",
                                  status="delivered", note="signed", now=delivered)
            fulfillment.confirm_receipt(uow, order_id, user_id=user_id, now=delivered + 2 * HOUR)
            merchants.rate_order(uow, order_id, user_id=user_id, stars=stars, now=delivered + 3 * HOUR)
    ok(api.post("operator", "/v1/settlement/consume", json={}))

    first_cycle = NOW + 4 * DAY + 4 * HOUR
    flow.answers["preview"] = ok(api.get("merchant", f"{OFFICE}/preview", params={"at": first_cycle.isoformat()}))
    with clock_at(api, first_cycle):
        flow.answers["statement 1"] = ok(api.post("operator", f"/v1/settlement/shops/{SHOP}/settle", json={},
                                                  headers={"Idempotency-Key": "settle-1"}))

    with UnitOfWork(platform.db) as uow:
        order = records.require_order(uow, flow.orders[0])
        asked = aftersales.request(uow, platform, order.id, user_id=flow.users[0], kind="refund_only",
                                   lines=[(order.lines[0].line_id, 1)], reason="尺码不合适", key="fashion-refund",
                                   now=NOW + 5 * DAY)
    flow.answers["case id"] = asked.id
    with clock_at(api, NOW + 5 * DAY + HOUR):
        flow.answers["case"] = ok(api.post("merchant", f"{OFFICE}/cases/{asked.id}/approve",
                                           json={"note": "refund one dress"}))
    ok(api.post("operator", "/v1/settlement/consume", json={}))
    flow.answers["after refund"] = ok(api.get("merchant", f"{OFFICE}/balances"))

    with clock_at(api, NOW + 6 * DAY + 4 * HOUR):
        flow.answers["statement 2"] = ok(api.post("operator", f"/v1/settlement/shops/{SHOP}/settle", json={}))
    available = ok(api.get("merchant", f"{OFFICE}/balances"))["available"]
    with clock_at(api, NOW + 6 * DAY + 5 * HOUR):
        payout = {"amount": available, "key": "first-payout"}
        flow.answers["withdrawal"] = ok(api.post("merchant", f"{OFFICE}/withdrawals", json=payout,
                                                 headers={"Idempotency-Key": "payout-1"}))
        flow.answers["withdrawal again"] = ok(api.post("merchant", f"{OFFICE}/withdrawals", json=payout))
    return flow


@pytest.fixture(scope="module")
def flow(api: Api) -> Flow:
    return run_flow(api)


def test_onboarding_opens_the_shop_and_the_deposit_is_paid_once(api: Api, flow: Flow) -> None:
    assert flow.answers["opened"]["status"] == "active"
    history = ok(api.get("operator", f"/v1/merchants/{MERCHANT}/history"))
    assert [(c["from_status"], c["to_status"]) for c in history] == [
        (None, "applied"), ("applied", "approved"), ("approved", "active")]
    assert history[1]["reason"] == "licence verified; categories in scope"
    # The same receipt again is a replay; another receipt is a conflict, also with a new key.
    again = api.post("operator", f"/v1/merchants/{MERCHANT}/deposit",
                     json={"amount": money("10000.00"), "reference": f"CLR-DEP-{MERCHANT}"})
    assert ok(again)["status"] == "active"
    assert_problem(api.post("operator", f"/v1/merchants/{MERCHANT}/deposit",
                            json={"amount": money("10000.00"), "reference": "CLR-DEP-OTHER"}), 409)
    assert ok(api.get("analyst", f"/v1/merchants/{MERCHANT}"))["shop"] == SHOP
    assert_problem(api.get("operator", "/v1/merchants/m-nobody"), 404)


def test_the_shop_has_its_goods_and_promotions(api: Api, flow: Flow) -> None:
    assert flow.answers["coupon"]["scope"] == f"shop:{SHOP}"
    assert flow.answers["promotions"] == {"fashion_shop_coupon": "active", "fashion_threshold_cut": "active",
                                          "fashion_threshold_discount": "active"}
    assert [c["code"] for c in ok(api.get("merchant", f"{OFFICE}/coupons"))] == ["fashion_20"]
    [dress] = ok(api.get("merchant", f"{OFFICE}/goods"))
    assert (dress["sku"], dress["status"], dress["sale_price"]) == (DRESS, "published", money("199.00"))
    # 3 dresses sold: 47 on hand (locked stock is released at shipment).
    stock = ok(api.get("merchant", f"{OFFICE}/goods/{DRESS}/stock"))
    assert (stock["on_hand"], stock["locked"]) == (47, 0)


def test_the_merchant_ships_and_the_orders_settle_with_the_flows_figures(api: Api, flow: Flow) -> None:
    assert sorted(o["id"] for o in flow.answers["paid orders"]) == sorted(flow.orders)
    assert [o["payable"] for o in sorted(flow.answers["paid orders"], key=lambda o: flow.orders.index(o["id"]))] == [
        money("298.00"), money("149.00")]
    assert [(s["status"], s["tracking_no"]) for s in flow.answers["shipped"]] == [
        ("shipped", "SF-FASHION-1"), ("shipped", "SF-FASHION-2")]
    preview = flow.answers["preview"]
    assert (preview["goods"], preview["commission"], preview["net"], preview["draft"]) == (
        money("368.00"), money("18.40"), money("349.60"), True)
    first = flow.answers["statement 1"]
    assert (first["id"], first["goods"], first["commission"], first["net"], first["closing"], len(first["entries"])) == (
        f"{SHOP}:2026-11-16", money("368.00"), money("18.40"), money("349.60"), money("349.60"), 1)
    case = flow.answers["case"]
    assert (case["status"], case["amount"]) == ("refunded", money("149.00"))
    assert flow.answers["after refund"]["available"] == money("174.80")
    second = flow.answers["statement 2"]
    assert (second["id"], second["opening"], second["goods"], second["commission"], second["refunds"],
            second["net"], second["closing"]) == (
        f"{SHOP}:2026-11-18", money("349.60"), money("179.00"), money("8.95"), money("-174.80"), money("-4.75"),
        money("344.85"))
    [refund] = [e for e in second["entries"] if e["kind"] == "refund"]
    assert (refund["units"], refund["base"], refund["commission"], refund["net"]) == (1, "184.00", "9.20", "-174.80")


def test_the_merchant_withdraws_its_balance_once(api: Api, flow: Flow) -> None:
    paid = flow.answers["withdrawal"]
    assert (paid["amount"], paid["status"], paid["replayed"]) == (money("344.85"), "paid", False)
    assert flow.answers["withdrawal again"]["replayed"] is True
    assert ok(api.get("merchant", f"{OFFICE}/balances")) == {
        "pending": money("0.00"), "available": money("0.00"), "deposit": money("10000.00"),
        "withdrawn": money("0.00")}
    assert [w["amount"] for w in ok(api.get("merchant", f"{OFFICE}/withdrawals"))] == [money("344.85")]
    statements = ok(api.get("merchant", f"{OFFICE}/statements"))
    assert [(s["id"], s["net"]) for s in statements] == [(f"{SHOP}:2026-11-16", money("349.60")),
                                                         (f"{SHOP}:2026-11-18", money("-4.75"))]
    assert ok(api.get("merchant", f"{OFFICE}/statements/{SHOP}:2026-11-18"))["closing"] == money("344.85")
    stats = ok(api.get("merchant", f"{OFFICE}/statistics"))
    assert (stats["orders"], stats["sales"], stats["refunded"], stats["goods_on_sale"]) == (
        {"completed": 2}, money("447.00"), money("149.00"), 1)
    # More than the balance is refused as a value: nothing moves.
    refused = ok(api.post("merchant", f"{OFFICE}/withdrawals", json={"amount": money("1.00"), "key": "too-much"}))
    assert refused["status"] != "paid"


def test_the_score_is_read_by_the_operator_and_the_merchant(api: Api, flow: Flow) -> None:
    with UnitOfWork(api.services.database) as uow:
        merchants.compute_scores(uow, NOW + 6 * DAY + 6 * HOUR)
    score = ok(api.get("merchant", f"{OFFICE}/score"))
    # Shipped over HTTP 20 hours after payment (5 points), 1 case per 2 orders (1), rating 4.00.
    assert (score["score"], score["shipping_hours"], score["aftersales_rate"], score["rating"]) == (
        "3.40", "20.00", "0.5000", "4.00")
    assert ok(api.get("analyst", f"/v1/merchants/{MERCHANT}/score")) == score
    assert_problem(api.get("merchant-other", f"{OFFICE}/score"), 404)


def test_lifecycle_moves_with_reasons(api: Api, flow: Flow) -> None:
    moved = ok(api.post("operator", f"/v1/merchants/{MERCHANT}/restrict", json={"reason": "score below 4"}))
    assert moved["status"] == "restricted"
    # A restricted shop cannot publish (409), but may take goods off sale.
    assert ok(api.post("merchant", f"{OFFICE}/goods/{DRESS}/unpublish"))["status"] != "published"
    assert_problem(api.post("merchant", f"{OFFICE}/goods/{DRESS}/publish"), 409)
    assert ok(api.post("operator", f"/v1/merchants/{MERCHANT}/suspend", json={"reason": "review"}))[
        "status"] == "suspended"
    assert ok(api.post("operator", f"/v1/merchants/{MERCHANT}/reopen", json={"reason": "cleared"}))[
        "status"] == "active"
    assert ok(api.post("merchant", f"{OFFICE}/goods/{DRESS}/publish"))["status"] == "published"
    assert_problem(api.post("operator", f"/v1/merchants/{MERCHANT}/restrict", json={"reason": ""}), 422)
    last = ok(api.get("operator", f"/v1/merchants/{MERCHANT}/history"))[-3:]
    assert [(c["to_status"], c["reason"]) for c in last] == [
        ("restricted", "score below 4"), ("suspended", "review"), ("active", "cleared")]


def test_another_merchant_sees_and_changes_nothing_of_the_first(api: Api, flow: Flow) -> None:
    onboard(api, OTHER, OTHER_SHOP, ["coat"])
    stock_the_shop(api, OTHERS, "merchant-other", spu="SPU-COAT-9", sku=COAT, category="coat")
    order_id, case_id, statement_id = flow.orders[1], flow.answers["case id"], f"{SHOP}:2026-11-16"
    before = {path: ok(api.get("merchant", f"{OFFICE}{path}")) for path in (
        "/goods", f"/goods/{DRESS}/stock", "/orders", "/cases", "/statements", "/withdrawals", "/balances")}
    reads = [f"/goods/{DRESS}", f"/goods/{DRESS}/stock", f"/orders/{order_id}", f"/cases/{case_id}",
             f"/statements/{statement_id}"]
    for path in reads:  # through its own shop's path: absent, as an unknown one of its own would be
        theirs = assert_problem(api.get("merchant-other", f"{OTHERS}{path}"), 404)
        nothing = path.replace(DRESS, "SKU-NOPE").replace(order_id, "o-nope").replace(case_id, "AS-NOPE").replace(
            statement_id, f"{OTHER_SHOP}:2026-11-16")
        unknown = assert_problem(api.get("merchant-other", f"{OTHERS}{nothing}"), 404)
        assert theirs["type"] == unknown["type"]
    for path in [*reads, "/goods", "/orders", "/cases", "/statements", "/withdrawals", "/balances", "/preview",
                 "/statistics", "/promotions", "/coupons"]:  # through the first shop's path: absent
        assert_problem(api.get("merchant-other", f"{OFFICE}{path}"), 404, "not-found")
    changes: list[tuple[str, dict[str, Any]]] = [
        (f"/goods/{DRESS}/unpublish", {}), (f"/goods/{DRESS}/stock", {"quantity": 5, "key": "steal"}),
        (f"/orders/{order_id}/ship", {"carrier": "SF", "tracking_no": "SF-X"}),
        (f"/cases/{case_id}/approve", {"note": "x"}), (f"/cases/{case_id}/reject", {"note": "x"}),
        (f"/cases/{case_id}/inspect", {"passed": True}),
    ]
    for path, body in changes:
        assert_problem(api.post("merchant-other", f"{OTHERS}{path}", json=body), 404)
        assert_problem(api.post("merchant-other", f"{OFFICE}{path}", json=body), 404, "not-found")
    assert_problem(api.post("merchant-other", f"{OFFICE}/withdrawals",
                            json={"amount": money("1.00"), "key": "steal"}), 404, "not-found")
    # Its own shop is there for it, with nothing of the first in it.
    assert [g["sku"] for g in ok(api.get("merchant-other", f"{OTHERS}/goods"))] == [COAT]
    assert ok(api.get("merchant-other", f"{OTHERS}/orders")) == []
    assert ok(api.get("merchant-other", f"{OTHERS}/statements")) == []
    after = {path: ok(api.get("merchant", f"{OFFICE}{path}")) for path in before}
    assert after == before


def test_bad_input_and_unknown_things_are_problems(api: Api, flow: Flow) -> None:
    bad = assert_problem(api.post("merchant", f"{OFFICE}/withdrawals", json={"amount": {"amount": 1.5}, "key": "k"}),
                         422)
    assert "amount" in str(bad)
    assert_problem(api.post("merchant", f"{OFFICE}/goods", json={
        "sku": "SKU-X", "spu": "SPU-DRESS-1", "list_price": money("1.00"), "sale_price": money("1.00"),
        "cost": money("1.00"), "colour": "red"}), 422)
    assert_problem(api.post("merchant", f"{OFFICE}/products", json={
        "spu": "SPU-PHONE-9", "title": "a phone", "category": "phone"}), 422)  # outside its categories
    assert_problem(api.get("merchant", f"{OFFICE}/goods/SKU-NOPE"), 404)
    assert_problem(api.get("merchant", f"{OFFICE}/orders/o-nope"), 404)
    assert_problem(api.get("operator", "/v1/shops/shop-nobody-009/goods"), 404)
    assert_problem(api.post("operator", "/v1/merchants/m-nobody/review", json={"approve": True}), 404)
    assert_problem(api.post("operator", f"/v1/merchants/{MERCHANT}/review", json={"approve": True}), 409)
    assert_problem(api.post("service", "/v1/merchants", json={
        "merchant_id": "m-steal", "name": "x", "type": "enterprise", "shop": SHOP, "shop_name": "x",
        "categories": ["dress"], "qualifications": {"business_license": "L1"}}), 409)  # the shop is taken


def test_shop_promotions_registrations_and_coupons_stay_the_shops(api: Api, flow: Flow) -> None:
    action = f"{OFFICE}/promotions/fashion_threshold_cut/actions"
    paused = ok(api.post("merchant", action, json={"action": "pause", "why": "restocking"}))
    assert (paused["promotion"], paused["action"], paused["status"]) == ("fashion_threshold_cut", "pause", "paused")
    assert ok(api.get("merchant", f"{OFFICE}/promotions"))["fashion_threshold_cut"] == "paused"
    assert ok(api.post("merchant", action, json={"action": "resume"}))["status"] == "active"
    assert_problem(api.post("merchant", action, json={"action": "resume"}), 409)  # active already
    assert_problem(api.post("merchant", action, json={"action": "approve"}), 422)  # the platform approves
    assert_problem(api.post("merchant", f"{OFFICE}/promotions/platform_coupon_40/actions", json={"action": "pause"}),
                   404)  # the platform's, not the shop's
    assert_problem(api.post("merchant", f"{OFFICE}/registrations", json={"promotion": "nope", "sku": DRESS}), 404)
    assert_problem(api.post("merchant", f"{OFFICE}/registrations",
                            json={"promotion": "platform_coupon_40", "sku": DRESS}), 409)  # takes no registrations
    assert_problem(api.post("merchant", f"{OFFICE}/registrations",
                            json={"promotion": "platform_coupon_40", "sku": COAT}), 404)  # another shop's SKU
    assert ok(api.get("merchant", f"{OFFICE}/registrations", params={"promotion": "platform_coupon_40"})) == []
    coupon = {"display": "x", "threshold": money("99.00"), "value": money("10.00"), "days_after_claim": 7}
    assert_problem(api.put("merchant", f"{OFFICE}/coupons/newbie_30", json=coupon), 404)  # the platform's promotion
    assert_problem(api.put("merchant-other", f"{OTHERS}/coupons/fashion_20", json=coupon), 404)  # the first shop's
    assert ok(api.get("merchant", f"{OFFICE}/coupons"))[0]["value"] == money("20.00")


def test_the_merchant_rejects_a_case_saying_why(api: Api, flow: Flow) -> None:
    platform = api.services.platform()
    with UnitOfWork(platform.db) as uow:
        order = records.require_order(uow, flow.orders[1])
        asked = aftersales.request(uow, platform, order.id, user_id=flow.users[1], kind="return",
                                   lines=[(order.lines[0].line_id, 1)], reason="颜色不喜欢", key="colour",
                                   now=NOW + 7 * DAY)
    with clock_at(api, NOW + 7 * DAY + HOUR):
        assert_problem(api.post("merchant", f"{OFFICE}/cases/{asked.id}/reject", json={}), 422)
        rejected = ok(api.post("merchant", f"{OFFICE}/cases/{asked.id}/reject", json={"note": "worn, tags off"}))
    assert (rejected["id"], rejected["status"], rejected["amount"]) == (asked.id, "rejected", money("149.00"))
    assert ok(api.get("operator", f"{OFFICE}/cases/{asked.id}"))["status"] == "rejected"
    assert sorted(c["id"] for c in ok(api.get("merchant", f"{OFFICE}/cases"))) == sorted([asked.id,
                                                                                          flow.answers["case id"]])


def test_a_rejected_merchant_applies_again_and_a_shop_closes(api: Api, flow: Flow) -> None:
    merchant_id, shop = "m-closing", "shop-closing-003"
    application = {"merchant_id": merchant_id, "name": "王小二", "type": "individual", "shop": shop,
                   "shop_name": "小二的店", "categories": ["coat"], "qualifications": {"identity": "ID-310101"}}
    assert ok(api.post("service", "/v1/merchants", json=application))["deposit"] == money("2000.00")
    assert ok(api.post("service", "/v1/merchants", json=application))["status"] == "applied"  # the same again
    assert_problem(api.post("operator", f"/v1/merchants/{merchant_id}/review", json={"approve": False}), 422)
    assert ok(api.post("operator", f"/v1/merchants/{merchant_id}/review",
                       json={"approve": False, "reasons": ["blurred identity"]}))["status"] == "rejected"
    assert ok(api.post("service", "/v1/merchants", json=application))["status"] == "applied"
    ok(api.post("operator", f"/v1/merchants/{merchant_id}/review", json={"approve": True}))
    assert_problem(api.post("operator", f"/v1/merchants/{merchant_id}/deposit",
                            json={"amount": money("10000.00"), "reference": "CLR-DEP-9"}), 422)  # 2000.00 is due
    ok(api.post("operator", f"/v1/merchants/{merchant_id}/deposit",
                json={"amount": money("2000.00"), "reference": "CLR-DEP-9"}))
    closed = ok(api.post("operator", f"/v1/merchants/{merchant_id}/close", json={
        "reason": "the merchant asked", "claims": money("300.00")}, headers={"Idempotency-Key": "close-1"}))
    assert closed == {"merchant": merchant_id, "claims": money("300.00"), "deposit_returned": money("1700.00"),
                      "paid_out": money("1700.00")}
    assert ok(api.get("operator", f"/v1/merchants/{merchant_id}"))["status"] == "closed"
    assert_problem(api.post("operator", f"/v1/merchants/{merchant_id}/close", json={"reason": "again"}), 409)
    assert_problem(api.get("operator", f"/v1/shops/{shop}/balances"), 409)  # no open shop to act for
    assert ok(api.get("operator", f"/v1/settlement/shops/{shop}/balances"))["deposit"] == money("0.00")
