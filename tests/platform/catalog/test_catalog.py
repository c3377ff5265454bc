"""The catalog: SPUs and SKUs checked field by field, publishing, the goods facts the rules
read, the purchase limits and the profit guard, to the cent, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.catalog import service as catalog
from arbiter.platform.catalog.service import SkuSpec, SkuView, SpuSpec
from arbiter.platform.db import UnitOfWork

from .support import SELF, T0, build, cny, phone_sku, run


def test_a_sku_reads_back_whole(db: Engine) -> None:
    build(db)
    view = run(db, catalog.get_sku, "SKU-PHONE-X1-256")
    assert view == SkuView(
        sku="SKU-PHONE-X1-256", spu="SPU-PHONE-X1", shop=SELF, title="Phone X1", category="phone", brand="apple",
        list_price=cny("4999.00"), sale_price=cny("4599.00"), cost=cny("4000.00"), is_virtual=False,
        is_dropship=False, supplier=None, tags=frozenset({"new", "5g"}), status="published", max_per_user=2,
        allowed_regions=frozenset(), specs={"colour": "black", "storage": "256G"}, below_cost_approved=False)
    assert str(view.sale_price) == "4599.00 CNY"
    sofa = run(db, catalog.get_sku, "SKU-SOFA-3")
    assert (sofa.shop, sofa.is_dropship, sofa.supplier, sofa.allowed_regions) == (
        "shop-home", True, "sup-sofa", frozenset({"GD", "SH"}))
    topup = run(db, catalog.get_sku, "SKU-TOPUP-100")
    assert (topup.brand, topup.is_virtual, topup.sale_price, topup.cost) == ("", True, cny("99.50"), cny("98.00"))
    assert run(db, catalog.get_sku, "SKU-NONE") is None


def test_listing_by_shop_and_status(db: Engine) -> None:
    build(db, publish=False)
    assert [v.sku for v in run(db, catalog.list_skus, shop=SELF)] == [
        "SKU-PHONE-X1-128", "SKU-PHONE-X1-256", "SKU-TOPUP-100"]
    assert run(db, catalog.list_skus, status="published") == []
    run(db, catalog.publish, "SKU-SOFA-3", T0)
    assert [v.sku for v in run(db, catalog.list_skus, status="published")] == ["SKU-SOFA-3"]
    assert len(run(db, catalog.list_skus, status="draft")) == 3
    with pytest.raises(InvalidInput, match="status: 'sold' is not one of draft, published, unpublished"):
        run(db, catalog.list_skus, status="sold")


@pytest.mark.parametrize(("changes", "message"), [
    ({"sale_price": cny("4300.00")}, "sale_price: 4300.00 CNY is above the list price 4299.00 CNY"),
    ({"cost": Money.of("3500.00", "USD")}, "prices: list price, sale price and cost must share one currency, got CNY, USD"),
    ({"sale_price": cny("0")}, "must both be more than zero"),
    ({"cost": cny("-1")}, "cost: -1 CNY must not be negative"),
    ({"sale_price": cny("3999.00001")}, "sale_price: 3999.00001 has more than four decimals"),
    ({"spu": "SPU-NONE"}, "spu: 'SPU-NONE' does not exist"),
    ({"specs": {"colour": "red", "storage": "128G"}}, "specs.colour: 'red' is not one of black, white"),
    ({"specs": {"colour": "black"}}, "specs: a value is needed for storage"),
    ({"specs": {"colour": "black", "storage": "128G", "size": "XL"}}, "specs: size not defined by the SPU"),
    ({"is_dropship": True}, "supplier: dropship goods need the supplier that ships them"),
    ({"max_per_user": 0}, "max_per_user: 0 is not a whole number of 1 or more"),
    ({"shop": "shop-other"}, "shop: 'shop-other' is not the shop of spu 'SPU-PHONE-X1'"),
    ({"tags": "new"}, "tags: expected a list of names, got str"),
])
def test_a_bad_sku_is_refused_and_nothing_is_written(db: Engine, changes: dict[str, Any], message: str) -> None:
    build(db, publish=False)
    with pytest.raises((InvalidInput, NotFound), match=message.replace("(", r"\(").replace(")", r"\)")):
        run(db, catalog.create_sku, phone_sku("SKU-NEW", **changes))
    assert run(db, catalog.get_sku, "SKU-NEW") is None


def test_duplicates_and_unknown_parents(db: Engine) -> None:
    build(db, publish=False)
    with pytest.raises(Conflict, match="sku 'SKU-PHONE-X1-128' exists already"):
        run(db, catalog.create_sku, phone_sku())
    with pytest.raises(NotFound, match="category: 'tv' does not exist"):
        run(db, catalog.create_spu, SpuSpec("SPU-TV", SELF, "TV", "tv"))
    with pytest.raises(NotFound, match="brand: 'sony' does not exist"):
        run(db, catalog.create_spu, SpuSpec("SPU-TV", SELF, "TV", "digital", "sony"))
    with pytest.raises(Conflict, match="spu 'SPU-SOFA-3' exists already"):
        run(db, catalog.create_spu, SpuSpec("SPU-SOFA-3", "shop-home", "Sofa", "sofa"))
    with pytest.raises(NotFound, match="parent: category 'media' does not exist"):
        run(db, catalog.add_category, "tv", "电视", parent="media")
    run(db, catalog.add_category, "phone", "手机", parent="digital")  # the same again: nothing changes
    with pytest.raises(Conflict, match="category 'phone' exists already as '手机' under 'digital'"):
        run(db, catalog.add_category, "phone", "Phones")
    run(db, catalog.add_brand, "apple", "Apple")
    with pytest.raises(Conflict, match="brand 'apple' exists already as 'Apple'"):
        run(db, catalog.add_brand, "apple", "APPLE")


def test_publishing_moves_through_its_states(db: Engine) -> None:
    build(db, publish=False)
    sku = "SKU-PHONE-X1-128"
    with pytest.raises(Conflict, match="sku 'SKU-PHONE-X1-128' is draft: it cannot become unpublished"):
        run(db, catalog.unpublish, sku, T0)
    run(db, catalog.publish, sku, T0)
    run(db, catalog.publish, sku, T0)  # a repeat changes nothing
    assert run(db, catalog.get_sku, sku).status == "published"
    run(db, catalog.unpublish, sku, T0)
    run(db, catalog.unpublish, sku, T0)
    assert run(db, catalog.get_sku, sku).status == "unpublished"
    run(db, catalog.publish, sku, T0)
    assert run(db, catalog.get_sku, sku).status == "published"
    with pytest.raises(NotFound, match="sku 'SKU-NONE' does not exist"):
        run(db, catalog.publish, "SKU-NONE", T0)


def test_goods_facts_are_the_tags_the_rules_read(db: Engine) -> None:
    build(db)
    phone = run(db, catalog.get_sku, "SKU-PHONE-X1-128")
    assert catalog.goods_facts(phone, stock=120) == {
        "sku": "SKU-PHONE-X1-128", "spu": "SPU-PHONE-X1", "category": "phone", "brand": "apple",
        "price": cny("3999.00"), "shop": SELF, "is_self_operated": True, "is_virtual": False,
        "is_dropship": False, "stock": 120, "tags": ["5g", "new"]}
    sofa = catalog.goods_facts(run(db, catalog.get_sku, "SKU-SOFA-3"))
    assert "stock" not in sofa and sofa["is_self_operated"] is False and sofa["is_dropship"] is True
    other = catalog.goods_facts(phone, self_operated_shops=frozenset({"shop-home"}))
    assert other["is_self_operated"] is False


def test_purchase_limits(db: Engine) -> None:
    build(db)
    phone = run(db, catalog.get_sku, "SKU-PHONE-X1-256")  # at most 2 per user
    assert catalog.check_purchase(phone, quantity=1, region="BJ", bought_before=1) is None
    assert catalog.check_purchase(phone, quantity=2, region="BJ", bought_before=1) == (
        "SKU-PHONE-X1-256 is limited to 2 per user: 1 bought before, 2 more asked")
    sofa = run(db, catalog.get_sku, "SKU-SOFA-3")  # sold in GD and SH only
    assert catalog.check_purchase(sofa, quantity=5, region="SH", bought_before=0) is None
    assert catalog.check_purchase(sofa, quantity=1, region="XJ", bought_before=0) == "SKU-SOFA-3 is not sold in XJ"
    assert catalog.check_purchase(sofa, quantity=1, region=None, bought_before=0) == (
        "SKU-SOFA-3 is not sold in an unknown region")
    topup = run(db, catalog.get_sku, "SKU-TOPUP-100")
    assert catalog.check_purchase(topup, quantity=1, region=None, bought_before=10) is None
    run(db, catalog.unpublish, "SKU-TOPUP-100", T0)
    topup = run(db, catalog.get_sku, "SKU-TOPUP-100")
    assert catalog.check_purchase(topup, quantity=1, region=None, bought_before=0) == (
        "SKU-TOPUP-100 is not on sale (unpublished)")
    with pytest.raises(InvalidInput, match="quantity: 0 is not a whole number of 1 or more"):
        catalog.check_purchase(phone, quantity=0, region="BJ", bought_before=0)


def test_the_profit_guard(db: Engine) -> None:
    build(db)
    phone = run(db, catalog.get_sku, "SKU-PHONE-X1-128")  # cost 3500.00
    assert catalog.check_profit(phone, cny("3500.00")) is None
    assert catalog.check_profit(phone, cny("3499.99")) == (
        "SKU-PHONE-X1-128 would be paid 3499.99 CNY per unit, below its cost 3500.00 CNY")
    with pytest.raises(InvalidInput, match="why: an approval to sell below cost needs a reason"):
        run(db, catalog.approve_below_cost, "SKU-PHONE-X1-128", "ops-lee", " ", T0)
    run(db, catalog.approve_below_cost, "SKU-PHONE-X1-128", "ops-lee", "11.11 traffic driver", T0)
    approved = run(db, catalog.get_sku, "SKU-PHONE-X1-128")
    assert approved.below_cost_approved is True
    assert catalog.check_profit(approved, cny("2999.00")) is None
    assert catalog.check_profit(run(db, catalog.get_sku, "SKU-PHONE-X1-256"), cny("3999.00")) is not None


def test_unknown_sku_approval_and_spec_definition(db: Engine) -> None:
    build(db, publish=False)
    with pytest.raises(NotFound, match="sku 'SKU-NONE' does not exist"):
        run(db, catalog.approve_below_cost, "SKU-NONE", "ops", "why", T0)
    with pytest.raises(InvalidInput, match="specs.colour: a spec needs at least one value"):
        run(db, catalog.create_spu, SpuSpec("SPU-X", SELF, "X", "phone", specs={"colour": []}))
    with UnitOfWork(db) as uow:
        sku = catalog.create_sku(uow, SkuSpec("SKU-CASE", "SPU-SOFA-3", cny("10"), cny("10"), cny("0")))
    assert sku == "SKU-CASE"
    view = run(db, catalog.get_sku, "SKU-CASE")
    assert (view.list_price.amount, view.cost.amount, view.status) == (Decimal("10.00"), Decimal("0.00"), "draft")
