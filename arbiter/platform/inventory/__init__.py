"""Warehousing (仓储): warehouses and the regions they serve, stock per SKU and warehouse
(on hand and locked), stock locks per order line (locked -> released | deducted -> returned),
and a journal of every movement, each idempotent by its key."""
