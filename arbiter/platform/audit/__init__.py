"""The audit trail: who did what, when, to what — publishing rules, changing lists and keys,
starting and stopping experiments. `models.py` owns the `audit_log` table; `service.py`
records and reads entries."""
