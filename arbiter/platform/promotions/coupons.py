"""Coupons (优惠券): the values and rules the coupon use cases share. Kinds 店铺券 `shop`, 平台券
`platform`, 新人券 `new_user`. A template says what a coupon is worth (an amount off, or a
percent off with an optional cap, above a threshold), where it applies (`scope`, a string the
pricing layer interprets: "all", "shop:S1", "category:phone"), when it is valid (absolute, or
N days after the claim), and how many may exist (per user, per device, in total).

States and the moves between them (anything else is refused with a reason):

    available --reserve--> reserved --redeem--> redeemed
    returned  --reserve--> reserved
    reserved, redeemed --return--> returned (still valid) | expired (past its expiry)
    available, returned --expire--> expired   (expire_due, once past expires_at)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from arbiter.errors import InvalidInput
from arbiter.money import Money
from arbiter.platform.columns import NAME_LENGTH, exact, utc

SHOP = "shop"
PLATFORM = "platform"
NEW_USER = "new_user"
KINDS = (SHOP, PLATFORM, NEW_USER)

AVAILABLE = "available"
RESERVED = "reserved"
REDEEMED = "redeemed"
EXPIRED = "expired"
RETURNED = "returned"
USABLE = (AVAILABLE, RETURNED)

# Reasons a coupon operation is refused.
UNKNOWN_TEMPLATE = "no such template"
NOT_STARTED = "not started"
ENDED = "ended"
OUT_OF_STOCK = "out of stock"
CLAIM_LIMIT = "claim limit"
DEVICE_LIMIT = "device claim limit"
DEVICE_REQUIRED = "device required"
UNKNOWN_COUPON = "no such coupon"
NOT_HOLDER = "not the holder"
CODE_TAKEN = "code already bound"
NOT_YET_VALID = "not yet valid"
COUPON_EXPIRED = "expired"
RESERVED_ELSEWHERE = "reserved by another order"
NOT_RESERVED = "not reserved"
NOT_FOR_ORDER = "not used by this order"
ALREADY_REDEEMED = "already redeemed"

# Codes avoid look-alikes (0/O, 1/I/L): people type them in.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12


def new_code(length: int = CODE_LENGTH) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def _count(value: int | None, what: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise InvalidInput(f"{what}: {value!r} is not a count (0 or more)")


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """A coupon template as operators define it."""

    code: str
    display: str
    kind: str
    threshold: Money
    value: Money | None = None
    percent: Decimal | None = None  # percent off, 0 < percent < 100
    cap: Money | None = None  # the most a percent coupon takes off
    scope: str = "all"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    days_after_claim: int | None = None
    claim_limit: int | None = 1  # per user
    device_limit: int | None = None  # per device (new-user coupons)
    stock: int | None = None  # in total; None: no limit
    promotion: str | None = None  # the budget the discount draws on

    def __post_init__(self) -> None:
        if not self.code or len(self.code) > NAME_LENGTH:
            raise InvalidInput(f"template code: {self.code!r} must be 1 to {NAME_LENGTH} characters")
        if self.kind not in KINDS:
            raise InvalidInput(f"kind: {self.kind!r} is not one of {', '.join(KINDS)}")
        if (self.value is None) == (self.percent is None):
            raise InvalidInput(f"template {self.code}: give exactly one of value and percent")
        currency = self.threshold.currency
        for name in ("value", "cap", "threshold"):
            amount = getattr(self, name)
            if amount is None:
                continue
            if amount.currency != currency:
                raise InvalidInput(f"{name}: {amount} is not in the threshold's currency {currency}")
            exact(amount.amount, name)
            if amount.amount < 0 or (name != "threshold" and amount.amount == 0):
                raise InvalidInput(f"{name}: {amount} must be more than zero")
        if self.percent is not None:
            if not isinstance(self.percent, Decimal) or not 0 < self.percent < 100:
                raise InvalidInput(f"percent: {self.percent!r} must be a Decimal between 0 and 100")
            exact(self.percent, "percent")
        elif self.cap is not None:
            raise InvalidInput("cap: only a percent coupon has a cap")
        if self.days_after_claim is None and self.ends_at is None:
            raise InvalidInput(f"template {self.code}: give ends_at (absolute) or days_after_claim")
        if self.days_after_claim is not None and self.days_after_claim < 1:
            raise InvalidInput("days_after_claim: must be 1 or more")
        if self.starts_at is not None and self.ends_at is not None and self.ends_at <= self.starts_at:
            raise InvalidInput("ends_at: must be after starts_at")
        for name in ("claim_limit", "device_limit", "stock"):
            _count(getattr(self, name), name)

    @property
    def currency(self) -> str:
        return self.threshold.currency

    def claimable(self, at: datetime) -> str | None:
        """Why the template cannot be claimed at `at`, or None."""
        if self.starts_at is not None and utc(at) < utc(self.starts_at):
            return NOT_STARTED
        if self.ends_at is not None and utc(at) >= utc(self.ends_at):
            return ENDED
        return None

    def validity(self, claimed_at: datetime) -> tuple[datetime | None, datetime]:
        """(valid from, expires at) of a coupon claimed at `claimed_at`."""
        if self.days_after_claim is not None:
            return utc(claimed_at), utc(claimed_at) + timedelta(days=self.days_after_claim)
        assert self.ends_at is not None
        return (None if self.starts_at is None else utc(self.starts_at)), utc(self.ends_at)


@dataclass(frozen=True, slots=True)
class HeldCoupon:
    """A coupon a user holds and may use now: what the pricing trial receives."""

    id: int
    code: str
    template: str
    display: str
    kind: str
    value: Money | None
    percent: Decimal | None
    cap: Money | None
    threshold: Money
    scope: str
    valid_from: datetime | None
    expires_at: datetime
    promotion: str | None


@dataclass(frozen=True, slots=True)
class CouponResult:
    """The outcome of a coupon operation: the coupon's status after it, why it was refused
    (None when it was not), and whether it had already been applied (`replayed`)."""

    coupon_id: int | None
    status: str | None
    reason: str | None = None
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class IssuedCodes:
    template: str
    codes: tuple[str, ...]
    reason: str | None = None
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class CouponInfo:
    """A coupon as it stands, whoever holds it (for operators, tests and order views)."""

    id: int
    template: str
    code: str
    user: str | None
    source: str  # claim | grant | code
    status: str
    order_id: str | None
    claimed_at: datetime | None
    valid_from: datetime | None
    expires_at: datetime | None
