"""Coupons granted by decisions: every `grant_coupon` effect of a decision (a home popup's
new-user gift pack, a claim in the `coupon_claim` scene, a cart's first-basket coupon) issues
its template to the user, once.

The idempotency key is derived from the decision's scene, the user and the template: a
decision delivered again, or asked again for the same user in the same scene, grants nothing
twice, and the template's own limits (per user, per device, stock, claim period) still apply.
The coupon issued is the template's; an effect that promises another face value or validity
than the template gives is refused rather than issuing a coupon the user was not shown.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from arbiter.engine.decision import Decision
from arbiter.errors import InvalidInput
from arbiter.money import Money
from arbiter.platform.columns import NAME_LENGTH
from arbiter.platform.db import UnitOfWork
from arbiter.platform.promotions import coupons as c
from arbiter.platform.promotions import service
from arbiter.platform.promotions.coupons import CouponResult, TemplateSpec

GRANT_EFFECT = "grant_coupon"
TEMPLATE_MISMATCH = "template differs from the effect"
KEY_LENGTH = 400  # promotion_operation.key


@dataclass(frozen=True, slots=True)
class Granted:
    """One `grant_coupon` effect and what came of it: the coupon issued (or the first one, when
    `replayed`), or why none was."""

    template: str
    amount: Money
    valid_for: timedelta
    coupon: CouponResult

    @property
    def ok(self) -> bool:
        return self.coupon.ok

    @property
    def reason(self) -> str | None:
        return self.coupon.reason

    @property
    def replayed(self) -> bool:
        return self.coupon.replayed


def grant_key(scene: str, user: str, template: str) -> str:
    """The key under which a scene grants a template to a user (`service.grant` prefixes it
    with the template); a digest when it would not fit the operations log."""
    key = f"{scene}:{user}"
    if len(f"grant:{template}:{key}") > KEY_LENGTH:
        key = hashlib.sha256(f"{scene}\0{user}".encode()).hexdigest()
    return key


def _matches(spec: TemplateSpec, amount: Money, valid_for: timedelta) -> bool:
    """Whether the template gives what the effect promised: its face value, and its validity
    when that runs from the claim (an absolute validity is the template's to set)."""
    if spec.value is None or spec.value != amount:
        return False
    return spec.days_after_claim is None or timedelta(days=spec.days_after_claim) == valid_for


def grant_decision(uow: UnitOfWork, decision: Decision, user: str, at: datetime, *,
                   device: str | None = None) -> tuple[Granted, ...]:
    """Issue every `grant_coupon` effect of `decision` to `user`, in the decision's order; the
    other effects are not this module's. Each grant commits by itself (a refusal of one leaves
    the others), so call it with a unit of work holding nothing else."""
    if not isinstance(user, str) or not 1 <= len(user) <= NAME_LENGTH:
        raise InvalidInput(f"user: {user!r} must be 1 to {NAME_LENGTH} characters")
    granted: list[Granted] = []
    for effect in decision.effects:
        if effect.name != GRANT_EFFECT:
            continue
        template, amount, valid_for = effect.get("template"), effect.get("amount"), effect.get("valid_for")
        spec = service.template(uow, template) if len(template) <= NAME_LENGTH else None
        if spec is None:
            outcome = CouponResult(None, None, c.UNKNOWN_TEMPLATE)
        else:
            if not _matches(spec, amount, valid_for):
                outcome = CouponResult(None, None, TEMPLATE_MISMATCH)
            else:
                outcome = service.grant(uow, template, user, at, key=grant_key(decision.scene, user, template),
                                        device=device)
        granted.append(Granted(template, amount, valid_for, outcome))
    uow.session.rollback()  # end the read of a grant that was refused before it wrote
    return tuple(granted)
