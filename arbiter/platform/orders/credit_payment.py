"""Paying an order on the credit line (额度支付 / 分期付款): where orders meet credit and funding.

The user picks the method "credit" and a term (分期期数) at checkout; the checkout asks the
installment trial whether this user may take that term for this order (`check_terms`). At the
cashier the payment is decided and verified like any other (the `payment` scene, with the
user's credit tags); once it is ready, `pay` runs the real-time approval (分期支付审核) and
deducts the line atomically (额度扣减) instead of charging a bank, then charges the credit
line's own channel, where the payment succeeds at once: the order is paid without money up
front. The order is then financed (资产路由) at the stage the platform's funding policy names,
after payment or after shipment (`finance`); when no funder takes it before shipment, the
credit side is undone and the order module closes the order. An after-sales refund of such
an order goes to funding first (`refund`): bills closed, the line restored, overpayment (溢缴款)
returned, the asset repurchased (资产回购); then the payment record is refunded through the
line's channel like any refund.

One checkout paid on credit is one draw and one asset, keyed by the parent order's id, so an
order on credit comes from one shop and is refunded in full. Nothing here commits: the use
cases of `orders.paying`, `fulfillment.service` and `aftersales.refunds` do.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import datetime
from typing import Any

from arbiter.engine.stores import StoreUnavailable
from arbiter.engine.velocity import record_event
from arbiter.errors import InvalidInput
from arbiter.money import Money
from arbiter.platform.credit import service as credit
from arbiter.platform.credit.approval import VERIFICATION_REQUIRED
from arbiter.platform.credit.quotes import TERM_NOT_OFFERED
from arbiter.platform.db import UnitOfWork
from arbiter.platform.funding import service as funding
from arbiter.platform.funding.routing import CLOSE_ORDER, PAYMENT, SHIPMENT, Financing
from arbiter.platform.orders.records import ParentView
from arbiter.platform.payments import service as payments
from arbiter.platform.payments.channels import ChannelCharge, ChannelRefund, Router
from arbiter.platform.payments.records import PaymentView
from arbiter.platform.runtime import Platform

CREDIT = "credit"
CHANNEL = "credit_line"
MAX_TERM = 36
ONE_SHOP = "installments_one_shop"  # an order on credit comes from one shop
REFUND_IN_FULL = "credit_refund_in_full"  # a credit order is refunded whole, never in part
UNFUNDED = "no funder took the installment asset"

__all__ = ["CHANNEL", "CLOSE_ORDER", "CREDIT", "PAYMENT", "SHIPMENT", "CreditLineChannel", "add_facts",
           "check_terms", "check_term_value", "credit_refund_of", "finance", "paid_on_credit", "pay", "refund",
           "register"]


class CreditLineChannel:
    """The credit line as a payment channel (支付渠道) for the method "credit".

    A charge reaches it only in the transaction that has just approved the payment and
    deducted the line (`pay`), so it always accepts, and a payment pending here has been
    approved: `query` answers succeeded. A refund reaches it once funding has done the credit
    side of the refund in the same transaction, so it always acknowledges. The line never
    calls back: every callback claiming to come from it is refused as forged."""

    @property
    def name(self) -> str:
        return CHANNEL

    def charge(self, payment_id: str, amount: Money, method: str, now: datetime) -> ChannelCharge:
        if method != CREDIT:
            return ChannelCharge(False, None, f"the credit line takes credit payments, not {method}")
        return ChannelCharge(True, f"{CHANNEL}-{payment_id}")

    def query(self, payment_id: str) -> str:
        return "succeeded"

    def refund(self, refund_id: str, payment_id: str, amount: Money, now: datetime) -> ChannelRefund:
        return ChannelRefund(True, f"{CHANNEL}-{refund_id}")

    def verify_signature(self, body: bytes, signature: str) -> bool:
        return False


def register(router: Router) -> None:
    """Route the method "credit" to the credit line's channel (a composition root calls it)."""
    router.register(CreditLineChannel(), methods=(CREDIT,))


def check_term_value(payment_method: str, installments: object) -> int | None:
    """The term a checkout asks for, checked: required with "credit", refused otherwise."""
    if payment_method != CREDIT:
        if installments is not None:
            raise InvalidInput(f"installments: only an order paid on credit has a term, not one paid by "
                               f"{payment_method}")
        return None
    if isinstance(installments, bool) or not isinstance(installments, int) or not 1 <= installments <= MAX_TERM:
        raise InvalidInput(f"installments: paying on credit needs a term of 1 to {MAX_TERM} periods, "
                           f"got {installments!r}")
    return installments


def add_facts(uow: UnitOfWork, context: MutableMapping[str, Any], user_id: str, now: datetime,
              installments: int | None) -> None:
    """Put the user's credit tags (credit_status, credit_available, ...) under `user` and the
    term under `order`, for the checkout and payment rules that read them (额度不足, 套现)."""
    user = dict(context.get("user") or {})
    user.update(credit.credit_facts(uow, user_id, now=now))
    context["user"] = user
    order = dict(context.get("order") or {})
    if installments is not None:
        order["installments"] = installments
    context["order"] = order


