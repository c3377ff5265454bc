"""Selection lists and rankings (选品, 榜单): a named rule expression over the `goods.*` tags,
an order and a size. `selection` evaluates the expression over every published SKU and keeps
the first `size` by the chosen order, always ending on the SKU code so that ties come out
the same way every time.

Expressions are checked and compiled by the rule language (never `eval`) against the goods
tags below, the same declarations as in rules/tags.rules (a test keeps them in step). A bad
expression, or one that is not true/false, is refused with the checker's message. `stock`
is what the warehouses hold free to sell (all regions, or one when asked).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from sqlalchemy import select, update

from arbiter.dsl import types as t
from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import CompiledExpr, CompileError, compile_expression
from arbiter.dsl.context import ContextShape
from arbiter.dsl.model import Program
from arbiter.errors import ArbiterError, InvalidInput, NotFound
from arbiter.platform.catalog.guards import SELF_OPERATED_SHOPS, goods_facts
from arbiter.platform.catalog.models import SALES, SELECTIONS, SKUS
from arbiter.platform.catalog.views import PUBLISHED, SkuView, list_skus
from arbiter.platform.db import UnitOfWork
from arbiter.platform.inventory import service as inventory
from arbiter.platform.sql import insert_if_absent, upsert

MAX_SIZE = 1000
SORTS = ("sales", "price_asc", "price_desc", "sku")

GOODS_TAGS = """
tag goods.sku: string { display "SKU" category "goods" source api }
tag goods.spu: string { display "SPU" category "goods" source api }
tag goods.category: string { display "类目" category "goods" source api }
tag goods.brand: string { display "品牌" category "goods" source api default "" }
tag goods.price: money { display "售价" category "goods" source api }
tag goods.shop: string { display "所属店铺" category "goods" source api }
tag goods.is_self_operated: bool { display "自营" category "goods" source api default false }
tag goods.is_virtual: bool { display "虚拟商品" category "goods" source api default false }
tag goods.is_dropship: bool { display "供应商代发" category "goods" source api default false }
tag goods.stock: int { display "可售库存" category "goods" source system default 0 }
tag goods.tags: set { display "商品标签" category "goods" source data default [] }
"""


@cache
def goods_program() -> Program:
    """The goods tags as a program of their own, checked once per process on first use."""
    result = check_sources({"goods.rules": GOODS_TAGS})
    assert result.ok, [d.message for d in result.diagnostics]
    return result.program


@cache
def _shape() -> ContextShape:
    return ContextShape(goods_program().tags)


@lru_cache(maxsize=256)
def compiled(expression: str) -> CompiledExpr:
    """`expression` checked and compiled; InvalidInput with the checker's message if bad."""
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidInput("expression: a selection needs a rule expression over goods.* tags")
    try:
        result = compile_expression(expression, goods_program(), file="<selection>")
    except CompileError as exc:
        raise InvalidInput(f"expression: {exc.message}", code="catalog.selection.invalid") from None
    if result.type != t.BOOL:
        raise InvalidInput(f"expression: a selection must be true or false, not {result.type}",
                           code="catalog.selection.invalid")
    return result


def define_selection(uow: UnitOfWork, name: str, expression: str, sort_by: str, limit: int) -> None:
    """Define (or redefine) a selection list; commits."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name: a selection needs a name")
    if sort_by not in SORTS:
        raise InvalidInput(f"sort_by: {sort_by!r} is not one of {', '.join(SORTS)}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SIZE:
        raise InvalidInput(f"limit: {limit!r} is not a whole number from 1 to {MAX_SIZE}")
    compiled(expression)
    values = {"name": name, "expression": expression, "sort_by": sort_by, "size": limit}
    uow.session.execute(upsert(SELECTIONS, uow.engine.dialect.name, values, [SELECTIONS.c.name],
                               {"expression": expression, "sort_by": sort_by, "size": limit}))
    uow.commit()


def _order(view: SkuView, sort_by: str) -> tuple[Any, ...]:
    if sort_by == "sales":
        return (-view.sales, view.sku)
    if sort_by == "price_asc":
        return (view.sale_price.currency, view.sale_price.amount, view.sku)
    if sort_by == "price_desc":
        return (view.sale_price.currency, -view.sale_price.amount, view.sku)
    return (view.sku,)


def matches(expression: str, view: SkuView, *, stock: int | None = None,
            self_operated_shops: frozenset[str] = SELF_OPERATED_SHOPS) -> bool:
    """Whether one SKU passes `expression`. A SKU the expression cannot be evaluated on (a
    price in another currency than the tag's, say) does not pass."""
    expr = compiled(expression)
    facts = goods_facts(view, stock=stock, self_operated_shops=self_operated_shops)
    try:
        return bool(expr(_shape().prepare({"goods": facts}, fill_defaults=True)))
    except ArbiterError:
        return False


def selection(uow: UnitOfWork, name: str, *, region: str | None = None,
              self_operated_shops: frozenset[str] = SELF_OPERATED_SHOPS) -> list[SkuView]:
    """The published SKUs the selection picks, in its order, at most its size."""
    row = uow.session.execute(select(SELECTIONS).where(SELECTIONS.c.name == name)).first()
    if row is None:
        raise NotFound(f"selection {name!r} does not exist", code="catalog.selection.unknown")
    views = list_skus(uow, status=PUBLISHED)
    stock = inventory.available_many(uow, [v.sku for v in views], region)
    picked = [v for v in views if matches(row.expression, v, stock=stock.get(v.sku, 0),
                                          self_operated_shops=self_operated_shops)]
    picked.sort(key=lambda v: _order(v, row.sort_by))
    return picked[: row.size]


def record_sales(uow: UnitOfWork, sku: str, quantity: int, key: str) -> bool:
    """Count `quantity` units of `sku` sold, once per `key` (an order line, say); the caller
    commits. True when counted now, False when the key was counted before."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput(f"quantity: {quantity!r} is not a whole number of 1 or more")
    inserted = uow.session.execute(insert_if_absent(
        SALES, uow.engine.dialect.name, {"key": key, "sku": sku, "quantity": quantity}).returning(SALES.c.key)).first()
    if inserted is None:
        return False
    moved = uow.session.execute(update(SKUS).where(SKUS.c.sku == sku).values(sales=SKUS.c.sales + quantity))
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound(f"sku {sku!r} does not exist", code="catalog.sku.unknown")
    return True

