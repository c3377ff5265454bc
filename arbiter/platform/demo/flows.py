"""The golden flows, told step by step against a `Platform`: a self-operated phone shipped
from the warehouse or dropshipped by its maker, with each after-sales path; and a 100-yuan
phone top-up bought in real time, with a supplier failure refunded automatically. The
end-to-end tests run these same functions and check every figure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from arbiter.errors import Conflict
from arbiter.platform.aftersales import service as aftersales
from arbiter.platform.cart import service as cart
from arbiter.platform.cart.pricing import Wanted, final_price
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import world
from arbiter.platform.demo.story import Story
from arbiter.platform.fulfillment import service as fulfillment
from arbiter.platform.inventory import service as inventory
from arbiter.platform.orders import checkout as orders
from arbiter.platform.orders import paying, records
from arbiter.platform.payments import service as payments
from arbiter.platform.runtime import Platform
from arbiter.platform.suppliers import service as suppliers
from arbiter.platform.suppliers.realtime import SimulatedTopUp
from arbiter.platform.users import service as users

DEMO_PROOF = "123456"  # the demo users' payment password and face token
AFTERSALES = ("none", "refund_before_shipment", "return", "exchange", "refund_only")


def device_of(phone: str) -> dict[str, str]:
    """What each demo user's own phone passes through with every request."""
    return {"device_id": f"dev-{phone}", "ip": "10.1.2.3", "ip_region": "上海", "client": "ios", "app_version": "9.1.0"}


def new_user(uow: UnitOfWork, platform: Platform, phone: str, now: datetime, story: Story) -> tuple[str, str]:
    """Register a user and give them a Shanghai address: (user id, address id)."""
    registered = users.register(uow, platform.decisions, phone=phone, password="s3cret-pass", context={
        "passthrough": device_of(phone)}, now=now)
    if not registered.ok or registered.user_id is None:
        raise Conflict(f"registration refused: {registered.reason}")
    address = users.add_address(uow, registered.user_id, name="张三", phone=phone, region="上海", city="上海市",
                                detail="浦东新区世纪大道100号", default=True)
    platform.verifier.set_password(registered.user_id, DEMO_PROOF)  # the user sets a payment password
    platform.verifier.enroll(registered.user_id, "face", DEMO_PROOF)  # and enrols a face on the phone
    story.step("registered", user=registered.user_id, status=registered.status)
    return registered.user_id, address


def pay(uow: UnitOfWork, platform: Platform, parent_id: str, user_id: str, device: dict[str, str], now: datetime,
        story: Story) -> None:
    """Pay at the cashier: answer the verification the payment scene asks, then let the
    simulated channel call back."""
    step = paying.start_payment(uow, platform, parent_id, user_id=user_id, passthrough=device,
                                key=f"pay-{parent_id}", now=now)
    story.step("cashier opened", payment=step.payment_id, verification=step.verification, status=step.status)
    if step.reason is not None or step.status not in ("pending", "verifying"):
        raise Conflict(f"the payment did not go through: {step.status} ({step.reason})")
    if step.status == "verifying":
        proof = platform.verifier.sms_code(step.payment_id) if step.verification == "sms" else DEMO_PROOF
        assert proof is not None
        step = paying.verify_payment(uow, platform, parent_id, user_id=user_id, proof=proof, now=now)
        story.step("verified", status=step.status)
    payment = payments.payment_of(uow, parent_id)
    assert payment is not None and payment.channel is not None
    channel = platform.router.channel(payment.channel)
    body, signature = channel.callback(payment.payment_id)  # what the channel would send us
    paying.payment_callback(uow, platform, payment.channel, body, signature, now)
    story.step("paid", order=parent_id, status=records.require_parent(uow, parent_id).status)


