"""The root of arbiter's exceptions.

Expected business outcomes (not applicable, out of stock, declined) are values, never
exceptions. Exceptions are failures: bad input, broken invariants, unavailable stores.
HTTP status codes are chosen only in `arbiter.api`.
"""

from __future__ import annotations


class ArbiterError(Exception):
    """Base class of every error arbiter raises on purpose."""

    code = "arbiter.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class InvalidInput(ArbiterError):
    """The caller sent something malformed; nothing was changed."""

    code = "arbiter.invalid_input"


class CurrencyMismatch(ArbiterError):
    """Two amounts in different currencies were combined."""

    code = "money.currency_mismatch"


class NotFound(ArbiterError):
    """The thing named does not exist (or is not the caller's to see)."""

    code = "arbiter.not_found"


class Conflict(ArbiterError):
    """The request contradicts what was done before (a key reused with other fields, a state
    that moved on)."""

    code = "arbiter.conflict"
