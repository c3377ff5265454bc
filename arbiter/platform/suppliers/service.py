"""The suppliers module's API, gathered from its parts: contracts (onboard, get_supplier),
purchasing (purchase orders received into warehouses), dropship (push, tracking), real-time
purchase (the top-up gateway and its retries) and costs (statements).

Commits: `onboard`, `create_purchase_order`, `receive_purchase_order` and `upload_tracking`
are use cases complete by themselves and commit; `push_dropship` and `purchase_realtime` run
inside the caller's use case (fulfilment), which commits.
"""

from __future__ import annotations

from arbiter.platform.suppliers.contracts import (
    ACTIVE,
    DROPSHIP,
    KINDS,
    REALTIME_API,
    STOCK_PURCHASE,
    SUSPENDED,
    Contract,
    SupplierView,
    get_supplier,
    onboard,
)
from arbiter.platform.suppliers.costs import StatementLine, SupplierStatement, statement
from arbiter.platform.suppliers.dropship import (
    SHIPPED_EVENT,
    DropshipLine,
    DropshipRequest,
    dropships_of,
    get_dropship,
    push_dropship,
    upload_tracking,
)
from arbiter.platform.suppliers.purchasing import (
    PurchaseOrderView,
    create_purchase_order,
    get_purchase_order,
    receive_purchase_order,
)
from arbiter.platform.suppliers.realtime import (
    RealtimeResult,
    RechargeOutcome,
    SimulatedTopUp,
    TopUpGateway,
    purchase_realtime,
)

__all__ = [
    "ACTIVE", "DROPSHIP", "KINDS", "REALTIME_API", "SHIPPED_EVENT", "STOCK_PURCHASE", "SUSPENDED",
    "Contract", "DropshipLine", "DropshipRequest", "PurchaseOrderView", "RealtimeResult",
    "RechargeOutcome", "SimulatedTopUp", "StatementLine", "SupplierStatement", "SupplierView",
    "TopUpGateway", "create_purchase_order", "dropships_of", "get_dropship", "get_purchase_order",
    "get_supplier", "onboard", "purchase_realtime", "push_dropship", "receive_purchase_order",
    "statement", "upload_tracking",
]
