"""A merchant sees and changes only its own shop: for every operation of the merchant's back
office, merchant A (the snack shop) can neither read nor change merchant B's (the clothing
shop's) goods, stock, promotions, coupons, registrations, orders, after-sales cases,
statements or balances — each is NotFound (or refused as a value) exactly as if it did not
exist, and B's data is unchanged after. B doing the same to its own data works (the control).
A restricted shop may not publish, a suspended one may not sell."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import compile_program
from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.platform.aftersales import service as aftersales
from arbiter.platform.cart.pricing import Wanted
from arbiter.platform.catalog.service import SkuSpec, SpuSpec
from arbiter.platform.db import UnitOfWork
from arbiter.platform.fulfillment import service as fulfillment
from arbiter.platform.merchants import operations as ops
from arbiter.platform.merchants import service as merchants
from arbiter.platform.merchants.operations import MerchantActor
from arbiter.platform.orders import checkout
from arbiter.platform.promotions import lifecycle
from arbiter.platform.promotions import registration as reg
from arbiter.platform.promotions.coupons import SHOP, TemplateSpec
from arbiter.platform.runtime import Platform
from arbiter.platform.settlement import service as settlement
from tests.platform.flows.support import pay, shopper

from .support import T0, m

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
A_SHOP, B_SHOP = "shop-snack-001", "shop-fashion-001"  # each has shop deals in the demo rules


@dataclass(frozen=True)
class Shops:
    a: MerchantActor
    b: MerchantActor
    order: str  # B's, completed and settled
    case: str  # B's, requested
    statement: str  # B's
    clearing: settlement.SimulatedClearing


def _open(uow: UnitOfWork, merchant_id: str, shop: str, category: str, sku: str, price: str) -> MerchantActor:
    applied = merchants.apply(uow, merchant_id, name=merchant_id, type="enterprise", shop=shop, shop_name=shop,
                              categories=[category], qualifications={"business_license": f"BL-{shop}"}, now=T0)
    merchants.review(uow, merchant_id, approve=True, reasons=[], by="reviewer-1", now=T0)
    merchants.pay_deposit(uow, merchant_id, amount=applied.deposit, reference=f"DEP-{shop}", now=T0)
    actor = ops.acting(uow, merchant_id)
    ops.open_warehouse(uow, actor, name=f"{shop} 仓", region="上海", serves=["上海"])
    ops.create_product(uow, actor, SpuSpec(f"SPU-{sku}", shop, sku, category))
    ops.create_variant(uow, actor, SkuSpec(sku, f"SPU-{sku}", m(price), m(price), m("10.00")))
    ops.receive_stock(uow, actor, sku, 20, key="batch-1", now=T0)
    ops.publish(uow, actor, sku, T0)
    return actor


def two_shops(platform: Platform) -> Shops:
    """Shop A sells a snack; shop B sells a dress that one user bought, B shipped, the user
    received (B settled it) and then asked a refund for."""
    clearing = settlement.SimulatedClearing()
    with UnitOfWork(platform.db) as uow:
        from arbiter.platform.catalog import service as catalog

        for code, name in (("snack", "零食"), ("dress", "连衣裙")):
            catalog.add_category(uow, code, name)
        a = _open(uow, "m-a", A_SHOP, "snack", "SKU-SNACK", "30.00")
        b = _open(uow, "m-b", B_SHOP, "dress", "SKU-DRESS", "199.00")
        user_id, address = shopper(uow, platform, "13900000001", T0)
        placed = checkout.checkout(uow, platform, user_id=user_id, items=[Wanted("SKU-DRESS", 1)],
                                   address_id=address, payment_method="alipay", key="dress", now=T0)
        assert placed.ok and placed.order is not None, placed.reason
        [order] = placed.order.orders
        assert pay(uow, platform, placed.order.id, user_id, T0).reason is None
        ops.ship(uow, b, order.id, carrier="SF", tracking_no="SF-B-1", now=T0 + HOUR)
        fulfillment.logistics(uow, carrier="SF", tracking_no="SF-B-1", key="d", status="delivered", note="ok",
                              now=T0 + DAY)
        fulfillment.confirm_receipt(uow, order.id, user_id=user_id, now=T0 + DAY + HOUR)
        settlement.consume(uow)
        made = settlement.settle(uow, B_SHOP, T0 + 5 * DAY, clearing)
        assert made.net.amount > 0
        case = aftersales.request(uow, platform, order.id, user_id=user_id, kind="refund_only", reason="不合身",
                                  key="r", now=T0 + 5 * DAY + HOUR)
        done = ops.withdraw(uow, b, m("10.00"), key="w-1", clearing=clearing, now=T0 + 5 * DAY + HOUR)
        assert done.ok
        return Shops(a, b, order.id, case.id, made.id, clearing)


def refused(call: Callable[[], Any], error: type[Exception] = NotFound) -> str:
    with pytest.raises(error) as caught:
        call()
    return str(caught.value)


def test_goods_and_stock_of_another_shop_are_not_there(platform: Platform) -> None:
    s = two_shops(platform)
    with UnitOfWork(platform.db) as uow:
        before = (ops.sku(uow, s.b, "SKU-DRESS"), ops.stock(uow, s.b, "SKU-DRESS"))
        assert [g.sku for g in ops.goods(uow, s.a)] == ["SKU-SNACK"]
        assert refused(lambda: ops.sku(uow, s.a, "SKU-DRESS")) == "sku 'SKU-DRESS' does not exist"
        assert refused(lambda: ops.stock(uow, s.a, "SKU-DRESS")) == "sku 'SKU-DRESS' does not exist"
        assert refused(lambda: ops.unpublish(uow, s.a, "SKU-DRESS", T0)) == "sku 'SKU-DRESS' does not exist"
        assert refused(lambda: ops.publish(uow, s.a, "SKU-DRESS", T0)) == "sku 'SKU-DRESS' does not exist"
        assert refused(lambda: ops.receive_stock(uow, s.a, "SKU-DRESS", 5, key="x", now=T0)) == (
            "sku 'SKU-DRESS' does not exist")
        assert refused(lambda: ops.create_variant(uow, s.a, SkuSpec(
            "SKU-FAKE", "SPU-SKU-DRESS", m("9.00"), m("9.00"), m("1.00")))) == "spu: 'SPU-SKU-DRESS' does not exist"
        assert "is not the merchant's shop" in refused(lambda: ops.create_product(uow, s.a, SpuSpec(
            "SPU-FAKE", B_SHOP, "fake", "snack")), InvalidInput)
        assert "outside the shop's scope (snack)" in refused(lambda: ops.create_product(uow, s.a, SpuSpec(
            "SPU-FAKE", A_SHOP, "fake", "dress")), InvalidInput)
        assert "no dropship" in refused(lambda: ops.create_variant(uow, s.a, SkuSpec(
            "SKU-FAKE", "SPU-SKU-SNACK", m("9.00"), m("9.00"), m("1.00"), is_dropship=True, supplier="x")),
            InvalidInput)
        assert (ops.sku(uow, s.b, "SKU-DRESS"), ops.stock(uow, s.b, "SKU-DRESS")) == before
        assert ops.sku(uow, s.b, "SKU-DRESS").published
        # both shops received under the key "batch-1": two receipts, one per shop
        assert ops.stock(uow, s.a, "SKU-SNACK") == (20, 0) and before[1] == (19, 0)
        assert not ops.receive_stock(uow, s.a, "SKU-SNACK", 20, key="batch-1", now=T0)  # a repeat
        assert ops.receive_stock(uow, s.a, "SKU-SNACK", 5, key="batch-2", now=T0)
        assert ops.stock(uow, s.a, "SKU-SNACK") == (25, 0)
        assert ops.unpublish(uow, s.b, "SKU-DRESS", T0).status == "unpublished"  # B itself may


def test_promotions_coupons_and_registrations_of_another_shop_are_not_there(platform: Platform) -> None:
    s = two_shops(platform)
    program = platform.ruleset.program
    with UnitOfWork(platform.db) as uow:
        assert sorted(ops.shop_promotions(uow, s.a, program, T0)) == ["snack_every_cut", "snack_multi_buy"]
        moved = ops.promotion_action(uow, s.a, program, "fashion_threshold_cut", "pause", now=T0)
        assert (moved.ok, moved.reason) == (False, "unknown promotion")
        assert lifecycle.status_of(uow, program, "fashion_threshold_cut", T0) == "active"
        assert "the platform reviews" in refused(lambda: ops.promotion_action(
            uow, s.a, program, "snack_multi_buy", "approve", now=T0), InvalidInput)
        assert ops.promotion_action(uow, s.a, program, "snack_multi_buy", "pause", now=T0).status == "paused"
        assert ops.promotion_action(uow, s.a, program, "snack_multi_buy", "resume", now=T0).status == "active"

        coupon = TemplateSpec(code="fashion_20", display="店铺券 满199减20", kind=SHOP, threshold=m("199.00"),
                              value=m("20.00"), days_after_claim=7)
        ops.define_coupon(uow, s.b, program, coupon, T0)
        assert [c.code for c in ops.coupons(uow, s.b, program)] == ["fashion_20"]
        assert ops.coupons(uow, s.a, program) == []
        cheap = TemplateSpec(code="fashion_20", display="hijack", kind=SHOP, threshold=m("1.00"), value=m("20.00"),
                             days_after_claim=7)
        assert "no promotion of shop shop-snack-001 uses it" in refused(
            lambda: ops.define_coupon(uow, s.a, program, cheap, T0))
        stray = TemplateSpec(code="snack_5", display="x", kind=SHOP, threshold=m("1.00"), value=m("5.00"),
                             days_after_claim=7, promotion="fashion_shop_coupon")
        assert "no promotion of shop" in refused(lambda: ops.define_coupon(uow, s.a, program, stray, T0))
        assert "shop coupons only" in refused(lambda: ops.define_coupon(
            uow, s.a, program, TemplateSpec(code="p", display="p", kind="platform", threshold=m("1.00"),
                                            value=m("1.00"), days_after_claim=1), T0), InvalidInput)
        [kept] = ops.coupons(uow, s.b, program)
        assert (kept.display, kept.threshold, kept.scope) == ("店铺券 满199减20", m("199.00"), f"shop:{B_SHOP}")

        venue = compile_program(check_sources({"venue.rules": VENUE})).program
        lifecycle.approve_all(uow, venue, "ops", "test", T0)
        assert refused(lambda: ops.register_goods(uow, s.a, venue, "venue", "SKU-DRESS", now=T0)) == (
            "sku 'SKU-DRESS' does not exist")
        assert ops.register_goods(uow, s.b, venue, "venue", "SKU-DRESS", now=T0).status == "pending"
        assert refused(lambda: ops.withdraw_goods(uow, s.a, venue, "venue", "SKU-DRESS", now=T0)) == (
            "sku 'SKU-DRESS' does not exist")
        assert ops.registrations(uow, s.a, "venue") == []
        assert [(r.shop, r.sku, r.status) for r in ops.registrations(uow, s.b, "venue")] == [
            (B_SHOP, "SKU-DRESS", "pending")]
        assert ops.register_goods(uow, s.a, venue, "venue", "SKU-SNACK", now=T0).status == "pending"
        assert [r.sku for r in reg.registrations(uow, "venue")] == ["SKU-DRESS", "SKU-SNACK"]


VENUE = """
tag line.sku: string
tag line.shop: string
promotion venue { display "会场9折" type item_cut stacks all registration required
    calc discount percent 90% funding { platform: 50%, merchant: 50% } }
