"""Paying for an order at the cashier (收银台), and what happens to unpaid orders.

`start_payment` routes every line (the `fulfillment_route` scene), locks the stock of the
lines that ship from a warehouse — never more than there is, across processes — and opens the
payment, whose verification the `payment` scene decides. `verify_payment` checks the proof and
submits the payment to its channel; the channel's signed callback (or `sync_payment`, when a
callback was lost) reports success, and `mark_paid` moves every order of the parent to paid,
spends its coupons and budgets, emits `order.paid`, and starts fulfilment. An order left
unpaid past its timeout is closed by `close_expired`, giving its stock, coupons and budgets
back; `cancel_unpaid` does the same at the user's request.

A payment the rules hold for review opens a case in the review queue. An order paid on
credit (`payment_method` "credit", with a term) is approved and deducted from the user's
line instead of being charged (`orders.credit_payment`), and is financed after payment when
the funding policy says so: if no funder takes it, the order is closed before shipment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from arbiter.errors import Conflict, InvalidInput
from arbiter.money import Money
from arbiter.platform.cart.pricing import shopping_context
from arbiter.platform.catalog import service as catalog
from arbiter.platform.columns import utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.fulfillment import routing
from arbiter.platform.inventory import service as inventory
from arbiter.platform.orders import credit_payment, records, states
from arbiter.platform.orders.records import LINES, PARENTS, ParentView
from arbiter.platform.payments import service as payments
from arbiter.platform.promotions import pricing
from arbiter.platform.risk import review
from arbiter.platform.runtime import Platform

SYSTEM = "system"


@dataclass(frozen=True)
class PaymentStep:
    """Where the payment of a parent order stands: its payment id and status, the
    verification the user still owes, and why it was refused."""

    parent_id: str
    payment_id: str | None
    status: str
    verification: str = "none"
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def _payable(parent: ParentView) -> Money:
    return parent.payable


def _payment_context(uow: UnitOfWork, parent: ParentView, passthrough: Mapping[str, Any] | None,
                     now: datetime) -> dict[str, Any]:
    context = shopping_context(uow, parent.user_id, now, passthrough=passthrough)
    lines = [line for o in parent.orders for line in o.lines]
    first = parent.orders[0]
    context["order"] = {
        "amount": parent.payable, "subtotal": sum((o.list_total for o in parent.orders), Money.zero(parent.payable.currency)),
        "item_count": sum(line.quantity for line in lines), "payment_method": parent.payment_method,
        "address_region": first.region or "", "recharge_account": first.recharge_account or "",
        "shop": first.shop if len(parent.orders) == 1 else "",
    }
    if parent.payment_method == credit_payment.CREDIT:
        credit_payment.add_facts(uow, context, parent.user_id, now, parent.installments)
    return context


def _route_and_lock(uow: UnitOfWork, platform: Platform, parent: ParentView, now: datetime) -> str | None:
    """Decide each line's route and lock the stock of warehouse lines; the reason when the
    order cannot be fulfilled."""
    to_lock: list[tuple[str, str, int]] = []
    for order in parent.orders:
        for line in order.lines:
            view = catalog.get_sku(uow, line.sku)
            if view is None:
                return f"sku {line.sku} is no longer sold"
            route = routing.route(uow, platform, view, order, line.quantity)
            if route.reason is not None:
                return route.reason
            uow.session.execute(update(LINES).where(LINES.c.order_id == order.id, LINES.c.line_id == line.line_id)
                                .values(route=route.to))
            if route.to == routing.WAREHOUSE:
                to_lock.append((f"{order.id}/{line.line_id}", line.sku, line.quantity))
    if to_lock:
        locked = inventory.lock(uow, parent.id, to_lock, parent.orders[0].region or "")
        if not locked.ok:
            return locked.reason or "out of stock"
    return None


def _step(parent_id: str, cashier: Any) -> PaymentStep:
    return PaymentStep(parent_id, cashier.payment_id, cashier.status, cashier.verification or "none",
                       cashier.reason if cashier.status in ("refused", "failed") else None)


def start_payment(uow: UnitOfWork, platform: Platform, parent_id: str, *, user_id: str,
                  passthrough: Mapping[str, Any] | None = None, key: str, now: datetime) -> PaymentStep:
    """Open the cashier for an unpaid parent order. Commits."""
    parent = records.require_parent(uow, parent_id, user_id)
    if parent.status == states.CREATED and utc(now) >= parent.expires_at:
        close_expired(uow, platform, now, only=parent_id)
        parent = records.require_parent(uow, parent_id)
    if parent.status != states.CREATED:
        return PaymentStep(parent_id, None, parent.status, reason=f"the order is {parent.status}: it cannot be paid")
    refused = _route_and_lock(uow, platform, parent, now)
    if refused is not None:
        uow.session.rollback()
        return PaymentStep(parent_id, None, "refused", reason=refused)
    cashier = payments.open_payment(
        uow, platform.decisions, order_id=parent_id, user_id=user_id, amount=_payable(parent),
        method=parent.payment_method, context=_payment_context(uow, parent, passthrough, now), key=key, now=now)
    if cashier.status == "refused":
        inventory.release(uow, parent_id)
    elif cashier.status == "verifying":
        payments.send_code(uow, platform.verifier, cashier.payment_id, now)
    elif cashier.status == "review" and cashier.decision is not None:
        review.open_case(uow, cashier.decision, subject_kind="payment", subject_id=cashier.payment_id, now=now,
                         key=f"payment-review:{cashier.payment_id}")
    uow.commit()
    step = _step(parent_id, cashier)
    if cashier.status == "ready":
        return submit_payment(uow, platform, parent_id, user_id=user_id, now=now, passthrough=passthrough)
    return step


def verify_payment(uow: UnitOfWork, platform: Platform, parent_id: str, *, user_id: str, proof: str,
                   now: datetime, passthrough: Mapping[str, Any] | None = None) -> PaymentStep:
    """Check the verification the payment asked for; when it passes, submit the payment."""
    records.require_parent(uow, parent_id, user_id)
    payment = payments.payment_of(uow, parent_id)
    if payment is None:
        raise InvalidInput(f"order {parent_id}: no payment was opened")
    result = payments.verify(uow, platform.verifier, payment.payment_id, proof, now)
    if result.status == "failed":
        inventory.release(uow, parent_id)
    uow.commit()
    if result.status != "ready":
        return PaymentStep(parent_id, payment.payment_id, result.status, payment.verification,
                           reason=None if result.ok else f"the {payment.verification} check did not pass "
                           f"({result.status})")
    return submit_payment(uow, platform, parent_id, user_id=user_id, now=now, passthrough=passthrough)


def submit_payment(uow: UnitOfWork, platform: Platform, parent_id: str, *, user_id: str,
                   now: datetime, passthrough: Mapping[str, Any] | None = None) -> PaymentStep:
    """Send a ready payment to its channel; a credit payment is approved and deducted from
    the line now, and is paid at once. Commits."""
    parent = records.require_parent(uow, parent_id, user_id)
    payment = payments.payment_of(uow, parent_id)
    if payment is None:
        raise InvalidInput(f"order {parent_id}: no payment was opened")
    if payment.method == credit_payment.CREDIT and payment.status == "ready":
        return _pay_on_credit(uow, platform, parent, payment, passthrough, now)
    payments.submit(uow, platform.router, payment.payment_id, now)
    uow.commit()
    after = payments.payment_of(uow, parent_id)
    assert after is not None
    return PaymentStep(parent_id, after.payment_id, after.status)


def _pay_on_credit(uow: UnitOfWork, platform: Platform, parent: ParentView, payment: payments.PaymentView,
                   passthrough: Mapping[str, Any] | None, now: datetime) -> PaymentStep:
    context = _payment_context(uow, parent, passthrough, now)
    refused = credit_payment.pay(uow, platform, parent, payment, context, now)
    if refused is not None:
        inventory.release(uow, parent.id)
        uow.commit()
        return PaymentStep(parent.id, payment.payment_id, "refused", payment.verification, reason=refused)
    uow.commit()
    _after_payment(uow, platform, parent.id, now)
    after = payments.payment_of(uow, parent.id)
    assert after is not None
    return PaymentStep(parent.id, after.payment_id, after.status)


def payment_callback(uow: UnitOfWork, platform: Platform, channel: str, body: bytes, signature: str,
                     now: datetime) -> Any:
    """A channel's asynchronous notice. A forged or altered one is refused and changes
    nothing; a repeated one changes nothing the second time."""
    result = payments.handle_callback(uow, platform.router, channel, body, signature, now)
    uow.commit()
    _after_payment(uow, platform, getattr(result, "order_id", None), now)
    return result


def sync_payment(uow: UnitOfWork, platform: Platform, parent_id: str, now: datetime) -> PaymentStep:
    """Ask the channel for the payment's state (a lost callback) and apply it."""
    payment = payments.payment_of(uow, parent_id)
    if payment is None:
        raise InvalidInput(f"order {parent_id}: no payment was opened")
    payments.sync(uow, platform.router, payment.payment_id, now)
    uow.commit()
    _after_payment(uow, platform, parent_id, now)
    after = payments.payment_of(uow, parent_id)
    assert after is not None
    return PaymentStep(parent_id, after.payment_id, after.status)


