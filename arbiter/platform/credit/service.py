"""The credit module's entry points, gathered for the modules that call them.

    applications.apply / decide_review      授信: decide an application, or a reviewed one
    limits.change_limit / grant_special_line / set_status      提额, 专项额度, freeze
    quotes.credit_facts                      the user.credit_* tags for any decision
    quotes.installment_quote                 分期试算 on the product page and at checkout
    approval.approve_and_deduct              分期支付审核 + 额度扣减 at payment
    approval.cancel_credit_payment           undo a payment never financed
    lines.deduct / restore                   move the line, idempotently
"""

from __future__ import annotations

from arbiter.platform.credit.applications import Application, apply, decide_review
from arbiter.platform.credit.approval import (
    CreditPayment,
    approve_and_deduct,
    cancel_credit_payment,
)
from arbiter.platform.credit.limits import (
    LimitChange,
    change_limit,
    grant,
    grant_special_line,
    set_status,
)
from arbiter.platform.credit.lines import (
    Draw,
    DrawPlan,
    LineMove,
    LineState,
    SpecialLineState,
    deduct,
    draw_of,
    line,
    restore,
    set_overdue,
    special_lines,
    usable_available,
)
from arbiter.platform.credit.quotes import Offer, Quote, credit_facts, installment_quote, offer_of

__all__ = [
    "Application", "CreditPayment", "Draw", "DrawPlan", "LimitChange", "LineMove", "LineState", "Offer", "Quote",
    "SpecialLineState", "apply", "approve_and_deduct", "cancel_credit_payment", "change_limit", "credit_facts", "decide_review", "deduct",
    "draw_of", "grant", "grant_special_line", "installment_quote", "line", "offer_of", "restore", "set_overdue",
    "set_status", "special_lines", "usable_available",
]
