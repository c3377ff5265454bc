"""The cart over HTTP, on both backends, for the storefront on a user's behalf: add, change a
quantity, tick, remove, and the view priced by the same trial as the product page — one demo
phone on Singles' Day is 3669.00 in the cart as on its page."""

from __future__ import annotations

from typing import Any

from arbiter.platform.catalog import service as catalog
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import world

from .conftest import Api, assert_problem

DEVICE = "dev-cart-{n}"


def new_user(api: Api, n: int) -> str:
    done = api.post("service", "/v1/users", json={
        "phone": f"138001383{n:02d}", "password": "s3cret-pass", "passthrough": {"device_id": DEVICE.format(n=n)}})
    assert done.json()["ok"] is True, done.text
    user: str = done.json()["user_id"]
    return user


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


def view(api: Api, user: str, n: int) -> dict[str, Any]:
    shown = api.get("service", f"/v1/users/{user}/cart", params={"device_id": DEVICE.format(n=n)})
    assert shown.status_code == 200, shown.text
    body: dict[str, Any] = shown.json()
    return body


def test_the_phone_costs_in_the_cart_what_its_page_says(shop: Api) -> None:
    user = new_user(shop, 1)
    cart = f"/v1/users/{user}/cart"
    added = shop.post("service", f"{cart}/items", json={"sku": world.PHONE, "quantity": 1})
    assert added.status_code == 200, added.text
    assert added.json() == {"user_id": user, "items": [{"sku": world.PHONE, "quantity": 1, "selected": True}]}
    page = shop.post("service", f"/v1/catalog/skus/{world.PHONE}/final-price",
                     json={"user_id": user, "passthrough": {"device_id": DEVICE.format(n=1)}}).json()
    shown = view(shop, user, 1)
    assert shown["shops"] == {"arbiter-self": [world.PHONE]}
    price = shown["price"]
    assert (price["list_total"], price["payable"], price["savings"]) == (
        money("3999.00"), money("3669.00"), money("330.00"))
    assert price["payable"] == page["final_price"]
    assert price["lines"] == [{"sku": world.PHONE, "shop": "arbiter-self", "quantity": 1,
                               "list_total": money("3999.00"), "payable": money("3669.00")}]
    assert sorted(a["promotion"] for a in price["applied"]) == [
        "newbie_coupon", "phone_gift", "phone_item_cut", "platform_every_cut"]


def test_quantities_ticks_and_removals(shop: Api) -> None:
    user = new_user(shop, 2)
    cart = f"/v1/users/{user}/cart"
    shop.post("service", f"{cart}/items", json={"sku": world.PHONE})
    shop.post("service", f"{cart}/items", json={"sku": world.EARBUDS, "quantity": 1})
    more = shop.post("service", f"{cart}/items", json={"sku": world.EARBUDS, "quantity": 2}).json()
    assert more["items"] == [{"sku": world.PHONE, "quantity": 1, "selected": True},
                             {"sku": world.EARBUDS, "quantity": 3, "selected": True}]
    changed = shop.put("service", f"{cart}/items/{world.EARBUDS}", json={"quantity": 2})
    assert changed.status_code == 200, changed.text
    assert changed.json()["items"][1] == {"sku": world.EARBUDS, "quantity": 2, "selected": True}
    unticked = shop.put("service", f"{cart}/items/{world.PHONE}", json={"selected": False}).json()
    assert unticked["items"][0] == {"sku": world.PHONE, "quantity": 1, "selected": False}
    price = view(shop, user, 2)["price"]
    assert [line["sku"] for line in price["lines"]] == [world.EARBUDS]
    assert (price["list_total"], price["payable"]) == (money("398.00"), money("328.00"))
    # 398.00 less the new-user coupon (30.00 from 99) and the platform coupon (40.00 from 280), which
    # beats every 200 off 20 (20.00 on the 368.00 left)
    assert [(a["promotion"], a["discount"]) for a in price["applied"]] == [
        ("newbie_coupon", money("30.00")), ("platform_coupon_40", money("40.00"))]
    both = shop.put("service", f"{cart}/items/{world.EARBUDS}", json={"quantity": 1, "selected": False}).json()
    assert both["items"][1] == {"sku": world.EARBUDS, "quantity": 1, "selected": False}
    nothing = view(shop, user, 2)
    assert nothing["price"] is None and len(nothing["items"]) == 2
    removed = shop.call("service", "DELETE", f"{cart}/items/{world.EARBUDS}")
    assert removed.status_code == 200, removed.text
    assert removed.json()["items"] == [{"sku": world.PHONE, "quantity": 1, "selected": False}]
    assert_problem(shop.call("service", "DELETE", f"{cart}/items/{world.EARBUDS}"), 404)
    cleared = shop.post("service", f"{cart}/remove", json={"skus": [world.PHONE, "SKU-NOT-HELD"]}).json()
    assert cleared["items"] == []
    assert view(shop, user, 2) == {"user_id": user, "items": [], "shops": {}, "price": None}