def _after_payment(uow: UnitOfWork, platform: Platform, parent_id: str | None, now: datetime) -> None:
    if parent_id is None:
        return
    payment = payments.payment_of(uow, parent_id)
    if payment is not None and payment.status == "succeeded":
        mark_paid(uow, platform, parent_id, now)
    elif payment is not None and payment.status == "failed":
        inventory.release(uow, parent_id)
        uow.commit()


def mark_paid(uow: UnitOfWork, platform: Platform, parent_id: str, now: datetime) -> ParentView:
    """The payment succeeded: every order of the parent is paid, its coupons and budgets
    spent, `order.paid` emitted; then fulfilment starts. Idempotent."""
    from arbiter.platform.fulfillment import service as fulfillment  # fulfilment reads orders

    parent = records.require_parent(uow, parent_id)
    for order in parent.orders:
        if order.status == states.CREATED:
            if not records.move(uow, order, states.PAID, reason="payment succeeded", by=SYSTEM, now=now,
                                paid_at=utc(now)):
                raise Conflict(f"order {order.id} moved while it was being paid; try again")
    uow.commit()
    # Paid but not yet announced: moved now, or by a call that stopped before `order.paid`
    # (a worker killed there): the steps below are idempotent, so a repeated callback resumes.
    parent = records.require_parent(uow, parent_id)
    moved = [o.id for o in parent.orders if o.status == states.PAID and not _announced(uow, o.id)]
    if not moved:
        return parent
    financed = credit_payment.finance(uow, platform, parent, stage=credit_payment.PAYMENT, now=now)
    if financed is not None and financed.action == credit_payment.CLOSE_ORDER:
        return _close_unfunded(uow, platform, parent_id, now)
    uow.commit()
    settled = pricing.confirm(uow, parent_id, platform.budgets, now)
    if not settled.ok and settled.reason is not None and not settled.replayed:
        # The discount can no longer be honoured (a reservation released meanwhile): the payment
        # stands and the order keeps its price; the promotion's owner sees the overspend.
        events.emit(uow, "order.discount_unconfirmed", parent_id, {"reason": settled.reason}, now)
    paid = records.require_parent(uow, parent_id)
    for order in paid.orders:
        if order.id in moved:
            events.emit(uow, "order.paid", order.id, records.event_payload(order), now)
    uow.commit()
    for order in paid.orders:
        if order.id in moved:
            fulfillment.start(uow, platform, order.id, now)
    return records.require_parent(uow, parent_id)


