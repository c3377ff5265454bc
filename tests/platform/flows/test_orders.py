"""Orders: what a checkout writes and how it reconciles, the state machine, unpaid orders
closing at their timeout, and bad input refused with a clear reason, changing nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.aftersales import refunds
from arbiter.platform.aftersales import service as aftersales
from arbiter.platform.cart.pricing import Wanted
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import world
from arbiter.platform.fulfillment import service as fulfillment
from arbiter.platform.inventory import service as inventory
from arbiter.platform.orders import checkout, paying, records
from arbiter.platform.orders.states import IllegalTransition
from arbiter.platform.payments import service as payments
from arbiter.platform.runtime import Platform

from .conftest import NOW
from .support import DEVICE, pay, shopper

D = Decimal


def buy(uow: UnitOfWork, platform: Platform, user_id: str, address: str, *items: tuple[str, int],
        key: str = "k1") -> checkout.Checkout:
    return checkout.checkout(uow, platform, user_id=user_id, items=[Wanted(s, q) for s, q in items],
                             address_id=address, payment_method="wechat", passthrough=DEVICE, key=key, now=NOW)


def test_an_order_reconciles_line_by_line_funder_by_funder_and_unit_by_unit(platform: Platform) -> None:
    with UnitOfWork(platform.db) as uow:
        user_id, address = shopper(uow, platform, "13900000001", NOW)
        placed = buy(uow, platform, user_id, address, (world.PHONE, 2), (world.EARBUDS, 3))
        assert placed.ok and placed.order is not None
        [order] = placed.order.orders
        # 2 × 3999.00 + 3 × 199.00 = 8595.00; item cut 2 × 200.00; new-user coupon 30.00;
        # every 200 off 20 after the item cut, capped at 100.00.
        assert (order.list_total.amount, order.discount.amount, order.payable.amount) == (
            D("8595.00"), D("530.00"), D("8065.00"))
        assert sum((line.payable.amount for line in order.lines), D(0)) == order.payable.amount
        assert order.list_total - order.discount == order.payable
        assert sum(order.discount_by_funder().values(), D(0)) == order.discount.amount
        assert order.discount_by_funder() == {"merchant": D("230.00"), "platform": D("300.00")}
        for line in order.lines:
            assert sum(line.unit_payables, D(0)) == line.payable.amount
        assert placed.order.payable == order.payable
        assert pay(uow, platform, placed.order.id, user_id, NOW).reason is None

        phone = next(line for line in order.lines if line.sku == world.PHONE)
        one = refunds.refund_units(uow, platform, order.id, [(phone.line_id, 1)], reason="one too many",
                                   key="r1", by="test", now=NOW)
        assert one.ok and one.amount.amount == phone.unit_payables[-1]
        two = refunds.refund_units(uow, platform, order.id, [(phone.line_id, 1)], reason="the other",
                                   key="r2", by="test", now=NOW)
        assert one.amount + two.amount == phone.payable  # unit by unit, exactly the line
        for name in {a["promotion"] for a in phone.allocations}:
            given = next(a for a in phone.allocations if a["promotion"] == name)
            back = [r.lines[0].promotions[name] for r in (one, two)]
            assert sum((D(b["amount"]) for b in back), D(0)) == D(given["amount"])
            for funder, amount in given["funding"].items():
                assert sum((D(b["funding"][funder]) for b in back), D(0)) == D(amount)
        after = records.require_order(uow, order.id)
        assert after.refunded == phone.payable and after.status == "paid"  # the earbuds still ship
        payment = payments.payment_of(uow, placed.order.id)
        assert payment is not None and payment.refunded == phone.payable


def test_an_unpaid_order_closes_at_its_timeout_and_gives_everything_back(platform: Platform) -> None:
    with UnitOfWork(platform.db) as uow:
        user_id, address = shopper(uow, platform, "13900000002", NOW)
        placed = buy(uow, platform, user_id, address, (world.PHONE, 1))
        assert placed.ok and placed.parent_id is not None
        assert paying.close_expired(uow, platform, NOW + timedelta(minutes=29)) == []
        assert paying.close_expired(uow, platform, NOW + timedelta(minutes=30)) == [placed.parent_id]
        assert records.require_parent(uow, placed.parent_id).status == "closed"
        late = paying.start_payment(uow, platform, placed.parent_id, user_id=user_id, key="late",
                                    now=NOW + timedelta(minutes=31))
        assert (late.payment_id, late.reason) == (None, "the order is closed: it cannot be paid")
        assert inventory.stock_of(uow, world.PHONE)[world.WAREHOUSE] == (100, 0)
        assert payments.payment_of(uow, placed.parent_id) is None
        # The same checkout again (same key) finds the closed order; a new one prices afresh,
        # with the new-user coupon given back by the close.
        again = buy(uow, platform, user_id, address, (world.PHONE, 1), key="k2")
        assert again.ok and again.result is not None
        assert "newbie_coupon" in [a.promotion for a in again.result.applied]


def test_a_user_cancels_an_unpaid_order_but_not_a_paid_one(platform: Platform) -> None:
    with UnitOfWork(platform.db) as uow:
        user_id, address = shopper(uow, platform, "13900000003", NOW)
        first = buy(uow, platform, user_id, address, (world.PHONE, 1))
        assert first.parent_id is not None
        assert paying.cancel_unpaid(uow, platform, first.parent_id, user_id=user_id, now=NOW).status == "cancelled"
        second = buy(uow, platform, user_id, address, (world.PHONE, 1), key="k2")
        assert second.parent_id is not None and pay(uow, platform, second.parent_id, user_id, NOW).reason is None
        with pytest.raises(Conflict, match="only an unpaid order can be cancelled"):
            paying.cancel_unpaid(uow, platform, second.parent_id, user_id=user_id, now=NOW)


def test_bad_checkouts_are_refused_with_the_reason_and_write_nothing(platform: Platform) -> None:
    with UnitOfWork(platform.db) as uow:
        user_id, address = shopper(uow, platform, "13900000004", NOW)
        _, far = shopper(uow, platform, "13900000005", NOW, region="广东")
        top_up = checkout.checkout(uow, platform, user_id=user_id, items=[Wanted(world.TOP_UP, 1)],
                                   recharge_account="2380013800", key="t1", now=NOW)
        assert (top_up.ok, top_up.reason, top_up.order) == (False, "invalid_recharge_account", None)
        with pytest.raises(NotFound, match="is not one of user"):
            buy(uow, platform, user_id, far, (world.PHONE, 1), key="k-far")  # another user's address
        other_id = records.parent(uow, checkout.parent_id_for(user_id, "k-far"))
        assert other_id is None
        with pytest.raises(InvalidInput, match="virtual goods are ordered on their own"):
            buy(uow, platform, user_id, address, (world.PHONE, 1), (world.TOP_UP, 1), key="k-mixed")
        with pytest.raises(InvalidInput, match="quantity of SKU-PHONE-X1-128: 0 is not a whole number"):
            buy(uow, platform, user_id, address, (world.PHONE, 0), key="k-zero")
        limited = buy(uow, platform, user_id, address, (world.PHONE, 3), key="k-limit")
        assert limited.reason == "SKU-PHONE-X1-128 is limited to 2 per user: 0 bought before, 3 more asked"
        with pytest.raises(InvalidInput, match="payment_method: 'cash' is not one of"):
            checkout.checkout(uow, platform, user_id=user_id, items=[Wanted(world.PHONE, 1)], address_id=address,
                              payment_method="cash", key="k-cash", now=NOW)
        assert records.orders_of(uow, user_id=user_id) == []
        assert inventory.stock_of(uow, world.PHONE)[world.WAREHOUSE] == (100, 0)


def test_an_address_no_warehouse_serves_is_refused(platform: Platform) -> None:
    with UnitOfWork(platform.db) as uow:
        user_id, far = shopper(uow, platform, "13900000006", NOW, region="广东")
        refused = buy(uow, platform, user_id, far, (world.PHONE, 1))
        assert (refused.ok, refused.reason) == (False, "no warehouse delivers to 广东")
        # the maker delivers its dropshipped model anywhere
        assert buy(uow, platform, user_id, far, (world.PHONE_DROPSHIP, 1), key="k2").ok
        assert len(records.orders_of(uow, user_id=user_id)) == 1


def test_a_forged_or_altered_callback_changes_nothing(platform: Platform) -> None:
    with UnitOfWork(platform.db) as uow:
        user_id, address = shopper(uow, platform, "13900000007", NOW)
        placed = buy(uow, platform, user_id, address, (world.PHONE, 1))
        assert placed.parent_id is not None
        step = paying.start_payment(uow, platform, placed.parent_id, user_id=user_id, passthrough=DEVICE,
                                    key="p1", now=NOW)
        payment = payments.payment_of(uow, placed.parent_id)
        assert step.status == "pending" and payment is not None and payment.channel is not None
        body, signature = platform.router.channel(payment.channel).callback(payment.payment_id)
        with pytest.raises(payments.ForgedCallback):
            paying.payment_callback(uow, platform, payment.channel, body.replace(b"3669.00", b"0.01"), signature, NOW)
        with pytest.raises(payments.ForgedCallback):
            paying.payment_callback(uow, platform, payment.channel, body, "0" * 64, NOW)
        assert records.require_parent(uow, placed.parent_id).status == "created"
        paying.payment_callback(uow, platform, payment.channel, body, signature, NOW)
        paying.payment_callback(uow, platform, payment.channel, body, signature, NOW)  # a repeat
        assert records.require_parent(uow, placed.parent_id).status == "paid"
        [order] = records.require_parent(uow, placed.parent_id).orders
        assert [t[1] for t in records.transitions(uow, order.id)] == ["created", "paid"]


def test_refunds_cannot_be_made_twice_or_beyond_what_was_paid(platform: Platform) -> None:
    with UnitOfWork(platform.db) as uow:
        user_id, address = shopper(uow, platform, "13900000008", NOW)
        placed = buy(uow, platform, user_id, address, (world.PHONE, 1))
        assert placed.parent_id is not None and pay(uow, platform, placed.parent_id, user_id, NOW).reason is None
        [order] = records.require_parent(uow, placed.parent_id).orders
        line = order.lines[0].line_id
        with pytest.raises(InvalidInput, match="has 1 unit\\(s\\) left to refund, not 2"):
            refunds.refund_units(uow, platform, order.id, [(line, 2)], reason="x", key="r0", by="t", now=NOW)
        case = aftersales.request(uow, platform, order.id, user_id=user_id, kind="refund_before_shipment",
                                  reason="changed my mind", key="a1", now=NOW)
        assert (case.status, case.amount.amount) == ("refunded", D("3669.00"))
        assert aftersales.request(uow, platform, order.id, user_id=user_id, kind="refund_before_shipment",
                                  reason="changed my mind", key="a1", now=NOW) == case  # the same request
        with pytest.raises(Conflict, match="the order is closed"):
            aftersales.request(uow, platform, order.id, user_id=user_id, kind="refund_before_shipment",
                               reason="again", key="a2", now=NOW)
        with pytest.raises(InvalidInput, match="has 0 unit\\(s\\) left to refund"):
            refunds.refund_units(uow, platform, order.id, [(line, 1)], reason="x", key="r9", by="t", now=NOW)
        payment = payments.payment_of(uow, placed.parent_id)
        assert payment is not None and payment.refunded.amount == D("3669.00")
        assert inventory.stock_of(uow, world.PHONE)[world.WAREHOUSE] == (100, 0)


def test_the_state_machine_refuses_what_it_does_not_allow(platform: Platform) -> None:
    with UnitOfWork(platform.db) as uow:
        user_id, address = shopper(uow, platform, "13900000009", NOW)
        placed = buy(uow, platform, user_id, address, (world.PHONE, 1))
        assert placed.order is not None
        [order] = placed.order.orders
        with pytest.raises(Conflict, match="is created: only a paid order ships"):
            fulfillment.ship(uow, order.id, carrier="SF", tracking_no="SF1", by="wh", now=NOW)
        with pytest.raises(IllegalTransition, match="is created: it cannot become delivered"):
            records.move(uow, order, "delivered", reason="x", by="t", now=NOW)
        with pytest.raises(NotFound):
            records.require_order(uow, order.id, user_id="someone-else")


def test_an_invoice_is_issued_once_for_what_was_paid_less_refunds(platform: Platform) -> None:
    with UnitOfWork(platform.db) as uow:
        user_id, address = shopper(uow, platform, "13900000010", NOW)
        placed = buy(uow, platform, user_id, address, (world.EARBUDS, 2))
        assert placed.order is not None
        [order] = placed.order.orders
        with pytest.raises(Conflict, match="only a paid order has an invoice"):
            aftersales.request_invoice(uow, order.id, user_id=user_id, title="张三", tax_id=None, now=NOW)
        assert pay(uow, platform, placed.order.id, user_id, NOW).reason is None
        paid = records.require_order(uow, order.id)
        line = paid.lines[0]
        refunds.refund_units(uow, platform, order.id, [(line.line_id, 1)], reason="one", key="r1", by="t", now=NOW)
        with pytest.raises(InvalidInput, match="tax_id"):
            aftersales.request_invoice(uow, order.id, user_id=user_id, title="某公司", tax_id="123", now=NOW)
        invoice = aftersales.request_invoice(uow, order.id, user_id=user_id, title="某公司",
                                             tax_id="91310000MA1FL0000X", now=NOW)
        assert invoice.amount == paid.payable - Money(line.unit_payables[-1], "CNY")
        assert aftersales.request_invoice(uow, order.id, user_id=user_id, title="其他", tax_id=None, now=NOW) == invoice


def test_closing_an_order_gives_up_the_payment_it_opened(platform: Platform) -> None:
    with UnitOfWork(platform.db) as uow:
        user_id, address = shopper(uow, platform, "13900000011", NOW)
        placed = buy(uow, platform, user_id, address, (world.PHONE, 1))
        assert placed.parent_id is not None
        assert placed.order is not None
        payment = payments.open_payment(uow, platform.decisions, order_id=placed.parent_id, user_id=user_id,
                                        amount=placed.order.payable, method="wechat",
                                        context={"passthrough": DEVICE}, key="p1", now=NOW)
        uow.commit()
        assert payment.status in ("ready", "verifying")
        paying.cancel_unpaid(uow, platform, placed.parent_id, user_id=user_id, now=NOW)
        after = payments.payment_of(uow, placed.parent_id)
        assert after is not None and (after.payment_id, after.status) == (payment.payment_id, "cancelled")
