"""The installment flow (分期), told step by step against a `Platform`: a new user applies for
credit and a credit officer grants a 5000.00 line; the user buys a tablet whose price comes
to 3000.00 on Singles' Day, pays it on credit in 3 periods at 2.3% (fee 69.00, 1023.00 a
month), approved and deducted at the cashier; a funder takes the asset; the tablet ships;
the user repays the first bill; then returns the tablet, and the refund closes bills 2 and
3, gives the line back, returns the 1023.00 repaid as overpayment (溢缴款) and the platform
buys the asset back from the funder for 2000.00 (资产回购).

A second run has every funder refuse: under the policy "finance after payment, close when
unfunded" the order is closed before shipment and the line restored; under "finance after
shipment, keep self-held" it ships and the platform keeps the asset on its own funds.
The end-to-end tests run these same functions and check every figure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from arbiter.errors import Conflict
from arbiter.money import Money
from arbiter.platform.aftersales import service as aftersales
from arbiter.platform.cart import service as cart
from arbiter.platform.cart.pricing import final_price
from arbiter.platform.catalog import service as catalog
from arbiter.platform.catalog.service import SkuSpec, SpuSpec
from arbiter.platform.credit import service as credit
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import world
from arbiter.platform.demo.flows import DEMO_PROOF, device_of, new_user
from arbiter.platform.demo.story import Story
from arbiter.platform.fulfillment import service as fulfillment
from arbiter.platform.funding import service as funding
from arbiter.platform.funding.funders import DIRECT_LENDING, FACTORING, PAUSED, SELF_HELD, TRUST
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.orders import checkout as orders
from arbiter.platform.orders import credit_payment, paying, records
from arbiter.platform.payments import service as payments
from arbiter.platform.runtime import SELF_OPERATED_SHOP, Platform
from arbiter.platform.suppliers import service as suppliers

TABLET = "SKU-TABLET-T1"  # 3130.00 on the shelf: 3000.00 to pay on Singles' Day
TABLET_STOCK = 20
TERM = 3
# (code, name, kind, capital, priority, annual price): the funders the asset_routing rules name.
FUNDERS = (
    ("trust_a", "信托计划A", TRUST, "1000000.00", 30, "0.06"),
    ("bank_b", "银行B 直贷", DIRECT_LENDING, "1000000.00", 20, "0.05"),
    ("factor_c", "保理公司C", FACTORING, "1000000.00", 10, "0.08"),
    ("self_held", "自持资金", SELF_HELD, "100000.00", 0, "0"),
)
# What a new customer submits with the application: 20 (adult) + 10 (phone) + 20 (income) = 50,
# which the scorecard holds for a person.
APPLICANT = {"age": 28, "phone_verified": True, "monthly_income": Money.of("6000.00"), "registered_days": 0,
             "orders_30d": 0, "level": 0}
LINE = Money.of("5000.00")
POLICIES = {
    "close": funding.FundingPolicy(finance_at="payment", when_unfunded="close_order"),
    "keep": funding.FundingPolicy(finance_at="shipment", when_unfunded="keep_self_held"),
}


def stock_tablet(uow: UnitOfWork, now: datetime) -> None:
    """The platform's own shop lists a tablet and stocks the Shanghai warehouse with it, once."""
    if catalog.get_sku(uow, TABLET) is not None:
        return
    catalog.add_category(uow, "tablet", "平板电脑", "digital")
    catalog.create_spu(uow, SpuSpec("SPU-TABLET-T1", SELF_OPERATED_SHOP, "T1 平板", "tablet", "arbiter-mobile",
                                    "an 11-inch tablet", ("t1.jpg",), {"storage": ["256G"]}))
    catalog.create_sku(uow, SkuSpec(TABLET, "SPU-TABLET-T1", Money.of("3299.00"), Money.of("3130.00"),
                                    Money.of("2600.00"), {"storage": "256G"}))
    catalog.publish(uow, TABLET, now)
    po = suppliers.create_purchase_order(uow, world.STOCK_SUPPLIER, world.WAREHOUSE,
                                               [(TABLET, TABLET_STOCK, Money.of("2600.00"))], now)
    suppliers.receive_purchase_order(uow, po, now)
    uow.commit()


def define_funders(uow: UnitOfWork, now: datetime, *, refusing: bool = False) -> None:
    """The funders with their capital; `refusing`: the three outside funders paused (their
    quota for the day is used up) and the self-held funds with nothing left to lend."""
    for code, name, kind, capital, priority, price in FUNDERS:
        amount, status = Money.of(capital), "active"
        if refusing and kind == SELF_HELD:
            known = [f for f in funding.funders(uow) if f.code == code]
            amount = known[0].outstanding if known else Money.zero()
        elif refusing:
            status = PAUSED
        funding.define_funder(uow, code=code, name=name, kind=kind, capital=amount, priority=priority,
                              price=Decimal(price), status=status, now=now)


