"""The two golden flows of the golden-flow issue end to end, through the platform modules
and the demo rules: a self-operated phone (warehouse and dropship, each after-sales path) and
a phone top-up (success; supplier failure refunded automatically; after-sales refused).
Every figure is exact: the phone's price on Singles' Day is 3999.00 less 200.00 (item cut,
platform and merchant half each), 30.00 (new-user coupon, platform) and 100.00 (every 200
off 20 after the item cut, capped at 100, platform 70% / merchant 30%): 3669.00."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arbiter.platform.aftersales import refunds
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import flows, world
from arbiter.platform.events import service as events
from arbiter.platform.inventory import service as inventory
from arbiter.platform.orders import records
from arbiter.platform.payments import service as payments
from arbiter.platform.promotions import holds, pricing
from arbiter.platform.promotions import service as promotions
from arbiter.platform.promotions.holds import Hold
from arbiter.platform.runtime import Platform

from .conftest import NOW

D = Decimal


def coupon_status(uow: UnitOfWork, parent_id: str) -> str:
    placed = pricing.placed(uow, parent_id)
    assert placed is not None
    [coupon] = [h.coupon for h in placed.holds if h.coupon is not None] or [
        h.coupon for h in (pricing_record(uow, parent_id)) if h.coupon is not None]
    info = promotions.coupon(uow, coupon)
    assert info is not None
    return info.status


def pricing_record(uow: UnitOfWork, parent_id: str) -> tuple[Hold, ...]:
    record = holds.load(uow, parent_id)
    assert record is not None
    return record.holds


def _order_of(story: flows.Story) -> str:
    return str(story.figures("ordered")["order"])


def test_the_phone_page_cart_order_and_payment_agree_to_the_cent(any_platform: Platform) -> None:
    story = flows.phone_flow(any_platform, NOW, say=lambda _: None)
    page = story.figures("product page 到手价")
    assert (page["list"], page["final"]) == (D("3999.00"), D("3669.00"))
    assert sorted(page["promotions"]) == ["newbie_coupon", "phone_gift", "phone_item_cut", "platform_every_cut"]
    assert story.figures("cart")["payable"] == D("3669.00")
    ordered = story.figures("ordered")
    assert (ordered["payable"], ordered["discount"]) == (D("3669.00"), D("330.00"))
    assert ordered["by_funder"] == {"merchant": D("130.00"), "platform": D("200.00")}
    assert story.figures("stock")["warehouse"] == (100, 1)  # locked at payment
    assert [s[0] for s in story.steps][-3:] == ["shipped", "delivered", "completed"]
    with UnitOfWork(any_platform.db) as uow:
        order = records.require_order(uow, _order_of(story))
        assert order.status == "completed"
        assert [t[:2] for t in records.transitions(uow, order.id)] == [
            ("", "created"), ("created", "paid"), ("paid", "shipped"), ("shipped", "delivered"),
            ("delivered", "completed")]
        [line] = order.lines
        assert (line.list_total.amount, line.payable.amount, line.route) == (D("3999.00"), D("3669.00"), "warehouse")
        assert sum((D(a["amount"]) for a in line.allocations), D(0)) == D("330.00")
        assert inventory.stock_of(uow, world.PHONE)[world.WAREHOUSE] == (99, 0)  # deducted at shipment
        payment = payments.payment_of(uow, order.parent_id)
        assert payment is not None and (payment.status, payment.amount.amount) == ("succeeded", D("3669.00"))
        kinds = [e.kind for e in events.about(uow, order.id)]
        assert kinds == ["order.created", "order.paid", "order.shipped", "order.delivered", "order.completed"]
        assert coupon_status(uow, order.parent_id) == "redeemed"


@pytest.mark.parametrize(("dropship", "path"), [
    (False, "refund_before_shipment"), (False, "return"), (False, "refund_only"),
    (True, "refund_before_shipment"), (True, "return"), (True, "refund_only"),
], ids=lambda value: {False: "warehouse", True: "dropship"}.get(value, value))
def test_each_refunding_after_sales_path_pays_back_exactly(platform: Platform, dropship: bool, path: str) -> None:
    story = flows.phone_flow(platform, NOW, dropship=dropship, path=path, say=lambda _: None)
    payable = D("4269.00") if dropship else D("3669.00")  # 4599.00 less the same 330.00
    assert story.figures("ordered")["payable"] == payable
    done = story.figures("after-sales done")
    assert (done["status"], done["order"], done["refunded"], done["payment_refunded"]) == (
        "refunded", "closed", payable, payable)
    with UnitOfWork(platform.db) as uow:
        order = records.require_order(uow, _order_of(story))
        [refund] = refunds.refunds_of(uow, order.id)
        [line] = refund.lines
        assert line.promotions == {
            "newbie_coupon": {"amount": "30.00", "funding": {"platform": "30.00"}},
            "phone_item_cut": {"amount": "200.00", "funding": {"merchant": "100.00", "platform": "100.00"}},
            "platform_every_cut": {"amount": "100.00", "funding": {"merchant": "30.00", "platform": "70.00"}},
        } if not dropship else line.promotions
        stock = inventory.stock_of(uow, world.PHONE)[world.WAREHOUSE]
        if dropship:
            assert stock == (100, 0)  # the maker shipped it; nothing of ours moved
        elif path == "refund_before_shipment":
            assert stock == (100, 0)  # released: nothing ships
        elif path == "return":
            assert stock == (100, 0)  # shipped, then restocked when the return passed inspection
        else:
            assert stock == (99, 0)  # refund-only: the goods stay with the user
        # Refunded in full before completing: the new-user coupon comes back to the user.
        assert coupon_status(uow, order.parent_id) == "returned"
        [refunded] = [e for e in events.about(uow, order.id) if e.kind == "aftersales.refunded"]
        assert refunded.payload["amount"] == str(payable) and refunded.payload["in_full"] is True


def test_an_exchange_reships_the_same_phone_and_refunds_nothing(platform: Platform) -> None:
    story = flows.phone_flow(platform, NOW, path="exchange", say=lambda _: None)
    assert story.figures("after-sales requested")["amount"] == D("0.00")
    done = story.figures("after-sales done")
    assert (done["status"], done["order"], done["refunded"]) == ("reshipped", "delivered", D("0.00"))
    with UnitOfWork(platform.db) as uow:
        # one shipped and kept, one returned and restocked, one replacement shipped
        assert inventory.stock_of(uow, world.PHONE)[world.WAREHOUSE] == (99, 0)


def test_a_top_up_is_recharged_in_real_time_and_completes(any_platform: Platform) -> None:
    story = flows.top_up_flow(any_platform, NOW, say=lambda _: None)
    assert story.figures("a wrong number is refused")["reason"] == "invalid_recharge_account"
    assert story.figures("ordered")["payable"] == D("100.00")
    bought = story.figures("real-time purchase")
    assert (bought["status"], bought["order"], bought["refunded"]) == ("fulfilled", "completed", D("0.00"))
    assert "virtual goods have no after-sales" in story.figures("after-sales refused")["reason"]
    assert any_platform.topup.balance("13800138002").amount == D("100.00")
    with UnitOfWork(any_platform.db) as uow:
        order = records.require_order(uow, _order_of(story))
        assert [t[1] for t in records.transitions(uow, order.id)] == ["created", "paid", "fulfilled", "completed"]
        assert (order.address, order.recharge_account) == (None, "13800138002")


def test_a_top_up_the_supplier_cannot_fill_is_refunded_by_itself(platform: Platform) -> None:
    story = flows.top_up_flow(platform, NOW, supplier_fails=True, say=lambda _: None)
    bought = story.figures("real-time purchase")
    assert (bought["status"], bought["order"], bought["refunded"]) == ("failed", "closed", D("100.00"))
    with UnitOfWork(platform.db) as uow:
        order = records.require_order(uow, _order_of(story))
        payment = payments.payment_of(uow, order.parent_id)
        assert payment is not None and payment.refunded.amount == D("100.00")
        assert [t[1] for t in records.transitions(uow, order.id)] == ["created", "paid", "closed"]