def test_what_the_cart_refuses(shop: Api) -> None:
    user = new_user(shop, 3)
    cart = f"/v1/users/{user}/cart"
    assert "quantity" in assert_problem(shop.post("service", f"{cart}/items",
                                                  json={"sku": world.PHONE, "quantity": 1000}), 422)["errors"][0][
        "pointer"]
    assert_problem(shop.post("service", f"{cart}/items", json={"sku": world.PHONE, "quantity": 0}), 422)
    assert_problem(shop.post("service", f"{cart}/items", json={"sku": "SKU-NO-SUCH"}), 404)
    shop.post("service", f"{cart}/items", json={"sku": world.PHONE, "quantity": 999})
    over = shop.post("service", f"{cart}/items", json={"sku": world.PHONE, "quantity": 1})
    assert "exceed 999" in assert_problem(over, 422)["detail"]
    assert shop.get("service", cart, params={"device_id": "d"}).json()["items"][0]["quantity"] == 999  # unchanged
    assert_problem(shop.put("service", f"{cart}/items/{world.EARBUDS}", json={"quantity": 2}), 404)
    assert_problem(shop.put("service", f"{cart}/items/{world.PHONE}", json={}), 422)
    assert_problem(shop.post("service", "/v1/users/u-nobody/cart/items", json={"sku": world.PHONE}), 404)
    assert_problem(shop.get("service", "/v1/users/u-nobody/cart"), 404)
    assert_problem(shop.get("operator", cart), 403)
    assert_problem(shop.post("merchant", f"{cart}/items", json={"sku": world.PHONE}), 403)


def test_goods_off_sale_cannot_be_added(shop: Api) -> None:
    user = new_user(shop, 4)
    spu, sku = "SPU-CART-CASE", "SKU-CART-CASE"
    with UnitOfWork(shop.services.database) as uow:
        if catalog.get_sku(uow, sku) is None:
            catalog.create_spu(uow, catalog.SpuSpec(spu, "arbiter-self", "手机壳", "accessory"))
    created = shop.post("operator", "/v1/catalog/skus", json={
        "sku": sku, "spu": spu, "list_price": money("39.00"), "sale_price": money("29.00"), "cost": money("8.00")})
    assert created.status_code == 201, created.text
    draft = shop.post("service", f"/v1/users/{user}/cart/items", json={"sku": sku})
    assert "not on sale (draft)" in assert_problem(draft, 422)["detail"]
    shop.post("operator", f"/v1/catalog/skus/{sku}/publish")
    added = shop.post("service", f"/v1/users/{user}/cart/items", json={"sku": sku, "quantity": 2})
    assert added.json()["items"] == [{"sku": sku, "quantity": 2, "selected": True}]
    assert view(shop, user, 4)["price"]["list_total"] == money("58.00")
