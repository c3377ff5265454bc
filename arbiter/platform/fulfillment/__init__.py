"""Fulfilment (履约): where each paid order line ships from — our warehouse (入仓), the
supplier (代发) or a real-time purchase for virtual goods (实时采购) — and the shipments, their
tracking numbers and logistics events, synced to the order."""
