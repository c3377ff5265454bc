"""Fulfillment of self-operated goods over HTTP, on both backends: a user's phone (3669.00 on
Singles' Day), paid through platform calls as the storefront and the cashier would, is
shipped by the warehouse (operator) with its tracking number, tracked through the carrier's
callbacks until delivered, and received by the user; a delivered order nobody confirms
completes after 7 days. Shipping deducts the locked stock once: a repeat with the same
`Idempotency-Key` returns the first answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from arbiter.clock import FixedClock
from arbiter.errors import Conflict
from arbiter.platform.cart import service as cart
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import world
from arbiter.platform.demo.flows import device_of, new_user, pay
from arbiter.platform.demo.story import Story
from arbiter.platform.inventory import service as inventory
from arbiter.platform.orders import checkout as orders

from .conftest import NOW, Api, assert_problem

SHIP = "/v1/fulfillment/orders/{}/ship"
TRACK = "/v1/fulfillment/orders/{}/shipments"
RECEIPT = "/v1/fulfillment/orders/{}/receipt"
LOGISTICS = "/v1/fulfillment/logistics"


def cny(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def paid_phone(api: Api, phone: str, *, paid: bool = True) -> tuple[str, str, str]:
    """A new user buys one X1 phone through the cart and checkout, and pays for it at the
    cashier (platform calls): (user id, order id, its line id)."""
    platform, story = api.services.platform(), Story("buy")
    with UnitOfWork(platform.db) as uow:
        user_id, address = new_user(uow, platform, phone, NOW, story)
        cart.add(uow, user_id, world.PHONE, 1, NOW)
        placed = orders.checkout(uow, platform, user_id=user_id, from_cart=True, address_id=address,
                                 payment_method="alipay", passthrough=device_of(phone), key=f"buy-{phone}", now=NOW)
        if not placed.ok or placed.order is None:
            raise Conflict(f"checkout refused: {placed.reason}")
        [order] = placed.order.orders
        if paid:
            pay(uow, platform, placed.order.id, user_id, device_of(phone), NOW, story)
    return user_id, order.id, order.lines[0].line_id


def on_hand(api: Api) -> tuple[int, int]:
    """(on hand, locked) of the phone in the Shanghai warehouse."""
    with UnitOfWork(api.services.database) as uow:
        return inventory.stock_of(uow, world.PHONE)[world.WAREHOUSE]


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


def deliver(api: Api, tracking_no: str, carrier: str = "YTO") -> Any:
    return ok(api.post("service", LOGISTICS, json={"carrier": carrier, "tracking_no": tracking_no,
                                                   "key": f"{tracking_no}-d", "status": "delivered",
                                                   "note": "signed by the user"}))


def test_a_phone_ships_is_tracked_to_the_door_and_received(shop: Api) -> None:
    user, order, line = paid_phone(shop, "13800139001")
    [parcel] = ok(shop.get("service", TRACK.format(order), params={"user_id": user}))
    assert (parcel["route"], parcel["purpose"], parcel["status"], parcel["carrier"], parcel["tracking_no"],
            parcel["lines"], parcel["events"]) == ("warehouse", "order", "pending", None, None, [[line, 1]], [])
    before = on_hand(shop)
    assert before[1] >= 1

    first = shop.post("operator", SHIP.format(order), json={"carrier": "YTO", "tracking_no": "YT-F-0001"},
                      headers={"Idempotency-Key": f"ship-{order}"})
    shipped = ok(first)
    assert (shipped["status"], shipped["carrier"], shipped["tracking_no"], shipped["events"]) == (
        "shipped", "YTO", "YT-F-0001", [{"status": "shipped", "note": "handed to YTO"}])
    assert on_hand(shop) == (before[0] - 1, before[1] - 1)  # the locked phone left the warehouse
    again = shop.post("operator", SHIP.format(order), json={"carrier": "YTO", "tracking_no": "YT-F-0001"},
                      headers={"Idempotency-Key": f"ship-{order}"})
    assert (again.status_code, again.headers["Idempotent-Replayed"], again.json()) == (200, "true", shipped)
    # Without the key, the same tracking number is a repeat too: nothing more is deducted.
    assert ok(shop.post("operator", SHIP.format(order), json={"carrier": "YTO", "tracking_no": "YT-F-0001"}))[
        "status"] == "shipped"
    assert on_hand(shop) == (before[0] - 1, before[1] - 1)
    [mine] = ok(shop.get("service", f"/v1/users/{user}/orders"))
    assert mine["status"] == "shipped"

    moving = ok(shop.post("service", LOGISTICS, json={"carrier": "YTO", "tracking_no": "YT-F-0001",
                                                      "key": "YT-F-0001-t1", "status": "in_transit",
                                                      "note": "上海转运中心"}))
    assert (moving["status"], moving["events"][-1]) == ("shipped", {"status": "in_transit", "note": "上海转运中心"})
    arrived = deliver(shop, "YT-F-0001")
    assert (arrived["status"], [e["status"] for e in arrived["events"]]) == (
        "delivered", ["shipped", "in_transit", "delivered"])
    assert deliver(shop, "YT-F-0001")["events"] == arrived["events"]  # the carrier's retry is recorded once
    [mine] = ok(shop.get("service", f"/v1/users/{user}/orders"))
    assert mine["status"] == "delivered"

    received = ok(shop.post("service", RECEIPT.format(order), json={"user_id": user}))
    assert (received["id"], received["status"], received["payable"], received["refunded"]) == (
        order, "completed", cny("3669.00"), cny("0.00"))
    assert ok(shop.post("service", RECEIPT.format(order), json={"user_id": user}))["status"] == "completed"
    [tracked] = ok(shop.get("analyst", TRACK.format(order)))
    assert tracked == arrived


def test_shipping_refuses_what_cannot_ship(shop: Api) -> None:
    user, order, _line = paid_phone(shop, "13800139002")
    missing = assert_problem(shop.post("operator", SHIP.format(order), json={"carrier": "YTO", "tracking_no": ""}),
                             422, "validation")
    assert [e["pointer"] for e in missing["errors"]] == ["#/tracking_no"]
    extra = assert_problem(shop.post("operator", SHIP.format(order), json={
        "carrier": "YTO", "tracking_no": "YT-F-0002", "weight": 1}), 422, "validation")
    assert [e["pointer"] for e in extra["errors"]] == ["#/weight"]
    assert_problem(shop.post("operator", SHIP.format("P-NOWHERE-1"), json={"carrier": "YTO", "tracking_no": "YT-X"}),
                   404)
    ok(shop.post("operator", SHIP.format(order), json={"carrier": "YTO", "tracking_no": "YT-F-0002"}))
    twice = assert_problem(shop.post("operator", SHIP.format(order), json={"carrier": "SF", "tracking_no": "SF-2"}),
                           409)
    assert twice["detail"] == f"order {order} was already shipped with YTO YT-F-0002"
    assert_problem(shop.post("merchant", SHIP.format(order), json={"carrier": "SF", "tracking_no": "SF-2"}),
                   403, "forbidden")

    _user, unpaid, _ = paid_phone(shop, "13800139003", paid=False)
    assert assert_problem(shop.post("operator", SHIP.format(unpaid), json={
        "carrier": "YTO", "tracking_no": "YT-F-0003"}), 409)["detail"] == (
        f"order {unpaid} is created: only a paid order ships")
    assert ok(shop.get("service", TRACK.format(unpaid))) == []
    not_shipped = assert_problem(shop.post("service", RECEIPT.format(unpaid), json={"user_id": _user}), 409)
    assert not_shipped["detail"] == f"order {unpaid} is created: nothing to confirm"


def test_an_order_is_only_its_users_and_a_parcel_only_its_carriers(shop: Api) -> None:
    user, order, _line = paid_phone(shop, "13800139004")
    assert_problem(shop.get("service", TRACK.format(order), params={"user_id": "u-someone-else"}), 404)
    assert_problem(shop.post("service", RECEIPT.format(order), json={"user_id": "u-someone-else"}), 404)
    ok(shop.post("operator", SHIP.format(order), json={"carrier": "YTO", "tracking_no": "YT-F-0004"}))
    unknown = assert_problem(shop.post("service", LOGISTICS, json={
        "carrier": "SF", "tracking_no": "YT-F-0004", "key": "e-1", "status": "delivered"}), 404)
    assert unknown["detail"] == "no shipment SF YT-F-0004"
    wrong = assert_problem(shop.post("service", LOGISTICS, json={
        "carrier": "YTO", "tracking_no": "YT-F-0004", "key": "e-2", "status": "lost"}), 422, "validation")
    assert [e["pointer"] for e in wrong["errors"]] == ["#/status"]
    [mine] = ok(shop.get("service", f"/v1/users/{user}/orders"))
    assert mine["status"] == "shipped"


def test_a_delivered_order_nobody_confirms_completes_after_seven_days(shop: Api) -> None:
    user, order, _line = paid_phone(shop, "13800139005")
    ok(shop.post("operator", SHIP.format(order), json={"carrier": "YTO", "tracking_no": "YT-F-0005"}))
    deliver(shop, "YT-F-0005")
    assert order not in ok(shop.post("operator", "/v1/fulfillment/complete-delivered"))["completed"]
    with clock_at(shop, NOW + timedelta(days=7, hours=1)):
        done = ok(shop.post("operator", "/v1/fulfillment/complete-delivered"))["completed"]
        assert order in done
        assert ok(shop.post("operator", "/v1/fulfillment/complete-delivered"))["completed"] == []
    [mine] = ok(shop.get("service", f"/v1/users/{user}/orders"))
    assert mine["status"] == "completed"
