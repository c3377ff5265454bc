"""The catalog over HTTP, on both backends: the category tree, self-operated goods created and
put on sale by an operator, a marketplace shop's goods by its own merchant key (and nobody
else's), a SKU with its prices and stock, and the product page's price on Singles' Day:
the demo phone, 3999.00, costs a new user 3669.00."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from arbiter.platform.catalog import service as catalog
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import world
from arbiter.platform.merchants import service as merchants

from .conftest import NOW, OTHER_SHOP, SHOP, Api, assert_problem, unique

SELF = "arbiter-self"
DEVICE = {"device_id": "dev-catalog", "ip_region": "上海", "client": "ios"}


def build_world(api: Api) -> None:
    """The demo world (goods, the Shanghai warehouse, live promotions) and the clothing shop
    `SHOP` onboarded and open, once per app."""
    platform = api.services.platform()
    with UnitOfWork(platform.db) as uow:
        if catalog.get_sku(uow, world.PHONE) is not None:
            return
        world.build(uow, platform, NOW)
        catalog.add_category(uow, "apparel", "服装")
        catalog.add_category(uow, "dress", "连衣裙", "apparel")
        merchants.apply(uow, "m-fashion", name="衣橱服饰有限公司", type=merchants.ENTERPRISE, shop=SHOP,
                        shop_name="衣橱时装", categories=["dress"],
                        qualifications={"business_license": "91310000MA1FL8XQ2K"}, now=NOW)
        reviewed = merchants.review(uow, "m-fashion", approve=True, reasons=["licence verified"], by="reviewer-1",
                                    now=NOW)
        merchants.pay_deposit(uow, "m-fashion", amount=reviewed.deposit, reference="CLR-DEP-CAT", now=NOW)


@pytest.fixture(scope="module")
def shop(api: Api) -> Iterator[Api]:
    build_world(api)
    yield api


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


def sku_body(sku: str, spu: str, **more: object) -> dict[str, object]:
    return {"sku": sku, "spu": spu, "list_price": money("299.00"), "sale_price": money("259.00"),
            "cost": money("120.00"), **more}


def test_every_key_reads_the_category_tree_and_only_an_operator_grows_it(shop: Api) -> None:
    tree = {c["code"]: (c["name"], c["parent"]) for c in shop.get("analyst", "/v1/catalog/categories").json()}
    assert tree["phone"] == ("手机", "digital") and tree["digital"] == ("数码", None)
    assert shop.get("merchant", "/v1/catalog/categories").status_code == 200
    code = unique("cat")
    first = shop.put("operator", f"/v1/catalog/categories/{code}", json={"name": "平板", "parent": "digital"})
    assert first.status_code == 200, first.text
    assert first.json() == {"code": code, "name": "平板", "parent": "digital"}
    again = shop.put("operator", f"/v1/catalog/categories/{code}", json={"name": "平板", "parent": "digital"})
    assert again.json() == first.json()
    assert_problem(shop.put("operator", f"/v1/catalog/categories/{code}", json={"name": "平板电脑"}), 409)
    assert_problem(shop.put("operator", f"/v1/catalog/categories/{unique('cat')}",
                            json={"name": "x", "parent": "no-such-parent"}), 404)
    assert_problem(shop.put("merchant", f"/v1/catalog/categories/{unique('cat')}", json={"name": "x"}), 403)
    assert (code, "平板", "digital") in [(c["code"], c["name"], c["parent"])
                                        for c in shop.get("service", "/v1/catalog/categories").json()]


def test_an_operator_creates_publishes_and_unpublishes_self_operated_goods(shop: Api) -> None:
    spu, sku = unique("SPU-TAB"), unique("SKU-TAB")
    made = shop.post("operator", "/v1/catalog/spus", json={
        "id": spu, "shop": SELF, "title": "T1 平板", "category": "phone", "brand": "arbiter-mobile",
        "specs": {"colour": ["black", "white"]}})
    assert made.status_code == 201, made.text
    assert made.json() == {"spu": spu, "shop": SELF}
    created = shop.post("operator", "/v1/catalog/skus", json=sku_body(sku, spu, specs={"colour": "black"},
                                                                     max_per_user=3))
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["status"], body["shop"], body["title"], body["brand"]) == ("draft", SELF, "T1 平板", "arbiter-mobile")
    assert (body["list_price"], body["sale_price"], body["cost"]) == (money("299.00"), money("259.00"),
                                                                      money("120.00"))
    assert body["specs"] == {"colour": "black"} and body["max_per_user"] == 3
    published = shop.post("operator", f"/v1/catalog/skus/{sku}/publish")
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert shop.post("operator", f"/v1/catalog/skus/{sku}/publish").json()["status"] == "published"
    storefront = shop.get("service", f"/v1/catalog/skus/{sku}").json()
    assert storefront["status"] == "published" and storefront["cost"] is None
    assert storefront["sale_price"] == money("259.00")
    assert shop.get("analyst", f"/v1/catalog/skus/{sku}").json()["cost"] == money("120.00")
    assert shop.post("operator", f"/v1/catalog/skus/{sku}/unpublish").json()["status"] == "unpublished"
    priced = shop.post("service", f"/v1/catalog/skus/{sku}/final-price", json={})
    assert_problem(priced, 422)
    assert "not on sale (unpublished)" in priced.json()["detail"]


def test_goods_refused_name_the_field_and_change_nothing(shop: Api) -> None:
    spu = unique("SPU-BAD")
    assert shop.post("operator", "/v1/catalog/spus", json={
        "id": spu, "shop": SELF, "title": "坏", "category": "phone", "specs": {"size": ["S"]}}).status_code == 201
    refused = unique("SKU-BAD")
    above = shop.post("operator", "/v1/catalog/skus", json={
        **sku_body(refused, spu, specs={"size": "S"}), "sale_price": money("399.00")})
    assert "sale_price" in assert_problem(above, 422)["detail"]
    assert_problem(shop.get("operator", f"/v1/catalog/skus/{refused}"), 404)  # nothing written
    wrong_spec = shop.post("operator", "/v1/catalog/skus", json=sku_body(unique("SKU-BAD"), spu, specs={"size": "XL"}))
    assert "specs.size" in assert_problem(wrong_spec, 422)["detail"]
    as_number = shop.post("operator", "/v1/catalog/skus", json={
        **sku_body(unique("SKU-BAD"), spu, specs={"size": "S"}), "cost": {"amount": 120.5, "currency": "CNY"}})
    assert_problem(as_number, 422)
    assert_problem(shop.post("operator", "/v1/catalog/spus", json={
        "id": unique("SPU"), "shop": SELF, "title": "x", "category": "no-such-category"}), 404)
    assert_problem(shop.post("operator", "/v1/catalog/spus", json={
        "id": spu, "shop": SELF, "title": "again", "category": "phone"}), 409)
    assert_problem(shop.post("operator", "/v1/catalog/skus/SKU-NO-SUCH/publish"), 404)
    assert_problem(shop.get("service", "/v1/catalog/skus/SKU-NO-SUCH"), 404)


def test_a_merchant_sells_in_its_own_shop_and_never_touches_another(shop: Api) -> None:
    spu, sku = unique("SPU-DRESS"), unique("SKU-DRESS")
    made = shop.post("merchant", "/v1/catalog/spus", json={
        "id": spu, "shop": SHOP, "title": "碎花连衣裙", "category": "dress", "specs": {"size": ["S", "M"]}})
    assert made.status_code == 201, made.text
    outside = shop.post("merchant", "/v1/catalog/spus", json={
        "id": unique("SPU-PHONE"), "shop": SHOP, "title": "手机", "category": "phone"})
    assert "outside the shop's scope" in assert_problem(outside, 422)["detail"]
    created = shop.post("merchant", "/v1/catalog/skus", json=sku_body(sku, spu, specs={"size": "M"}))
    assert created.status_code == 201, created.text
    assert (created.json()["shop"], created.json()["status"]) == (SHOP, "draft")
    assert shop.post("merchant", f"/v1/catalog/skus/{sku}/publish").json()["status"] == "published"
    assert shop.get("merchant", f"/v1/catalog/skus/{sku}").json()["cost"] == money("120.00")

    other = "merchant-other"
    assert_problem(shop.post(other, f"/v1/catalog/skus/{sku}/unpublish"), 404)
    assert_problem(shop.get(other, f"/v1/catalog/skus/{sku}"), 404)
    assert_problem(shop.get(other, f"/v1/catalog/skus/{sku}/stock"), 404)
    assert_problem(shop.post(other, "/v1/catalog/skus", json=sku_body(unique("SKU-X"), spu, specs={"size": "S"})), 404)
    assert_problem(shop.post(other, "/v1/catalog/spus", json={
        "id": unique("SPU-X"), "shop": SHOP, "title": "x", "category": "dress"}), 404)
    assert_problem(shop.post("merchant", "/v1/catalog/spus", json={
        "id": unique("SPU-X"), "shop": OTHER_SHOP, "title": "x", "category": "dress"}), 404)
    assert_problem(shop.post("merchant", f"/v1/catalog/skus/{world.PHONE}/unpublish"), 404)
    assert_problem(shop.post("merchant", "/v1/catalog/spus", json={
        "id": unique("SPU-X"), "shop": SELF, "title": "x", "category": "phone"}), 404)
    assert shop.get("service", f"/v1/catalog/skus/{sku}").json()["status"] == "published"  # untouched
    assert shop.get("service", f"/v1/catalog/skus/{world.PHONE}").json()["status"] == "published"


def test_the_phone_with_its_prices_and_stock(shop: Api) -> None:
    phone = shop.get("service", f"/v1/catalog/skus/{world.PHONE}").json()
    assert (phone["title"], phone["category"], phone["status"]) == ("X1 手机", "phone", "published")
    assert (phone["list_price"], phone["sale_price"], phone["cost"]) == (money("4299.00"), money("3999.00"), None)
    assert phone["max_per_user"] == 2 and phone["specs"] == {"storage": "128G"}
    stock = shop.get("operator", f"/v1/catalog/skus/{world.PHONE}/stock").json()
    assert stock == {"sku": world.PHONE, "region": None, "available": 100,
                     "warehouses": [{"warehouse": "WH-SH", "on_hand": 100, "locked": 0}]}
    assert shop.get("service", f"/v1/catalog/skus/{world.PHONE}/stock", params={"region": "江苏"}).json()[
        "available"] == 100
    assert shop.get("analyst", f"/v1/catalog/skus/{world.PHONE}/stock", params={"region": "北京"}).json()[
        "available"] == 0
    dropship = shop.get("service", f"/v1/catalog/skus/{world.PHONE_DROPSHIP}/stock").json()
    assert (dropship["available"], dropship["warehouses"]) == (0, [])


def test_the_product_page_price_of_the_phone_on_singles_day(shop: Api) -> None:
    registered = shop.post("service", "/v1/users", json={
        "phone": "13800138101", "password": "s3cret-pass", "passthrough": DEVICE}).json()
    assert registered["ok"] is True, registered
    user = registered["user_id"]
    page = shop.post("service", f"/v1/catalog/skus/{world.PHONE}/final-price",
                     json={"user_id": user, "passthrough": DEVICE})
    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["list_price"], body["final_price"], body["savings"]) == (
        money("3999.00"), money("3669.00"), money("330.00"))
    assert sorted(a["promotion"] for a in body["applied"]) == [
        "newbie_coupon", "phone_gift", "phone_item_cut", "platform_every_cut"]
    assert sum((Decimal(a["discount"]["amount"]) for a in body["applied"]), Decimal(0)) == Decimal("330.00")
    assert [c["template"] for c in body["coupons"]] == ["newbie_30"]
    anonymous = shop.post("service", f"/v1/catalog/skus/{world.PHONE}/final-price").json()
    assert anonymous["final_price"] == money("3699.00")
    assert "newbie_coupon" not in {a["promotion"] for a in anonymous["applied"]}
    assert_problem(shop.post("service", f"/v1/catalog/skus/{world.PHONE}/final-price",
                             json={"user_id": "u-nobody"}), 404)
    assert_problem(shop.post("service", "/v1/catalog/skus/SKU-NO-SUCH/final-price", json={}), 404)
    assert_problem(shop.post("operator", f"/v1/catalog/skus/{world.PHONE}/final-price", json={}), 403)