def open_line(uow: UnitOfWork, platform: Platform, user_id: str, now: datetime, story: Story) -> None:
    """授信: the application is held for review by the scorecard; a credit officer grants 5000.00 in tier B."""
    applied = credit.apply(uow, platform.decisions, user_id=user_id, facts=APPLICANT, key=f"apply-{user_id}",
                           now=now)
    story.step("credit application 授信申请", status=applied.status, score=applied.score, reason=applied.reason)
    if applied.status == "review":
        applied = credit.decide_review(uow, key=applied.key, approve=True, by="credit-officer", now=now,
                                       limit=LINE, tier="B")
    if not applied.approved:
        raise Conflict(f"the credit application was not approved: {applied.reason}")
    story.step("credit line 循环额度", limit=_amount(applied.limit), tier=applied.tier,
               available=available(uow, user_id, now))


def available(uow: UnitOfWork, user_id: str, now: datetime) -> Decimal:
    return credit.usable_available(uow, user_id, now).amount


def installment_flow(platform: Platform, now: datetime, *, funders_refuse: bool = False, policy: str = "close",
                     phone: str = "13800138007", say: Callable[[str], None] = print) -> Story:
    """Buy the tablet on credit in 3 periods. With every funder willing: financed, shipped, bill
    1 repaid, returned and refunded. With `funders_refuse`: the `policy` ("close" or "keep")
    decides what becomes of the unfunded order."""
    chosen = POLICIES[policy]
    platform = replace(platform, funding_policy=chosen)
    if funders_refuse:
        title = (f"Installments (分期), every funder refuses; financed after {chosen.finance_at}, "
                 f"when unfunded: {chosen.when_unfunded}")
    else:
        title = "Installments (分期): 3000.00 in 3 periods on a 5000.00 line, financed by a funder"
    story = Story(title, say)
    device = device_of(phone)
    with UnitOfWork(platform.db) as uow:
        stock_tablet(uow, now)
        define_funders(uow, now, refusing=funders_refuse)
        user_id, address = new_user(uow, platform, phone, now, story)
        open_line(uow, platform, user_id, now, story)
        price = final_price(uow, platform, TABLET, user_id, now, passthrough=device)
        story.step("product page 到手价", sku=TABLET, list=price.result.list_total, final=price.result.payable,
                   promotions=sorted(a.promotion for a in price.result.applied))
        trial = credit.installment_quote(uow, platform.decisions, user_id=user_id,
                                         amount=Money(price.result.payable, price.result.currency), now=now)
        story.step("installment trial 分期试算", terms={
            o.term: f"{o.first_payment.amount} x {o.term} (fee {o.fee.amount}, APR {o.schedule.apr * 100:.4f}%)"
            for o in trial.offers})
        cart.add(uow, user_id, TABLET, 1, now)
        placed = orders.checkout(uow, platform, user_id=user_id, from_cart=True, address_id=address,
                                 payment_method="credit", installments=TERM, passthrough=device,
                                 key=f"tablet-{phone}", now=now)
        if not placed.ok or placed.order is None:
            raise Conflict(f"checkout refused: {placed.reason}")
        parent = placed.order
        [order] = parent.orders
        story.step("ordered", order=order.id, payable=order.payable.amount, method="credit", term=TERM)
        pay_on_credit(uow, platform, parent.id, user_id, device, now, story)
        if records.require_order(uow, order.id).status == "closed":
            return story
        later = now + timedelta(hours=20)
        fulfillment.ship(uow, order.id, carrier="YTO", tracking_no=f"YT-{phone}", by="warehouse", now=later,
                         platform=platform)
        story.step("shipped", status=records.require_order(uow, order.id).status)
        if chosen.finance_at == "shipment":
            financed(uow, parent.id, user_id, later, story)
        delivered = later + timedelta(days=1)
        fulfillment.logistics(uow, carrier="YTO", tracking_no=f"YT-{phone}", key=f"YT-{phone}-d",
                              status="delivered", note="signed by the user", now=delivered)
        story.step("delivered", status=records.require_order(uow, order.id).status)
        if funders_refuse:
            return story
        repaid_at = delivered + timedelta(hours=3)
        [first, *_rest] = funding.bills_of(uow, parent.id)
        repaid = funding.repay(uow, order_id=parent.id, amount=first.total, key=f"repay-{parent.id}-1", now=repaid_at)
        uow.commit()
        story.step("bill 1 repaid 还款", amount=repaid.amount.amount, principal=repaid.principal.amount,
                   fee=repaid.fee.amount, bills=statuses(uow, parent.id, repaid_at),
                   available=available(uow, user_id, repaid_at))
        give_back(uow, platform, order.id, user_id, repaid_at + timedelta(days=1), story)
    return story


