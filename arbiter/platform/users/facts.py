"""`user.*` facts: what the rules read about a user (see `rules/tags.rules`).

From the account: id, registered_at, registered_days, level, phone_verified. From the default
address (else the newest): region and city. From the live tags: `tags` (the set of live tag
names), orders_30d and last_order_at (the tag job's values; when the job's tag has expired
the fact is left out and the catalog's default applies). Credit facts are the credit
module's; login facts (is_new_device, failed_logins_1h) are added by the login.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.users.store import ADDRESSES, require_account
from arbiter.platform.users.tags import live_tags


def user_facts(uow: UnitOfWork, user_id: str, now: datetime) -> dict[str, Any]:
    """The `user` namespace of a decision context for this user at `now`. Reads only.
    Raises UserNotFound for an unknown id."""
    account = require_account(uow, user_id)
    now = utc(now)
    registered_at = as_utc(account.registered_at)
    assert registered_at is not None
    tags = live_tags(uow, user_id, now)
    facts: dict[str, Any] = {
        "id": account.id,
        "registered_at": registered_at,
        "registered_days": max(0, (now - registered_at).days),
        "level": account.level,
        "phone_verified": bool(account.phone_verified),
        "tags": frozenset(tags),
    }
    address = uow.session.execute(
        select(ADDRESSES.c.region, ADDRESSES.c.city).where(ADDRESSES.c.user_id == user_id)
        .order_by(ADDRESSES.c.is_default.desc(), ADDRESSES.c.position.desc(), ADDRESSES.c.id)
        .limit(1)).first()
    if address is not None:
        facts["region"], facts["city"] = address.region, address.city
    if "orders_30d" in tags:
        facts["orders_30d"] = int(tags["orders_30d"])
    if "last_order_at" in tags:
        facts["last_order_at"] = datetime.fromisoformat(tags["last_order_at"])
    return facts
