"""The billing core: promotions applied to a cart, the exact best price, allocation, funding.

Pure: budgets and limits are read through a `BudgetView`; nothing is reserved here.
"""

from arbiter.engine.pricing.model import (
    BudgetView,
    Cart,
    CartLine,
    NoBudgets,
    PromotionStatus,
    TrialResult,
)
from arbiter.engine.pricing.trial import trial

__all__ = ["BudgetView", "Cart", "CartLine", "NoBudgets", "PromotionStatus", "TrialResult", "trial"]
