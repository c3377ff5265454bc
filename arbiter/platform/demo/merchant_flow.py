"""The marketplace merchant's flow, told step by step against a `Platform`: a clothing shop
applies, is reviewed, pays its deposit and opens; it puts a dress on sale from its own
warehouse with its shop coupon beside the shop deals of the demo rules; two users buy through
the golden flow (cart, checkout, cashier); the merchant ships; settlement pays the first order
on the shop's cycle with commission (扣点) deducted; a refund after settlement is clawed back
and netted on the next statement; the merchant withdraws; its score is computed and reviewed
by the rules. The end-to-end tests run this same function and check every figure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from arbiter.errors import Conflict
from arbiter.money import Money
from arbiter.platform.aftersales import service as aftersales
from arbiter.platform.cart import service as cart
from arbiter.platform.cart.pricing import final_price
from arbiter.platform.catalog import service as catalog
from arbiter.platform.catalog.service import SkuSpec, SpuSpec
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo.flows import device_of, new_user, pay
from arbiter.platform.demo.story import Story
from arbiter.platform.fulfillment import service as fulfillment
from arbiter.platform.merchants import operations as ops
from arbiter.platform.merchants import service as merchants
from arbiter.platform.orders import checkout as orders
from arbiter.platform.orders import records
from arbiter.platform.promotions.coupons import SHOP, TemplateSpec
from arbiter.platform.runtime import Platform
from arbiter.platform.settlement import service as settlement

MERCHANT, SHOP_CODE = "m-fashion", "shop-fashion-001"  # the shop the demo rules' shop deals name
DRESS = "SKU-DRESS-1"
COMMISSION = Decimal("0.05")  # on dresses
DAY, HOUR = timedelta(days=1), timedelta(hours=1)


@dataclass(frozen=True)
class Buyer:
    phone: str
    quantity: int
    delivered_after: timedelta  # from the order
    stars: int


BUYERS = (Buyer("13800138005", 2, 1 * DAY, 3), Buyer("13800138006", 1, 3 * DAY, 5))


def _m(amount: str) -> Money:
    return Money.of(amount)


def _onboard(uow: UnitOfWork, now: datetime, story: Story) -> None:
    """The operator opens the clothing categories with their commission; the merchant applies,
    is approved and pays its deposit."""
    catalog.add_category(uow, "apparel", "服装")
    for code, name in (("dress", "连衣裙"), ("coat", "大衣")):
        catalog.add_category(uow, code, name, "apparel")
    settlement.set_rate(uow, category="dress", rate=COMMISSION, now=now)
    settlement.set_rate(uow, category="coat", rate=COMMISSION, now=now)
    uow.commit()
    applied = merchants.apply(uow, MERCHANT, name="衣橱服饰有限公司", type=merchants.ENTERPRISE, shop=SHOP_CODE,
                              shop_name="衣橱时装", categories=["dress", "coat"],
                              qualifications={"business_license": "91310000MA1FL8XQ2K"}, now=now)
    story.step("applied", merchant=applied.id, type=applied.type, shop=applied.shop,
               categories=list(applied.categories), status=applied.status)
    reviewed = merchants.review(uow, MERCHANT, approve=True, reasons=["licence verified", "categories in scope"],
                                by="reviewer-1", now=now)
    story.step("reviewed", status=reviewed.status, deposit_due=reviewed.deposit.amount)
    opened = merchants.pay_deposit(uow, MERCHANT, amount=reviewed.deposit, reference="CLR-DEP-0001", now=now)
    terms = settlement.shop_terms(uow, SHOP_CODE)
    story.step("deposit paid, shop open", status=opened.status, deposit=settlement.balances(uow, SHOP_CODE).deposit,
               cycle=f"T+{terms.cycle_days}")


def _stock_the_shop(uow: UnitOfWork, platform: Platform, actor: ops.MerchantActor, now: datetime,
                    story: Story) -> None:
    ops.open_warehouse(uow, actor, name="衣橱时装发货仓", region="上海", serves=["上海", "江苏", "浙江"])
    ops.create_product(uow, actor, SpuSpec("SPU-DRESS-1", SHOP_CODE, "真丝连衣裙", "dress", description="a silk dress"))
    ops.create_variant(uow, actor, SkuSpec(DRESS, "SPU-DRESS-1", _m("259.00"), _m("199.00"), _m("90.00")))
    ops.receive_stock(uow, actor, DRESS, 50, key="first-batch", now=now)
    ops.publish(uow, actor, DRESS, now)
    story.step("goods on sale", sku=DRESS, sale_price=ops.sku(uow, actor, DRESS).sale_price, stock=ops.stock(
        uow, actor, DRESS))
    program = platform.ruleset.program
    ops.define_coupon(uow, actor, program, TemplateSpec(
        code="fashion_20", display="店铺券 满199减20", kind=SHOP, threshold=_m("199.00"), value=_m("20.00"),
        days_after_claim=7, claim_limit=1), now)
    story.step("shop promotions", live=ops.shop_promotions(uow, actor, program, now),
               coupons=[c.code for c in ops.coupons(uow, actor, program)])


def _buy(uow: UnitOfWork, platform: Platform, buyer: Buyer, index: int, now: datetime, story: Story) -> tuple[str, str]:
    """A user buys dresses through the golden flow; (user id, order id)."""
    user_id, address = new_user(uow, platform, buyer.phone, now, story)
    device = device_of(buyer.phone)
    price = final_price(uow, platform, DRESS, user_id, now, passthrough=device)
    story.step("product page 到手价", sku=DRESS, list=price.result.list_total, final=price.result.payable)
    cart.add(uow, user_id, DRESS, buyer.quantity, now)
    placed = orders.checkout(uow, platform, user_id=user_id, from_cart=True, address_id=address,
                             payment_method="alipay", passthrough=device, key=f"dress-{index}", now=now)
    if not placed.ok or placed.order is None:
        raise Conflict(f"checkout refused: {placed.reason}")
    [order] = placed.order.orders
    story.step("ordered", order=order.id, quantity=buyer.quantity, payable=order.payable.amount,
               discount=order.discount.amount, by_funder=order.discount_by_funder(),
               promotions=sorted({str(a["promotion"]) for line in order.lines for a in line.allocations}))
    pay(uow, platform, placed.order.id, user_id, device, now, story)
    return user_id, order.id


def merchant_flow(platform: Platform, now: datetime, *, say: Callable[[str], None] = print) -> Story:
    """The clothing shop from its application to its first withdrawal (see the module)."""
    story = Story("Marketplace merchant (衣橱时装: onboarding, goods, orders, settlement, refund, withdrawal)", say)
    clearing = settlement.SimulatedClearing()
    with UnitOfWork(platform.db) as uow:
        _onboard(uow, now, story)
        actor = ops.acting(uow, MERCHANT, staff="fashion-ops")
        _stock_the_shop(uow, platform, actor, now, story)
        bought = [_buy(uow, platform, b, i, now, story) for i, b in enumerate(BUYERS, start=1)]
        settlement.consume(uow)
        story.step("settlement took the orders in", commission=sorted(x.commission for x in settlement.lines_of(
            uow, shop=SHOP_CODE)), status=sorted({x.status for x in settlement.lines_of(uow, shop=SHOP_CODE)}))

        shipped_at = now + 20 * HOUR
        for n, (_user, order_id) in enumerate(bought, start=1):
            done = ops.ship(uow, actor, order_id, carrier="SF", tracking_no=f"SF-FASHION-{n}", now=shipped_at)
            story.step("merchant shipped", order=order_id, tracking=done.tracking_no,
                       status=records.require_order(uow, order_id).status)
        for n, (buyer, (user_id, order_id)) in enumerate(zip(BUYERS, bought, strict=True), start=1):
            delivered = now + buyer.delivered_after
            fulfillment.logistics(uow, carrier="SF", tracking_no=f"SF-FASHION-{n}", key=f"SF-FASHION-{n}-d",
                                  status="delivered", note="signed", now=delivered)
            fulfillment.confirm_receipt(uow, order_id, user_id=user_id, now=delivered + 2 * HOUR)
            merchants.rate_order(uow, order_id, user_id=user_id, stars=buyer.stars, now=delivered + 3 * HOUR)
            story.step("completed and rated", order=order_id, stars=buyer.stars,
                       status=records.require_order(uow, order_id).status)
        settlement.consume(uow)

        first_cycle = now + 4 * DAY + 4 * HOUR
        draft = ops.preview(uow, actor, first_cycle)
        story.step("pre-settlement 预结算", goods=draft.goods, commission=draft.commission, net=draft.net)
        first = settlement.settle(uow, SHOP_CODE, first_cycle, clearing)
        story.step("statement 1", id=first.id, goods=first.goods, commission=first.commission, net=first.net,
                   closing=first.closing, lines=len(first.entries))

        (user_id, order_id) = bought[0]
        order = records.require_order(uow, order_id)
        asked = aftersales.request(uow, platform, order_id, user_id=user_id, kind="refund_only",
                                   lines=[(order.lines[0].line_id, 1)], reason="尺码不合适", key="fashion-refund",
                                   now=now + 5 * DAY)
        case = ops.approve_case(uow, platform, actor, asked.id, now=now + 5 * DAY + HOUR, note="refund one dress")
        settlement.consume(uow)
        story.step("refund after settlement", case=case.id, status=case.status, amount=case.amount.amount,
                   available=settlement.balances(uow, SHOP_CODE).available)

        second = settlement.settle(uow, SHOP_CODE, now + 6 * DAY + 4 * HOUR, clearing)
        story.step("statement 2", id=second.id, opening=second.opening, goods=second.goods,
                   commission=second.commission, refunds=second.refunds, net=second.net, closing=second.closing)
        available = ops.balances(uow, actor).available
        withdrawn = ops.withdraw(uow, actor, available, key="first-payout", clearing=clearing,
                                 now=now + 6 * DAY + 5 * HOUR)
        story.step("withdrawal", amount=withdrawn.amount, status=withdrawn.status, reference=withdrawn.reference,
                   available=ops.balances(uow, actor).available)

        [score] = [s for s in merchants.compute_scores(uow, now + 6 * DAY + 6 * HOUR) if s.shop == SHOP_CODE]
        story.step("score 评分", score=score.score, shipping_hours=score.shipping_hours,
                   aftersales_rate=score.aftersales_rate, rating=score.rating)
        [review] = [r for r in merchants.review_shops(uow, platform.decisions, now + 6 * DAY + 6 * HOUR)
                    if r.shop == SHOP_CODE]
        stats = ops.statistics(uow, actor)
        story.step("shop review 考核", effects=list(review.effects), status=merchants.merchant(uow, MERCHANT).status,
                   orders=dict(stats.orders), sales=stats.sales, refunded=stats.refunded)
    return story
