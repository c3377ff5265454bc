"""What every store the engine reads through (assignments, velocity, lists) may raise."""

from __future__ import annotations


class StoreUnavailable(Exception):
    """A store cannot be reached right now; the scene's failure policy decides the answer."""
