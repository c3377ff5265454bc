"""The refund of an order paid on credit, and the repurchase (资产回购) of its asset.

Not financed yet: the line gets the principal back and the payment's posting is reversed.
Financed: the unpaid bills are closed (their principal paid off by the refunded goods money,
their fees and penalties waived), the line is restored, what the user already repaid of
principal and fee comes back as overpayment (溢缴款) paid out to the repayment method (the
penalties the user paid for lateness are kept), an interest-free subsidy goes back to its
payer, and the platform buys the asset back from its funder at its outstanding principal
(the funder is paid from the refunded goods money). Once per order.

Line 5000.00, 3000.00 in 3 at 2.3%, bill 1 (1023.00) repaid, then refunded: bills 2 and 3
closed, the line back to 5000.00, overpayment 1023.00, the funder repaid 2000.00.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from arbiter.errors import Conflict, NotFound
from arbiter.money import Money
from arbiter.platform.columns import utc
from arbiter.platform.credit import approval as credit_approval
from arbiter.platform.credit import books as credit_books
from arbiter.platform.credit import lines as credit_lines
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.funding import bills, books, funders
from arbiter.platform.funding.models import ASSETS, BILLS, REFUNDS
from arbiter.platform.funding.routing import asset_of
from arbiter.platform.sql import insert_if_absent, write_lock

REFUNDABLE = ("financed", "repaid")


@dataclass(frozen=True, slots=True)
class Refund:
    """What a credit refund did: the bills closed, the line given back, the overpayment
    returned to the user, and the repurchase price paid to the funder."""

    order_id: str
    financed: bool
    closed_bills: tuple[int, ...]
    restored: Money
    overpayment: Money
    repurchase: Money
    funder: str | None = None
    reason: str | None = None
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.reason is None

    def to_json(self) -> dict[str, Any]:
        return {"financed": self.financed, "closed_bills": list(self.closed_bills),
                "restored": str(self.restored.amount), "overpayment": str(self.overpayment.amount),
                "repurchase": str(self.repurchase.amount), "funder": self.funder,
                "currency": self.restored.currency}


def refund_financed_order(uow: UnitOfWork, *, order_id: str, key: str, now: datetime) -> Refund:
    """Refund the credit side of `order_id` in full (see the module docstring). Refused with
    a reason when its asset is in collections or sold. Does not commit."""
    credit_lines.check_key(key)
    write_lock(uow.session.connection())
    # lock what the refund moves first: a concurrent twin waits, then finds the refund made
    held = asset_of(uow, order_id, lock=True)
    draw = credit_lines.draw_of(uow, order_id, lock=True) if held is None else None
    first = uow.session.execute(select(REFUNDS).where(REFUNDS.c.order_id == order_id)).first()
    if first is not None:
        if first.key != key:
            raise Conflict(f"order {order_id} was refunded already (key {first.key!r})")
        return _refund(order_id, json.loads(first.result), replayed=True)
    if held is None:
        if draw is None:
            raise NotFound(f"order {order_id} was not paid on the credit line")
        outstanding = draw.outstanding
        credit_approval.cancel_credit_payment(uow, order_id=order_id, key=f"{key}:line", now=now)
        zero = Money.zero(draw.principal.currency)
        return _store(uow, key, Refund(order_id, False, (), outstanding, zero, zero), now)
    if held.status not in REFUNDABLE:
        zero = Money.zero(held.principal.currency)
        return Refund(order_id, True, (), zero, zero, zero, held.funder, reason=f"asset_{held.status}")
    all_bills = bills.bills_of(uow, order_id)
    open_bills = [b for b in all_bills if b.stored_status == bills.OPEN]
    zero = Money.zero(held.principal.currency)
    unpaid_principal = sum((b.principal_due for b in open_bills), zero)
    unpaid_fees = sum((b.fee_due + b.penalty_due for b in open_bills), zero)
    repaid_principal = sum((b.principal_paid for b in all_bills), zero)
    repaid_fee = sum((b.fee_paid for b in all_bills), zero)
    at = utc(now)
    if open_bills:
        uow.session.execute(update(BILLS).where(BILLS.c.id.in_([b.id for b in open_bills]))
                            .values(status=bills.CLOSED, closed_at=at))
    holder = funders.funder(uow, held.funder)
    transfers = [
        credit_books.unpaid(order_id, held.user_id, unpaid_principal),
        books.waived(f"refund:{order_id}:fees", order_id, held.user_id, unpaid_fees, "credit.refund.fees"),
        *books.overpayment(order_id, held.user_id, repaid_principal, repaid_fee),
        books.principal_back(f"refund:{order_id}:repurchase", order_id, holder.code, holder.self_held,
                             unpaid_principal, "funding.repurchase"),
    ]
    if held.subsidy.amount:
        transfers.append(books.subsidy(order_id, held.subsidy_by, held.subsidy_payer, held.subsidy, undo=True))
    credit_books.post(uow, transfers, now, batch=f"refund:{order_id}")
    if unpaid_principal.amount:
        funders.give_back(uow, holder.code, unpaid_principal, now=now)
        credit_lines.restore(uow, held.user_id, order_id, unpaid_principal, f"{key}:line", now=now)
    uow.session.execute(update(ASSETS).where(ASSETS.c.order_id == order_id).values(
        status="refunded", repurchased_at=at, repurchase_price=unpaid_principal.amount, updated_at=at))
    bills.refresh_overdue(uow, held.user_id, now=now)
    result = Refund(order_id, True, tuple(b.number for b in open_bills), unpaid_principal,
                    repaid_principal + repaid_fee, unpaid_principal, holder.code)
    events.emit(uow, "credit_refund", order_id, {"user_id": held.user_id, **result.to_json()}, now)
    return _store(uow, key, result, now)


def refund_of(uow: UnitOfWork, order_id: str) -> Refund | None:
    """What the refund of `order_id` did, if it was refunded (reads only)."""
    row = uow.session.execute(select(REFUNDS).where(REFUNDS.c.order_id == order_id)).first()
    return None if row is None else _refund(order_id, json.loads(row.result), replayed=False)


def _store(uow: UnitOfWork, key: str, result: Refund, now: datetime) -> Refund:
    uow.session.execute(insert_if_absent(REFUNDS, uow.engine.dialect.name, dict(
        order_id=result.order_id, key=key, result=json.dumps(result.to_json(), sort_keys=True), at=utc(now))))
    return result


def _refund(order_id: str, stored: dict[str, Any], *, replayed: bool) -> Refund:
    currency = stored["currency"]
    return Refund(order_id, stored["financed"], tuple(stored["closed_bills"]), Money.of(stored["restored"], currency),
                  Money.of(stored["overpayment"], currency), Money.of(stored["repurchase"], currency),
                  stored["funder"], replayed=replayed)
