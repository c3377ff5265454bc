"""API keys: who may call the HTTP service, in which role and for which shop.

`models.py` owns the `api_keys` table; `service.py` creates, verifies, lists and revokes keys.
A key is shown once, at creation, as `ak_<id>_<secret>`; only the id and the SHA-256 of the
secret are stored.
"""
