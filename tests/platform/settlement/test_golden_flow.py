"""A real golden-flow order of a merchant's clothing shop into settlement through its events,
on SQLite and PostgreSQL: two dresses at 199.00 with the shop's 满300减30 (merchant), the
new-user and platform coupons (platform, 30.00 + 40.00) and the card payment cut (the
channel, 10.00): the user pays 288.00. At 6% the commission base is 398.00 - 30.00 = 368.00,
the commission 22.08, the merchant due 345.92 of which 70.00 is 补差. After settlement one
dress is refunded (refund-only): the user gets 144.00, the merchant gives back 172.96
(base 184.00 less 11.04 of commission given back), the platform 35.00 of subsidy."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from arbiter.dsl.compiler import Ruleset
from arbiter.money import Money
from arbiter.platform.aftersales import service as aftersales
from arbiter.platform.cart.pricing import Wanted
from arbiter.platform.catalog import service as catalog
from arbiter.platform.catalog.service import SkuSpec, SpuSpec
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.fulfillment import service as fulfillment
from arbiter.platform.inventory import service as inventory
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.orders import checkout, records
from arbiter.platform.runtime import Platform
from arbiter.platform.settlement import service as settlement
from tests.platform.flows.conftest import NOW, build_platform, demo_rules  # noqa: F401 - a fixture
from tests.platform.flows.support import DEVICE, pay, shopper

D = Decimal
SHOP, DRESS = "shop-fashion-001", "SKU-DRESS-1"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def m(amount: str) -> Money:
    return Money.of(amount)


@pytest.fixture(params=["sqlite", "postgresql"])
def shop_platform(request: pytest.FixtureRequest, demo_rules: Ruleset) -> Platform:  # noqa: F811
    """The demo world with a clothing shop selling a dress from its own warehouse, settled
    T+1 at 6% for dresses."""
    engine: Engine = request.getfixturevalue(f"{request.param}_engine")
    platform = build_platform(engine, demo_rules)
    with UnitOfWork(engine) as uow:
        catalog.add_category(uow, "apparel", "服装")
        catalog.add_category(uow, "dress", "连衣裙", "apparel")
        catalog.create_spu(uow, SpuSpec("SPU-DRESS", SHOP, "碎花连衣裙", "dress"))
        catalog.create_sku(uow, SkuSpec(DRESS, "SPU-DRESS", m("259.00"), m("199.00"), m("80.00")))
        catalog.publish(uow, DRESS, NOW)
        inventory.add_warehouse(uow, "WH-FASHION", "服装仓", "上海", ["上海"], priority=1)
        inventory.receive(uow, DRESS, "WH-FASHION", 50, "fashion-stock", now=NOW)
        uow.commit()
        settlement.configure_shop(uow, SHOP, cycle_days=1, policy=settlement.NET_NEXT_CYCLE, now=NOW)
        settlement.set_rate(uow, category="dress", rate=D("0.06"), now=NOW)
        uow.commit()
    return platform


def test_a_merchant_order_settles_from_its_events_to_the_cent(shop_platform: Platform) -> None:
    platform, clearing = shop_platform, settlement.SimulatedClearing()
    with UnitOfWork(platform.db) as uow:
        user_id, address = shopper(uow, platform, "13900000077", NOW)
        placed = checkout.checkout(uow, platform, user_id=user_id, items=[Wanted(DRESS, 2)], address_id=address,
                                   payment_method="card", passthrough=DEVICE, key="dress-1", now=NOW)
        assert placed.ok and placed.order is not None
        [order] = placed.order.orders
        assert (order.shop, order.payable, order.discount_by_funder()) == (
            SHOP, m("288.00"), {"channel": D("10.00"), "merchant": D("30.00"), "platform": D("70.00")})
        assert pay(uow, platform, placed.order.id, user_id, NOW).reason is None
        fulfillment.ship(uow, order.id, carrier="YTO", tracking_no="YT-DRESS-1", by=SHOP, now=NOW + 20 * HOUR)
        fulfillment.logistics(uow, carrier="YTO", tracking_no="YT-DRESS-1", key="YT-DRESS-1-d", status="delivered",
                              note="signed", now=NOW + DAY + 20 * HOUR)
        completed_at = NOW + DAY + 22 * HOUR
        fulfillment.confirm_receipt(uow, order.id, user_id=user_id, now=completed_at)
        assert [e.kind for e in events.about(uow, order.id)] == [
            "order.created", "order.paid", "order.shipped", "order.delivered", "order.completed"]

        assert settlement.consume(uow) == 2  # order.paid and order.completed of this shop's order
        assert settlement.consume(uow) == 0
        [line] = settlement.lines_of(uow, shop=SHOP)
        assert (line.order_id, line.quantity, line.paid, line.subsidy, line.channel, line.base, line.commission) == (
            order.id, 2, D("288.00"), D("70.00"), D("10.00"), D("368.00"), D("22.08"))
        assert settlement.balances(uow, SHOP).pending == m("345.92")
        assert settlement.preview(uow, SHOP, completed_at + 23 * HOUR).entries == ()  # T+1 not come yet

        first = settlement.settle(uow, SHOP, NOW + 3 * DAY, clearing)
        [goods] = first.entries
        [ordered] = records.require_order(uow, order.id).lines
        assert (goods.kind, goods.order_id, goods.line_id, goods.sku, goods.units) == (
            "goods", order.id, ordered.line_id, DRESS, ordered.quantity)
        assert (goods.base, goods.commission, goods.subsidy, goods.net) == (
            D("368.00"), D("22.08"), D("70.00"), D("345.92"))
        assert (first.goods, first.commission, first.subsidy, first.net, first.closing) == (
            m("368.00"), m("22.08"), m("70.00"), m("345.92"), m("345.92"))
        assert clearing.instructions[f"settle:{first.id}"][0].amount == m("345.92")

        case = aftersales.request(uow, platform, order.id, user_id=user_id, kind="refund_only",
                                  lines=[(ordered.line_id, 1)], reason="颜色不喜欢", key="as-1", now=NOW + 4 * DAY)
        if case.status == "requested":
            aftersales.approve(uow, platform, case.id, by=SHOP, now=NOW + 4 * DAY)
        [refunded] = [e for e in events.about(uow, order.id) if e.kind == "aftersales.refunded"]
        assert refunded.payload["amount"] == "144.00" and refunded.payload["in_full"] is False
        assert settlement.consume(uow) == 1
        assert settlement.balances(uow, SHOP).available == m("172.96")  # clawed back at once

        second = settlement.settle(uow, SHOP, NOW + 5 * DAY, clearing)
        [back] = second.entries
        assert (back.kind, back.line_id, back.units, back.base, back.commission, back.subsidy, back.net) == (
            "refund", ordered.line_id, 1, D("184.00"), D("11.04"), D("35.00"), D("-172.96"))
        assert (second.opening, second.refunds, second.closing) == (m("345.92"), m("-172.96"), m("172.96"))

        assert ledger.balance(uow, accounts.CLEARING) == m("149.00")  # 288.00 + 10.00 in, 144.00 + 5.00 out
        assert ledger.balance(uow, accounts.USER_FUNDS_IN_TRANSIT) == m("0.00")
        assert ledger.balance(uow, accounts.COMMISSION_REVENUE) == m("11.04")
        assert ledger.balance(uow, accounts.SUBSIDY_EXPENSE) == m("35.00")
        assert ledger.trial_balance(uow).balanced
        done = settlement.withdraw(uow, SHOP, m("172.96"), key="fashion-w1", clearing=clearing, now=NOW + 5 * DAY)
        assert done.ok and settlement.balances(uow, SHOP).available == m("0.00")