"""


def test_orders_and_after_sales_of_another_shop_are_not_there(platform: Platform) -> None:
    s = two_shops(platform)
    with UnitOfWork(platform.db) as uow:
        before = (ops.order(uow, s.b, s.order), ops.case(uow, s.b, s.case))
        assert ops.orders(uow, s.a) == [] and ops.cases(uow, s.a) == []
        assert [o.id for o in ops.orders(uow, s.b)] == [s.order]
        assert refused(lambda: ops.order(uow, s.a, s.order)) == f"order {s.order!r} does not exist"
        assert refused(lambda: ops.ship(uow, s.a, s.order, carrier="SF", tracking_no="X", now=T0)) == (
            f"order {s.order!r} does not exist")
        assert refused(lambda: ops.case(uow, s.a, s.case)) == f"after-sales case {s.case!r} does not exist"
        assert refused(lambda: ops.approve_case(uow, platform, s.a, s.case, now=T0)) == (
            f"after-sales case {s.case!r} does not exist")
        assert refused(lambda: ops.reject_case(uow, s.a, s.case, note="no", now=T0)) == (
            f"after-sales case {s.case!r} does not exist")
        assert refused(lambda: ops.inspect_case(uow, platform, s.a, s.case, passed=True, now=T0)) == (
            f"after-sales case {s.case!r} does not exist")
        assert (ops.order(uow, s.b, s.order), ops.case(uow, s.b, s.case)) == before
        assert ops.reject_case(uow, s.b, s.case, note="worn and washed", now=T0 + 6 * DAY).status == "rejected"
        assert ops.statistics(uow, s.a).orders == {} and ops.statistics(uow, s.a).sales == m("0.00")
        assert ops.statistics(uow, s.b).orders == {"completed": 1}
        assert ops.statistics(uow, s.b).cases == {"rejected": 1}


def test_statements_balances_and_withdrawals_of_another_shop_are_not_there(platform: Platform) -> None:
    s = two_shops(platform)
    with UnitOfWork(platform.db) as uow:
        b_before = ops.balances(uow, s.b)
        assert ops.statements(uow, s.a) == [] and ops.withdrawals(uow, s.a) == []
        assert refused(lambda: ops.statement(uow, s.a, s.statement)) == f"statement {s.statement!r} does not exist"
        assert ops.statement(uow, s.b, s.statement).id == s.statement
        assert ops.preview(uow, s.a, T0 + 9 * DAY).entries == ()
        assert ops.balances(uow, s.a) == settlement.Balances(m("0.00"), m("0.00"), m("10000.00"), m("0.00"))
        # B's key means nothing to A: A is refused for its own (empty) balance, not for B's key
        tried = ops.withdraw(uow, s.a, m("10.00"), key="w-1", clearing=s.clearing, now=T0 + 6 * DAY)
        assert (tried.ok, tried.status) == (False, None) and tried.reason is not None
        assert "more than the available balance" in tried.reason
        assert ops.balances(uow, s.b) == b_before
        assert [w.amount for w in ops.withdrawals(uow, s.b)] == [m("10.00")]


def test_a_restricted_shop_cannot_publish_and_a_suspended_one_cannot_sell(platform: Platform) -> None:
    s = two_shops(platform)
    program = platform.ruleset.program
    with UnitOfWork(platform.db) as uow:
        ops.unpublish(uow, s.a, "SKU-SNACK", T0)
        merchants.change_status(uow, "m-a", "restricted", reason="fake reviews", by="ops-1", now=T0)
        assert refused(lambda: ops.publish(uow, s.a, "SKU-SNACK", T0), Conflict) == (
            "shop shop-snack-001 is restricted: it cannot publish (publish SKU-SNACK); fake reviews")
        assert refused(lambda: ops.register_goods(uow, s.a, program, "x", "SKU-SNACK", now=T0), Conflict)
        merchants.change_status(uow, "m-a", "suspended", reason="counterfeits", by="ops-1", now=T0)
        assert "is suspended: it cannot sell" in refused(lambda: ops.publish(uow, s.a, "SKU-SNACK", T0), Conflict)
        assert ops.balances(uow, s.a).deposit == m("10000.00")  # money and orders go on
        merchants.change_status(uow, "m-a", "active", reason="cleared", by="ops-1", now=T0)
        assert ops.publish(uow, s.a, "SKU-SNACK", T0).published
        merchants.apply(uow, "m-c", name="C", type="individual", shop="shop-c", shop_name="C", categories=["snack"],
                        qualifications={"identity": "ID-1"}, now=T0)
        assert "m-c is applied: it has no open shop" in refused(lambda: ops.acting(uow, "m-c"), Conflict)
