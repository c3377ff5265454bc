"""The payments use cases, in one place for the modules that call them (orders, after-sales,
the review queue, credit):

    open_payment -> (send_code, verify) -> submit -> handle_callback | sync -> payment.succeeded
    resume_after_review (the review queue's verdict), cancel (before the channel)
    refund (after-sales), payment_of / get_payment / refunds_of (reading)

None of them commit: each runs inside the caller's use case, which commits once.
"""

from __future__ import annotations

from arbiter.platform.payments.cashier import (
    Cashier,
    VerifyResult,
    cancel,
    open_payment,
    resume_after_review,
    send_code,
    verify,
)
from arbiter.platform.payments.channels import (
    METHODS,
    Channel,
    ChannelCharge,
    ChannelRefund,
    NoRoute,
    Router,
    SimulatedChannel,
    UnknownChannel,
    simulated_router,
)
from arbiter.platform.payments.charging import (
    CallbackRefused,
    CallbackResult,
    ForgedCallback,
    InvalidCallback,
    SubmitResult,
    handle_callback,
    submit,
    sync,
)
from arbiter.platform.payments.records import (
    PaymentConflict,
    PaymentNotFound,
    PaymentView,
    get_payment,
    payment_of,
)
from arbiter.platform.payments.refunds import (
    RefundConflict,
    RefundResult,
    RefundView,
    refund,
    refunds_of,
)
from arbiter.platform.payments.verification import SimulatedVerifier, Verifier

__all__ = [
    "METHODS", "CallbackRefused", "CallbackResult", "Cashier", "Channel", "ChannelCharge", "ChannelRefund",
    "ForgedCallback", "InvalidCallback", "NoRoute", "PaymentConflict", "PaymentNotFound", "PaymentView",
    "RefundConflict", "RefundResult", "RefundView", "Router", "SimulatedChannel", "SimulatedVerifier",
    "SubmitResult", "UnknownChannel", "Verifier", "VerifyResult", "cancel", "get_payment", "handle_callback",
    "open_payment", "payment_of", "refund", "refunds_of", "resume_after_review", "send_code", "simulated_router",
    "submit", "sync", "verify",
]
