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
