"""Managed lists: block and allow lists of users, devices, IPs, cards and addresses that
operators keep at run time, each entry with a reason and an optional expiry; rules read them
with `user.id in list("blocklist")`.

A protocol with an in-memory implementation (embedded default, tests, backtests); the
persistent ones live in `arbiter.platform.risk`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class ListStore(Protocol):
    def contains(self, name: str, value: str, now: datetime) -> bool: ...


@dataclass(frozen=True, slots=True)
class ListEntry:
    name: str
    value: str
    reason: str
    added_by: str
    expires_at: datetime | None


class InMemoryLists:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], ListEntry] = {}

    def add(self, name: str, value: str, *, reason: str, by: str, expires_at: datetime | None = None) -> ListEntry:
        entry = ListEntry(name, value, reason, by, expires_at)
        self._entries[(name, value)] = entry
        return entry

    def remove(self, name: str, value: str) -> bool:
        return self._entries.pop((name, value), None) is not None

    def contains(self, name: str, value: str, now: datetime) -> bool:
        entry = self._entries.get((name, value))
        return entry is not None and (entry.expires_at is None or now < entry.expires_at)


class ListReader:
    """What compiled rules call: `contains(name, value)` at the decision's time."""

    def __init__(self, store: ListStore, now: datetime) -> None:
        self.store = store
        self.now = now

    def contains(self, name: str, value: Any) -> bool:
        return self.store.contains(name, str(value), self.now)
