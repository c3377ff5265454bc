"""Imports every platform module's tables so that `create_schema` sees them all.

Each module owns its tables in its own `models.py`; add a line here when a module lands.
"""

from __future__ import annotations

import arbiter.platform.aftersales.models  # noqa: F401
import arbiter.platform.audit.models  # noqa: F401
import arbiter.platform.cart.models  # noqa: F401
import arbiter.platform.catalog.models  # noqa: F401
import arbiter.platform.credit.models  # noqa: F401
import arbiter.platform.decisions.models  # noqa: F401
import arbiter.platform.events.models  # noqa: F401
import arbiter.platform.experiments.models  # noqa: F401
import arbiter.platform.fulfillment.models  # noqa: F401
import arbiter.platform.funding.models  # noqa: F401
import arbiter.platform.idempotency.models  # noqa: F401
import arbiter.platform.inventory.models  # noqa: F401
import arbiter.platform.keys.models  # noqa: F401
import arbiter.platform.ledger.models  # noqa: F401
import arbiter.platform.merchants.models  # noqa: F401
import arbiter.platform.orders.models  # noqa: F401
import arbiter.platform.payments.models  # noqa: F401
import arbiter.platform.promotions.models  # noqa: F401
import arbiter.platform.risk.models  # noqa: F401
import arbiter.platform.rules.models  # noqa: F401
import arbiter.platform.settlement.models  # noqa: F401
import arbiter.platform.suppliers.models  # noqa: F401
import arbiter.platform.users.models  # noqa: F401
