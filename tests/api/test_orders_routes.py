"""Checkout and the cashier over HTTP, on both backends, as the storefront and the payment
gateway call them: a new user buys the demo phone now (3669.00 on Singles' Day), the same
checkout key finds the same order, the cashier asks for the SMS code the `payment` scene
wants, the channel's signed callback pays the order once, a forged one changes nothing, and
an unpaid order cancelled gives its stock back."""

from __future__ import annotations

from typing import Any

import pytest

from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import world
from arbiter.platform.inventory import service as inventory

from .conftest import Api, assert_problem


def cny(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def device(n: int) -> dict[str, str]:
    return {"device_id": f"dev-orders-{n}", "ip_region": "上海"}


def new_buyer(api: Api, n: int, on: dict[str, str] | None = None) -> tuple[str, str]:
    """A registered user with a Shanghai address: (user id, address id)."""
    done = ok(api.post("service", "/v1/users", json={"phone": f"138001384{n:02d}", "password": "s3cret-pass",
                                                     "passthrough": on or device(n)}))
    assert done["ok"] is True, done
    user: str = done["user_id"]
    address = ok(api.post("service", f"/v1/users/{user}/addresses", json={
        "name": "张三", "phone": f"138001384{n:02d}", "region": "上海", "city": "上海市",
        "detail": "浦东新区世纪大道100号"}), 201)
    return user, address["id"]


def buy_now(api: Api, user: str, address: str, n: int, key: str, **more: Any) -> Any:
    return api.post("service", "/v1/orders", json={
        "user_id": user, "key": key, "items": [{"sku": world.PHONE, "quantity": 1}], "address_id": address,
        "payment_method": "alipay", "passthrough": device(n), **more})


def on_hand(api: Api) -> tuple[int, int]:
    with UnitOfWork(api.services.database) as uow:
        return inventory.stock_of(uow, world.PHONE)[world.WAREHOUSE]


def test_a_phone_is_bought_paid_by_its_callback_once(shop: Api) -> None:
    user, address = new_buyer(shop, 1)
    placed = ok(buy_now(shop, user, address, 1, "phone-1"))
    assert (placed["ok"], placed["reason"], placed["replayed"]) == (True, None, False)
    order = placed["order"]
    assert (order["user_id"], order["status"], order["payable"], order["kind"]) == (
        user, "created", cny("3669.00"), "physical")
    [shop_order] = order["orders"]
    assert (shop_order["shop"], shop_order["list_total"], shop_order["payable"]) == (
        "arbiter-self", cny("3999.00"), cny("3669.00"))
    again = ok(buy_now(shop, user, address, 1, "phone-1"))
    assert (again["replayed"], again["order"]["id"]) == (True, order["id"])
    parent = order["id"]
    assert ok(shop.get("analyst", f"/v1/orders/{parent}")) == order
    assert_problem(shop.get("service", f"/v1/orders/{parent}", params={"user_id": "u-somebody-else"}), 404)

    locked_before = on_hand(shop)[1]
    step = ok(shop.post("service", f"/v1/orders/{parent}/payment",
                        json={"user_id": user, "key": f"pay-{parent}", "passthrough": device(1)}))
    assert on_hand(shop)[1] == locked_before + 1  # the cashier locks the phone
    assert (step["ok"], step["status"]) == (True, "pending")
    payment = ok(shop.get("service", f"/v1/orders/{parent}/payment"))
    assert (payment["amount"], payment["method"], payment["status"]) == (cny("3669.00"), "alipay", "pending")

    channel = shop.services.platform().router.channel(payment["channel"])
    body, signature = channel.callback(payment["payment_id"])
    callbacks = f"/v1/payments/callbacks/{payment['channel']}"
    forged = shop.post("service", callbacks, content=body, headers={"X-Signature": "0" * 64})
    assert_problem(forged, 400)
    assert ok(shop.get("service", f"/v1/orders/{parent}"))["status"] == "created"
    paid = ok(shop.post("service", callbacks, content=body, headers={"X-Signature": signature}))
    assert paid == {"payment_id": payment["payment_id"], "parent_id": parent, "status": "succeeded",
                    "changed": True}
    repeat = ok(shop.post("service", callbacks, content=body, headers={"X-Signature": signature}))
    assert (repeat["status"], repeat["changed"]) == ("succeeded", False)
    shown = ok(shop.get("service", f"/v1/orders/{parent}", params={"user_id": user}))
    assert shown["status"] in ("paid", "fulfilling")
    listed = ok(shop.get("service", f"/v1/users/{user}/orders"))
    assert [(o["id"], o["payable"]) for o in listed] == [(shop_order["id"], cny("3669.00"))]
    assert_problem(shop.post("service", f"/v1/orders/{parent}/cancel", json={"user_id": user}), 409)


def test_an_unpaid_order_cancelled_gives_its_stock_back(shop: Api) -> None:
    user, address = new_buyer(shop, 2)
    parent = ok(buy_now(shop, user, address, 2, "phone-2"))["order"]["id"]
    before = on_hand(shop)
    step = ok(shop.post("service", f"/v1/orders/{parent}/payment", json={"user_id": user, "key": "pay-2",
                                                                        "passthrough": device(2)}))
    assert step["ok"] is True
    assert on_hand(shop) == (before[0], before[1] + 1)
    assert step["status"] == "pending"
    assert_problem(shop.post("service", f"/v1/orders/{parent}/cancel", json={"user_id": user}), 409)  # at the channel
    payment = ok(shop.get("service", f"/v1/orders/{parent}/payment"))
    channel = shop.services.platform().router.channel(payment["channel"])
    body, signature = channel.callback(step["payment_id"], "failed")
    failed = ok(shop.post("service", f"/v1/payments/callbacks/{payment['channel']}", content=body, headers={"X-Signature": signature}))
    assert (failed["status"], failed["changed"]) == ("failed", True)
    cancelled = ok(shop.post("service", f"/v1/orders/{parent}/cancel", json={"user_id": user},
                             headers={"Idempotency-Key": "cancel-2"}))
    assert cancelled["status"] == "cancelled"
    assert on_hand(shop) == before  # the phone locked for the payment is free again
    replayed = shop.post("service", f"/v1/orders/{parent}/cancel", json={"user_id": user},
                         headers={"Idempotency-Key": "cancel-2"})
    assert (replayed.headers["Idempotent-Replayed"], replayed.json()) == ("true", cancelled)
    refused = ok(shop.post("service", f"/v1/orders/{parent}/payment", json={"user_id": user, "key": "pay-2b"}))
    assert (refused["ok"], refused["reason"]) == (False, "the order is cancelled: it cannot be paid")


def test_a_refused_checkout_says_why_and_holds_nothing(shop: Api) -> None:
    user, address = new_buyer(shop, 3)
    before = on_hand(shop)
    refused = ok(shop.post("service", "/v1/orders", json={
        "user_id": user, "key": "too-many", "items": [{"sku": world.PHONE, "quantity": 99}], "address_id": address}))
    assert (refused["ok"], refused["order"]) == (False, None)
    assert refused["reason"]
    assert on_hand(shop) == before
    assert ok(shop.get("service", f"/v1/users/{user}/orders")) == []


@pytest.mark.parametrize(("body", "field"), [
    ({"key": "k", "address_id": "a"}, "items"),
    ({"key": "k", "items": [{"sku": world.PHONE, "quantity": 0}]}, "quantity"),
    ({"key": "k", "items": [{"sku": world.PHONE}], "payment_method": "cash"}, "payment_method"),
    ({"key": "k", "items": [{"sku": world.PHONE}], "from_cart": True}, "from_cart"),
    ({"items": [{"sku": world.PHONE}]}, "key"),
])
def test_bad_checkouts_name_the_field(shop: Api, body: dict[str, Any], field: str) -> None:
    answer = shop.post("service", "/v1/orders", json={"user_id": "u-x", **body})
    assert_problem(answer, 422)
    assert field in answer.text


def test_unknown_orders_and_channels_are_404(shop: Api) -> None:
    assert_problem(shop.get("operator", "/v1/orders/PNOSUCHORDER"), 404)
    assert_problem(shop.get("service", "/v1/orders/PNOSUCHORDER/payment"), 404)
    assert_problem(shop.post("service", "/v1/orders/PNOSUCHORDER/payment", json={"user_id": "u", "key": "k"}), 404)
    assert_problem(shop.post("service", "/v1/payments/callbacks/pigeon", content=b"{}",
                             headers={"X-Signature": "00"}), 404)


def test_a_large_payment_from_afar_asks_for_the_sms_code_first(shop: Api) -> None:
    user, address = new_buyer(shop, 4)
    placed = ok(shop.post("service", "/v1/orders", json={
        "user_id": user, "key": "two-phones", "items": [{"sku": world.PHONE, "quantity": 2}], "address_id": address,
        "passthrough": device(4)}))
    assert (placed["ok"], placed["order"]["payable"]) == (True, cny("7468.00")), placed
    parent = placed["order"]["id"]
    away = {**device(4), "ip_region": "北京"}  # 5000.00 or more (20), paid far from the address (10)
    step = ok(shop.post("service", f"/v1/orders/{parent}/payment",
                        json={"user_id": user, "key": "pay-two", "passthrough": away}))
    assert (step["ok"], step["status"], step["verification"]) == (True, "verifying", "sms")
    code = shop.services.platform().verifier.sms_code(step["payment_id"])
    assert code is not None
    wrong = ok(shop.post("service", f"/v1/orders/{parent}/payment/verify",
                         json={"user_id": user, "proof": "000000" if code != "000000" else "111111"}))
    assert (wrong["ok"], wrong["status"]) == (False, "verifying")
    done = ok(shop.post("service", f"/v1/orders/{parent}/payment/verify", json={"user_id": user, "proof": code}))
    assert (done["ok"], done["status"]) == (True, "pending")
    assert ok(shop.get("service", f"/v1/orders/{parent}/payment"))["amount"] == placed["order"]["payable"]