def check_terms(uow: UnitOfWork, platform: Platform, *, user_id: str, amount: Money, order: Mapping[str, Any],
                shops: int, installments: int, now: datetime) -> str | None:
    """Why this checkout cannot be paid over `installments` periods (None when it can): the
    trial must offer the term for the order's payable amount. Reads only."""
    if shops != 1:
        return ONE_SHOP
    quote = credit.installment_quote(uow, platform.decisions, user_id=user_id, amount=amount, now=now,
                                     order=dict(order))
    if not quote.ok:
        return quote.reason
    return None if quote.offer(installments) is not None else TERM_NOT_OFFERED


def _order_context(parent: ParentView, context: Mapping[str, Any]) -> dict[str, Any]:
    """The payment's context with what the installment rules read about the order: its lines
    (phones get the interest-free campaign) and its term."""
    ctx = {name: dict(part) if isinstance(part, Mapping) else part for name, part in context.items()}
    order = dict(ctx.get("order") or {})
    order["lines"] = [{"sku": line.sku, "category": line.category, "quantity": line.quantity,
                       "price": line.unit_price, "is_virtual": parent.kind == "virtual", "shop": o.shop}
                      for o in parent.orders for line in o.lines]
    order["installments"] = parent.installments
    ctx["order"] = order
    return ctx


def pay(uow: UnitOfWork, platform: Platform, parent: ParentView, payment: PaymentView, context: Mapping[str, Any],
        now: datetime) -> str | None:
    """Approve the ready credit payment of `parent` in real time, deduct the line, and charge
    the line's channel, where the payment succeeds. The reason when it was refused: the
    payment is then cancelled and the line untouched. Does not commit."""
    if parent.installments is None:
        raise InvalidInput(f"order {parent.id} was not placed on credit: it has no term")
    if platform.router.choose(CREDIT) is None:
        return "the credit line's channel is down"
    verified = None if payment.verification == "none" else payment.verification
    ctx = _order_context(parent, context)
    approved = credit.approve_and_deduct(
        uow, platform.decisions, user_id=parent.user_id, order_id=parent.id, amount=parent.payable,
        term=parent.installments, context=ctx, key=f"credit-pay:{parent.id}", now=now, verified=verified)
    if not approved.ok:
        reason = str(approved.reason)
        if approved.reason == VERIFICATION_REQUIRED:
            reason = f"{reason}: {approved.verify}"
        payments.cancel(uow, payment.payment_id, f"the credit line refused it: {reason}", now)
        return reason
    payments.submit(uow, platform.router, payment.payment_id, now)
    payments.sync(uow, platform.router, payment.payment_id, now)  # the line's channel answers at once
    if not approved.replayed:
        _count_draw(platform, parent, ctx, now)
    return None


def _count_draw(platform: Platform, parent: ParentView, context: Mapping[str, Any], now: datetime) -> None:
    """Feed the draw to the velocity counters (`count(credit_draw by user.id ...)`: 套现)."""
    engine = platform.decisions
    ctx = {**context, "user": {**dict(context.get("user") or {}), "id": parent.user_id},
           "payment": {"method": CREDIT, "amount": parent.payable}}
    try:
        record_event(engine.ruleset, engine.velocity, "credit_draw", ctx, now, f"credit_draw:{parent.id}")
    except StoreUnavailable:
        pass  # lost to the counters only; the next decision fails closed if the store stays down


def paid_on_credit(uow: UnitOfWork, parent_id: str) -> bool:
    payment = payments.payment_of(uow, parent_id)
    return payment is not None and payment.method == CREDIT


def finance(uow: UnitOfWork, platform: Platform, parent: ParentView, *, stage: str, now: datetime) -> Financing | None:
    """Finance the credit payment of `parent` at `stage` (payment or shipment) under the
    platform's funding policy; None when the order was not paid on credit. When no funder
    takes it before shipment (`action == "close_order"`), the line is restored and the
    payment's record refunded here; the caller closes the order. Does not commit."""
    if parent.payment_method != CREDIT:
        return None
    financed = funding.finance(uow, platform.decisions, order_id=parent.id, stage=stage,
                               policy=platform.funding_policy, key=f"fund:{parent.id}", now=now)
    if financed.action == CLOSE_ORDER:
        undone = payments.refund(uow, platform.router, order_id=parent.id, amount=parent.payable,
                                 key=f"unfunded:{parent.id}", reason=UNFUNDED, now=now)
        if not undone.ok:
            raise InvalidInput(f"order {parent.id}: the unfunded credit payment could not be undone: {undone.reason}")
    return financed


def refund(uow: UnitOfWork, parent_id: str, amount: Money, *, key: str, now: datetime) -> str | None:
    """The credit side of an after-sales refund of `amount`: the whole payment, or why not.
    Financed: bills closed, line restored, overpayment returned, asset repurchased; not yet
    financed: the line restored and the payment's posting reversed. Does not commit."""
    payment = payments.payment_of(uow, parent_id)
    if payment is None or payment.method != CREDIT:
        raise InvalidInput(f"order {parent_id} was not paid on credit")
    if payment.refunded.amount or amount != payment.amount:
        return f"{REFUND_IN_FULL}: an order paid on credit is refunded whole ({payment.amount}), not {amount}"
    done = funding.refund_financed_order(uow, order_id=parent_id, key=f"{key}:credit", now=now)
    return None if done.ok else f"the credit refund was refused: {done.reason}"


def credit_refund_of(uow: UnitOfWork, parent_id: str) -> funding.Refund | None:
    """What the credit refund of the order did (bills closed, overpayment, repurchase)."""
    return funding.refund_of(uow, parent_id)