def _announced(uow: UnitOfWork, order_id: str) -> bool:
    return any(e.kind == "order.paid" for e in events.about(uow, order_id))


def _close_unfunded(uow: UnitOfWork, platform: Platform, parent_id: str, now: datetime) -> ParentView:
    """No funder took the order paid on credit, and the policy closes it before shipment:
    the line is restored and the payment refunded already; the orders close (refunded in
    full), the stock and the promotions come back. Commits."""
    parent = records.require_parent(uow, parent_id)
    for order in parent.orders:
        if order.status == states.PAID and not records.move(
                uow, order, states.CLOSED, reason=f"{credit_payment.UNFUNDED}: closed before shipment", by=SYSTEM,
                now=now, refunded=order.payable.amount):
            raise Conflict(f"order {order.id} moved while it was being closed; try again")
    inventory.release(uow, parent_id)
    uow.commit()
    pricing.cancel(uow, parent_id, platform.budgets, now)
    uow.commit()
    return records.require_parent(uow, parent_id)


def _give_back(uow: UnitOfWork, platform: Platform, parent: ParentView, target: str, reason: str, by: str,
               now: datetime) -> None:
    for order in parent.orders:
        if order.status == states.CREATED:
            records.move(uow, order, target, reason=reason, by=by, now=now)
    payment = payments.payment_of(uow, parent.id)
    if payment is not None and payment.status in ("review", "verifying", "ready"):
        payments.cancel(uow, payment.payment_id, reason, now)  # frees the order's payment slot
    inventory.release(uow, parent.id)
    uow.commit()
    pricing.cancel(uow, parent.id, platform.budgets, now)
    uow.commit()


