"""The merchants module's use cases for the platform: onboarding and the lifecycle, the
score and the shop facts the rules read. What a merchant does for its own shop is in
`operations`."""

from __future__ import annotations

from arbiter.platform.merchants.facts import shop_facts, shop_type
from arbiter.platform.merchants.models import (
    ACTIVE,
    APPLIED,
    APPROVED,
    BRAND_FLAGSHIP,
    CLOSED,
    ENTERPRISE,
    INDIVIDUAL,
    REJECTED,
    RESTRICTED,
    STATUSES,
    SUSPENDED,
    TYPES,
)
from arbiter.platform.merchants.onboarding import (
    CYCLE_DAYS,
    DEPOSITS,
    REQUIRED,
    Change,
    Closing,
    MerchantView,
    apply,
    change_status,
    close,
    find,
    history,
    merchant,
    merchant_of_shop,
    merchants,
    pay_deposit,
    review,
)
from arbiter.platform.merchants.scores import (
    Score,
    ShopReview,
    compute_scores,
    measure,
    rate_order,
    review_shops,
    score_of,
)

__all__ = [
    "ACTIVE", "APPLIED", "APPROVED", "BRAND_FLAGSHIP", "CLOSED", "CYCLE_DAYS", "DEPOSITS", "ENTERPRISE",
    "INDIVIDUAL", "REJECTED", "REQUIRED", "RESTRICTED", "STATUSES", "SUSPENDED", "TYPES", "Change", "Closing",
    "MerchantView", "Score", "ShopReview", "apply", "change_status", "close", "compute_scores", "find", "history",
    "measure", "merchant", "merchant_of_shop", "merchants", "pay_deposit", "rate_order", "review", "review_shops",
    "score_of", "shop_facts", "shop_type",
]
