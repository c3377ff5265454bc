"""The collaborators the business flows share, wired once by a composition root (the API's
`Services`, the `arbiter demo` command, a test) and passed to the use cases: the database,
the decision engine serving the published rules, the budget store, the payment router and
verifier, the top-up supplier gateway, the clock, and when orders paid on credit are financed
(the funding policy). Nothing here connects by itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine as Database

from arbiter.clock import Clock
from arbiter.dsl.compiler import Ruleset
from arbiter.engine.engine import Engine
from arbiter.platform.funding.routing import FundingPolicy
from arbiter.platform.promotions.budgets import BudgetStore

SELF_OPERATED_SHOP = "arbiter-self"  # the platform's own shop (自营)


@dataclass
class Platform:
    db: Database
    decisions: Engine
    budgets: BudgetStore
    clock: Clock
    router: Any  # payments.Router
    verifier: Any  # payments.Verifier
    topup: Any = None  # suppliers.TopUpGateway, for virtual goods
    self_operated: frozenset[str] = field(default_factory=lambda: frozenset({SELF_OPERATED_SHOP}))
    order_timeout_minutes: int = 30
    funding_policy: FundingPolicy = field(default_factory=FundingPolicy)  # finance at payment; close if unfunded

    @property
    def ruleset(self) -> Ruleset:
        return self.decisions.ruleset