def cancel_unpaid(uow: UnitOfWork, platform: Platform, parent_id: str, *, user_id: str, now: datetime) -> ParentView:
    """The user cancels an order not yet paid: stock, coupons and budgets come back."""
    parent = records.require_parent(uow, parent_id, user_id)
    payment = payments.payment_of(uow, parent_id)
    if payment is not None and payment.status in ("pending", "succeeded"):
        return parent if parent.status == states.CANCELLED else _refuse_cancel(parent)
    if parent.status == states.CANCELLED:
        return parent
    if parent.status != states.CREATED:
        return _refuse_cancel(parent)
    _give_back(uow, platform, parent, states.CANCELLED, "cancelled by the user", user_id, now)
    return records.require_parent(uow, parent_id)


def _refuse_cancel(parent: ParentView) -> ParentView:
    raise Conflict(f"order {parent.id} is {parent.status}: only an unpaid order can be cancelled "
                   "(a paid one goes through after-sales)")


def close_expired(uow: UnitOfWork, platform: Platform, now: datetime, *, only: str | None = None) -> list[str]:
    """Close the parent orders left unpaid past their timeout (a payment still pending at the
    channel is asked first: it may have succeeded). Returns the parent ids closed."""
    query = select(PARENTS.c.id).where(PARENTS.c.expires_at <= utc(now)).order_by(PARENTS.c.id)
    if only is not None:
        query = query.where(PARENTS.c.id == only)
    closed = []
    for (parent_id,) in uow.session.execute(query).all():
        parent = records.require_parent(uow, parent_id)
        if parent.status != states.CREATED:
            continue
        payment = payments.payment_of(uow, parent_id)
        if payment is not None and payment.status == "pending":
            sync_payment(uow, platform, parent_id, now)
            parent = records.require_parent(uow, parent_id)
            if parent.status != states.CREATED:
                continue
        _give_back(uow, platform, parent, states.CLOSED, "unpaid past the timeout", SYSTEM, now)
        closed.append(parent_id)
    return closed