def pay_on_credit(uow: UnitOfWork, platform: Platform, parent_id: str, user_id: str, device: dict[str, str],
                  now: datetime, story: Story) -> None:
    """At the cashier: the payment scene decides the verification; then the line is
    approved and deducted in real time, and the order is paid (and financed, after payment)."""
    step = paying.start_payment(uow, platform, parent_id, user_id=user_id, passthrough=device,
                                key=f"pay-{parent_id}", now=now)
    story.step("cashier opened", payment=step.payment_id, verification=step.verification, status=step.status)
    if step.status == "verifying":
        proof = platform.verifier.sms_code(step.payment_id) if step.verification == "sms" else DEMO_PROOF
        step = paying.verify_payment(uow, platform, parent_id, user_id=user_id, proof=proof, now=now,
                                     passthrough=device)
        story.step("verified", status=step.status)
    if step.reason is not None or step.status != "succeeded":
        raise Conflict(f"the credit payment did not go through: {step.status} ({step.reason})")
    payment = payments.payment_of(uow, parent_id)
    assert payment is not None
    draw = credit.draw_of(uow, parent_id)
    parent = records.require_parent(uow, parent_id)
    if draw is not None and draw.outstanding.amount:
        story.step("approved and deducted 分期支付审核 + 额度扣减", channel=payment.channel,
                   drawn=draw.principal.amount, fee=draw.plan.fee, available=available(uow, user_id, now))
    story.step("paid", order=parent_id, status=parent.status)
    if platform.funding_policy.finance_at == "payment" and parent.status != "closed":
        financed(uow, parent_id, user_id, now, story)
    elif parent.status == "closed":
        story.step("no funder: closed before shipment", order=parent.status, payment=payment.status,
                   payment_refunded=payment.refunded.amount, available=available(uow, user_id, now))


def financed(uow: UnitOfWork, parent_id: str, user_id: str, now: datetime, story: Story) -> None:
    asset = funding.asset_of(uow, parent_id)
    if asset is None:
        story.step("not financed yet", available=available(uow, user_id, now))
        return
    story.step("financed 资产路由", funder=asset.funder, stage=asset.stage, principal=asset.principal.amount,
               over_capacity=asset.over_capacity)
    story.step("bills 账单", bills=[f"{b.number}: {b.total.amount} due {b.due_on}"
                                  for b in funding.bills_of(uow, parent_id)])


def statuses(uow: UnitOfWork, parent_id: str, now: datetime) -> list[str]:
    return [b.status(now) for b in funding.bills_of(uow, parent_id)]


def give_back(uow: UnitOfWork, platform: Platform, order_id: str, user_id: str, now: datetime,
              story: Story) -> None:
    """退货退款: the user returns the tablet; the refund undoes the credit side and the asset is repurchased."""
    order = records.require_order(uow, order_id)
    case = aftersales.request(uow, platform, order_id, user_id=user_id, kind="return",
                              lines=[(order.lines[0].line_id, 1)], reason="不想要了", key="as-return", now=now)
    case = aftersales.approve(uow, platform, case.id, by="shop-service", now=now)
    case = aftersales.ship_back(uow, case.id, user_id=user_id, carrier="ZTO", tracking_no=f"ZT-{order_id}",
                                now=now + timedelta(days=1))
    case = aftersales.inspect(uow, platform, case.id, passed=True, by="warehouse", now=now + timedelta(days=2))
    after = records.require_order(uow, order_id)
    payment = payments.payment_of(uow, order.parent_id)
    assert payment is not None
    story.step("after-sales done 退货退款", status=case.status, order=after.status, refunded=after.refunded.amount,
               payment_refunded=payment.refunded.amount)
    refunded = credit_payment.credit_refund_of(uow, order.parent_id)
    assert refunded is not None
    at = now + timedelta(days=2)
    story.step("credit refund 分期退款", closed_bills=list(refunded.closed_bills),
               bills=statuses(uow, order.parent_id, at), available=available(uow, user_id, at),
               overpayment=refunded.overpayment.amount, repurchase=refunded.repurchase.amount,
               funder=refunded.funder)
    balanced = ledger.trial_balance(uow).balanced
    owed = ledger.account(uow, accounts.credit_receivable(user_id))
    story.step("books 总账", balanced=balanced, receivable=None if owed is None else owed.balance.amount)


def _amount(money: Money | None) -> Decimal | None:
    return None if money is None else money.amount
