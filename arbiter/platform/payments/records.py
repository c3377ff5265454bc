"""Reading payments, and the small pieces every payments use case shares: the view other
modules see (`PaymentView`), the errors, input checks and the conditional status move."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, case, select, update

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import CENT, Money
from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.payments.models import (
    CANCELLED,
    FAILED,
    KEY_LENGTH,
    PAYMENTS,
    REASON_LENGTH,
    REFUSED,
)

TERMINAL = (REFUSED, FAILED, CANCELLED)  # these free the order for another payment


class PaymentNotFound(NotFound):
    code = "payments.not_found"


class PaymentConflict(Conflict):
    code = "payments.conflict"


@dataclass(frozen=True, slots=True)
class PaymentView:
    payment_id: str
    order_id: str
    user_id: str
    amount: Money
    method: str
    channel: str | None
    status: str
    refunded: Money
    verification: str = "none"
    reason: str | None = None
    failed_attempts: int = 0
    channel_ref: str | None = None
    paid_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"payment_id": self.payment_id, "order_id": self.order_id, "user_id": self.user_id,
                "amount": self.amount.to_json(), "method": self.method, "channel": self.channel,
                "status": self.status, "refunded": self.refunded.to_json(), "verification": self.verification,
                "reason": self.reason, "paid_at": self.paid_at.isoformat() if self.paid_at else None}


def view(row: Row[Any]) -> PaymentView:
    return PaymentView(row.id, row.order_id, row.user_id, Money(row.amount, row.currency), row.method, row.channel,
                       row.status, Money(row.refunded, row.currency), row.verification, row.reason,
                       row.failed_attempts, row.channel_ref, as_utc(row.paid_at))


def load(uow: UnitOfWork, payment_id: str) -> Row[Any]:
    row = uow.session.execute(select(PAYMENTS).where(PAYMENTS.c.id == payment_id)).first()
    if row is None:
        raise PaymentNotFound(f"no payment {payment_id!r}")
    return row


def get_payment(uow: UnitOfWork, payment_id: str) -> PaymentView:
    return view(load(uow, payment_id))


def payment_of(uow: UnitOfWork, order_id: str) -> PaymentView | None:
    """The order's payment: the open or succeeded one, else the latest that ended."""
    query = (select(PAYMENTS).where(PAYMENTS.c.order_id == order_id)
             .order_by(case((PAYMENTS.c.open_order.is_(None), 1), else_=0), PAYMENTS.c.created_at.desc(),
                       PAYMENTS.c.updated_at.desc(), PAYMENTS.c.id).limit(1))
    row = uow.session.execute(query).first()
    return view(row) if row is not None else None


def move(uow: UnitOfWork, payment_id: str, from_: tuple[str, ...], to: str, now: datetime,
         **values: Any) -> bool:
    """Move the payment from one of `from_` to `to` in one conditional UPDATE; False when it
    was not in one of them (someone else moved it first). A move to a terminal status frees
    the order for another payment."""
    if to in TERMINAL:
        values["open_order"] = None
    result = uow.session.execute(update(PAYMENTS).where(PAYMENTS.c.id == payment_id, PAYMENTS.c.status.in_(from_))
                                 .values(status=to, updated_at=utc(now), **values))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def emit_failed(uow: UnitOfWork, row: Row[Any], reason: str, now: datetime) -> None:
    events.emit(uow, "payment.failed", row.order_id, {
        "payment_id": row.id, "order_id": row.order_id, "user_id": row.user_id, "status": row.status,
        "reason": reason,
    }, now, key=f"payment.failed:{row.id}")


def text(value: object, what: str, limit: int = KEY_LENGTH) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what}: must be a non-empty string")
    if len(value) > limit:
        raise InvalidInput(f"{what}: at most {limit} characters, got {len(value)}")
    return value


def reason_text(value: object, what: str = "reason") -> str:
    return text(value, what, REASON_LENGTH)


def cents(amount: object, what: str) -> Money:
    """A positive amount in whole cents: channels charge and refund in fen (分)."""
    if not isinstance(amount, Money):
        raise InvalidInput(f"{what}: expected Money, got {type(amount).__name__}")
    if amount.amount <= 0:
        raise InvalidInput(f"{what}: must be more than zero, got {amount}")
    if amount.amount != amount.amount.quantize(CENT):
        raise InvalidInput(f"{what}: {amount} is not a whole number of cents")
    if amount.amount >= Decimal("1000000000"):
        raise InvalidInput(f"{what}: {amount} is beyond what one payment may carry")
    return amount
