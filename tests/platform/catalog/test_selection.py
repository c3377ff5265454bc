"""Selection lists and rankings driven by rule expressions over goods.* tags: what they pick,
in which order, how a bad expression is refused; and the goods tags agree with rules/."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from arbiter.dsl.checker import check_paths
from arbiter.errors import InvalidInput, NotFound
from arbiter.platform.catalog import service as catalog
from arbiter.platform.catalog.selection import goods_program
from arbiter.platform.db import UnitOfWork
from arbiter.platform.inventory import service as inventory

from .support import T0, build, run

ROOT = Path(__file__).resolve().parents[3]


def skus(db: Engine, name: str, **kwargs: object) -> list[str]:
    return [v.sku for v in run(db, catalog.selection, name, **kwargs)]


def test_a_selection_picks_published_goods_by_rule(db: Engine) -> None:
    build(db)
    run(db, catalog.define_selection, "phones_under_4600", 'goods.category == "phone" and goods.price < 4600 CNY',
        "price_desc", 10)
    assert skus(db, "phones_under_4600") == ["SKU-PHONE-X1-256", "SKU-PHONE-X1-128"]  # 4599.00, 3999.00
    run(db, catalog.define_selection, "phones_under_4600", 'goods.category == "phone" and goods.price < 4599 CNY',
        "price_desc", 10)  # redefined
    assert skus(db, "phones_under_4600") == ["SKU-PHONE-X1-128"]
    run(db, catalog.define_selection, "self_operated", "goods.is_self_operated and not goods.is_virtual", "sku", 10)
    assert skus(db, "self_operated") == ["SKU-PHONE-X1-128", "SKU-PHONE-X1-256"]
    run(db, catalog.unpublish, "SKU-PHONE-X1-128", T0)
    assert skus(db, "self_operated") == ["SKU-PHONE-X1-256"]
    run(db, catalog.define_selection, "tagged", '"topup" in goods.tags or goods.brand == "comfy"', "price_asc", 10)
    assert skus(db, "tagged") == ["SKU-TOPUP-100", "SKU-SOFA-3"]  # 99.50, 2599.00


def test_a_ranking_orders_by_sales_then_sku_and_keeps_its_size(db: Engine) -> None:
    build(db)
    with UnitOfWork(db) as uow:
        assert catalog.record_sales(uow, "SKU-SOFA-3", 3, "o1:l1") is True
        assert catalog.record_sales(uow, "SKU-SOFA-3", 3, "o1:l1") is False  # the same line again
        assert catalog.record_sales(uow, "SKU-PHONE-X1-128", 2, "o2:l1") is True
        assert catalog.record_sales(uow, "SKU-TOPUP-100", 3, "o3:l1") is True
        uow.commit()
    run(db, catalog.define_selection, "best_sellers", "true", "sales", 3)
    # 3, 3 (tied: by sku), 2; the fourth (0 sold) is past the size
    assert skus(db, "best_sellers") == ["SKU-SOFA-3", "SKU-TOPUP-100", "SKU-PHONE-X1-128"]
    assert [v.sales for v in run(db, catalog.selection, "best_sellers")] == [3, 3, 2]
    with UnitOfWork(db) as uow, pytest.raises(NotFound, match="sku 'SKU-NONE' does not exist"):
        catalog.record_sales(uow, "SKU-NONE", 1, "o4:l1")


def test_a_selection_reads_stock_in_a_region(db: Engine) -> None:
    build(db)
    run(db, inventory.add_warehouse, "WH-SH", "Shanghai", "SH", ["SH", "JS"])
    run(db, inventory.add_warehouse, "WH-GZ", "Guangzhou", "GD", ["GD"])
    with UnitOfWork(db) as uow:
        inventory.receive(uow, "SKU-PHONE-X1-128", "WH-SH", 5, "r1")
        inventory.receive(uow, "SKU-PHONE-X1-256", "WH-GZ", 1, "r2")
        uow.commit()
    run(db, catalog.define_selection, "in_stock", "goods.stock > 0", "sku", 10)
    assert skus(db, "in_stock") == ["SKU-PHONE-X1-128", "SKU-PHONE-X1-256"]
    assert skus(db, "in_stock", region="JS") == ["SKU-PHONE-X1-128"]
    assert skus(db, "in_stock", region="XJ") == []


@pytest.mark.parametrize(("expression", "message"), [
    ("goods.prise > 1", "expression: dsl.tag.unknown: unknown tag `goods.prise`; did you mean `goods.price`?"),
    ("goods.sku", "expression: a selection must be true or false, not string"),
    ("user.level > 1", "expression: dsl.tag.unknown: unknown tag `user.level`"),
    ("  ", "expression: a selection needs a rule expression over goods.* tags"),
    ("goods.price +", "dsl.syntax.unexpected_end"),
])
def test_a_bad_expression_is_refused_with_the_checkers_message(db: Engine, expression: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        run(db, catalog.define_selection, "bad", expression, "sku", 10)
    assert message in refused.value.message
    with pytest.raises(NotFound, match="selection 'bad' does not exist"):
        run(db, catalog.selection, "bad")


def test_sort_and_size_are_checked(db: Engine) -> None:
    with pytest.raises(InvalidInput, match="sort_by: 'random' is not one of sales, price_asc, price_desc, sku"):
        run(db, catalog.define_selection, "x", "true", "random", 10)
    with pytest.raises(InvalidInput, match="limit: 0 is not a whole number from 1 to 1000"):
        run(db, catalog.define_selection, "x", "true", "sku", 0)


def test_the_goods_tags_agree_with_the_rule_files() -> None:
    declared = {path: tag for path, tag in check_paths([ROOT / "rules"]).program.tags.items()
                if path.startswith("goods.")}
    ours = goods_program().tags
    assert sorted(ours) == sorted(declared)
    for path, tag in declared.items():
        assert (ours[path].type, ours[path].default) == (tag.type, tag.default), path