def phone_flow(platform: Platform, now: datetime, *, dropship: bool = False, path: str = "none",
               phone: str = "13800138001", say: Callable[[str], None] = print) -> Story:
    """A user buys the X1 phone; it ships from the warehouse (or from its maker: `dropship`);
    then one after-sales `path`."""
    if path not in AFTERSALES:
        raise ValueError(f"path: one of {AFTERSALES}")
    sku = world.PHONE_DROPSHIP if dropship else world.PHONE
    story = Story(f"Self-operated phone ({'dropship 代发' if dropship else 'warehouse 入仓'}; after-sales: {path})", say)
    with UnitOfWork(platform.db) as uow:
        user_id, address = new_user(uow, platform, phone, now, story)
        price = final_price(uow, platform, sku, user_id, now, passthrough=device_of(phone))
        story.step("product page 到手价", sku=sku, list=price.result.list_total, final=price.result.payable,
                   promotions=[a.promotion for a in price.result.applied])
        cart.add(uow, user_id, sku, 1, now)
        shown = cart.view(uow, platform, user_id, now, passthrough=device_of(phone))
        assert shown.quote is not None
        story.step("cart", payable=shown.quote.result.payable, shops=list(shown.shops))
        placed = orders.checkout(uow, platform, user_id=user_id, from_cart=True, address_id=address,
                                 payment_method="wechat", passthrough=device_of(phone), key="demo-1", now=now)
        if not placed.ok or placed.order is None:
            raise Conflict(f"checkout refused: {placed.reason}")
        [order] = placed.order.orders
        story.step("ordered", order=order.id, payable=order.payable.amount, discount=order.discount.amount,
                   by_funder=order.discount_by_funder())
        pay(uow, platform, placed.order.id, user_id, device_of(phone), now, story)
        story.step("stock", warehouse=inventory.stock_of(uow, world.PHONE).get(world.WAREHOUSE))
        if path == "refund_before_shipment":
            refund(uow, platform, order.id, user_id, "refund_before_shipment", now, story)
            return story
        later = now + timedelta(hours=20)
        if dropship:
            [request] = suppliers.dropships_of(uow, order.id)
            suppliers.upload_tracking(uow, request.id, "SF", "SF100200300", later)
            fulfillment.sync_supplier_events(uow, later)
            carrier, tracking = "SF", "SF100200300"
        else:
            fulfillment.ship(uow, order.id, carrier="YTO", tracking_no="YT900800700", by="warehouse", now=later)
            carrier, tracking = "YTO", "YT900800700"
        story.step("shipped", carrier=carrier, tracking=tracking, status=records.require_order(uow, order.id).status)
        delivered = later + timedelta(days=1)
        fulfillment.logistics(uow, carrier=carrier, tracking_no=tracking, key=f"{tracking}-d", status="delivered",
                              note="signed by the user", now=delivered)
        story.step("delivered", status=records.require_order(uow, order.id).status)
        if path == "none":
            fulfillment.confirm_receipt(uow, order.id, user_id=user_id, now=delivered + timedelta(hours=2))
            story.step("completed", status=records.require_order(uow, order.id).status)
        else:
            refund(uow, platform, order.id, user_id, path, delivered + timedelta(days=1), story)
    return story


def refund(uow: UnitOfWork, platform: Platform, order_id: str, user_id: str, kind: str, now: datetime,
           story: Story) -> Any:
    order = records.require_order(uow, order_id)
    lines = [(order.lines[0].line_id, 1)]
    case = aftersales.request(uow, platform, order_id, user_id=user_id, kind=kind, lines=lines,
                              reason="不想要了" if kind != "exchange" else "屏幕有坏点", key=f"as-{kind}", now=now)
    story.step("after-sales requested", case=case.id, kind=kind, status=case.status, amount=case.amount.amount)
    if case.status == "requested":
        case = aftersales.approve(uow, platform, case.id, by="shop-service", now=now)
        story.step("approved", status=case.status)
    if kind in ("return", "exchange"):
        case = aftersales.ship_back(uow, case.id, user_id=user_id, carrier="ZTO", tracking_no="ZT1234",
                                    now=now + timedelta(days=1))
        case = aftersales.inspect(uow, platform, case.id, passed=True, by="warehouse", now=now + timedelta(days=3))
        story.step("inspected", status=case.status)
        if kind == "exchange":
            fulfillment.ship(uow, order_id, carrier="YTO", tracking_no="YT-EX-1", by="warehouse",
                             now=now + timedelta(days=3, hours=2), purpose=f"exchange:{case.id}")
            story.step("replacement shipped", tracking="YT-EX-1")
    payment = payments.payment_of(uow, order.parent_id)
    after = records.require_order(uow, order_id)
    story.step("after-sales done", status=case.status, order=after.status, refunded=after.refunded.amount,
               payment_refunded=None if payment is None else payment.refunded.amount)
    return case


def top_up_flow(platform: Platform, now: datetime, *, supplier_fails: bool = False, phone: str = "13800138002",
                say: Callable[[str], None] = print) -> Story:
    """A user tops up 100.00 of phone credit; the supplier recharges it in real time, or fails
    every retry and the order is refunded by itself."""
    story = Story(f"Phone top-up (virtual; the supplier {'fails' if supplier_fails else 'recharges'})", say)
    account = phone
    if supplier_fails:
        platform = replace(platform, topup=SimulatedTopUp(always_fail=[account]))
    with UnitOfWork(platform.db) as uow:
        user_id, _address = new_user(uow, platform, phone, now, story)
        refused = orders.checkout(uow, platform, user_id=user_id, items=[Wanted(world.TOP_UP, 1)],
                                  recharge_account="2380013800", payment_method="alipay", key="topup-bad", now=now)
        story.step("a wrong number is refused", reason=refused.reason)
        placed = orders.checkout(uow, platform, user_id=user_id, items=[Wanted(world.TOP_UP, 1)],
                                 recharge_account=account, payment_method="alipay", key="topup-1", now=now)
        if not placed.ok or placed.order is None:
            raise Conflict(f"checkout refused: {placed.reason}")
        [order] = placed.order.orders
        story.step("ordered", order=order.id, payable=order.payable.amount, account=account)
        pay(uow, platform, placed.order.id, user_id, device_of(phone), now, story)
        after = records.require_order(uow, order.id)
        [shipment] = fulfillment.shipments(uow, order.id)
        story.step("real-time purchase", status=shipment.status, order=after.status, refunded=after.refunded.amount)
        try:
            aftersales.request(uow, platform, order.id, user_id=user_id, kind="refund_only", reason="不想要了",
                               key="as-1", now=now)
            story.step("after-sales", refused=False)
        except Conflict as refusal:
            story.step("after-sales refused", reason=str(refusal))
    return story
