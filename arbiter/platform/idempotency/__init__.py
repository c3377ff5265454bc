"""Idempotency records: the first response to a request made under an `Idempotency-Key`,
kept so that a repeat gets it back instead of acting twice. `models.py` owns the table;
`store.py` the SQL and Redis stores (an insert-first claim in both)."""
