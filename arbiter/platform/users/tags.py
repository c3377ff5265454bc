"""User tags (用户标签) and their lifecycle: written by the tag job (`tag_job.refresh_tags`),
by rules (a decision's `tag_user` effects) or by a caller; each carries its source, when it
was computed and when it expires. An expired tag is never read: it waits for the job to
compute it again (or stays gone).

None of these functions commits: they run inside the caller's use case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select

from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.sql import upsert
from arbiter.platform.users.store import TAGS, dialect
from arbiter.platform.users.validation import InvalidField
from arbiter.platform.users.views import TagView

JOB_SOURCES = ("orders", "profile")  # the tag job owns these and recomputes them
NEW_USER = "new_user"
NEW_USER_WINDOW = timedelta(days=7)
DECISION_TAG_TTL = timedelta(days=30)  # a rule's tag_user has no expiry of its own
TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,99}")


def tag_user(uow: UnitOfWork, user_id: str, tag: str, *, source: str, now: datetime,
             value: str = "true", expires_at: datetime | None = None) -> None:
    """Set (or replace) one tag of a user, in one statement."""
    if not isinstance(tag, str) or not TAG_NAME.fullmatch(tag):
        raise InvalidField("tag", f"{tag!r} is not a tag name (a letter, then letters, digits, _ . : -)")
    if not isinstance(source, str) or not 0 < len(source) <= 200:
        raise InvalidField("source", "must be 1 to 200 characters")
    if expires_at is not None and utc(expires_at) <= utc(now):
        raise InvalidField("expires_at", "must be after now")
    values = dict(user_id=user_id, tag=tag, value=str(value), source=source, computed_at=utc(now),
                  expires_at=None if expires_at is None else utc(expires_at))
    update = {k: v for k, v in values.items() if k not in ("user_id", "tag")}
    uow.session.execute(upsert(TAGS, dialect(uow), values, [TAGS.c.user_id, TAGS.c.tag], update))


def untag_user(uow: UnitOfWork, user_id: str, tag: str) -> bool:
    done = uow.session.execute(delete(TAGS).where(TAGS.c.user_id == user_id, TAGS.c.tag == tag))
    return bool(done.rowcount)  # type: ignore[attr-defined]


def apply_tag_effects(uow: UnitOfWork, user_id: str, effects: Iterable[Any], *, scene: str,
                      now: datetime) -> list[str]:
    """Write the `tag_user` effects of a decision of `scene` (source `decision:<scene>`);
    returns the tags written. `new_user` lives for the new-user window, any other for
    DECISION_TAG_TTL."""
    written = []
    for effect in effects:
        if getattr(effect, "name", None) != "tag_user":
            continue
        tag = effect.get("tag")
        ttl = NEW_USER_WINDOW if tag == NEW_USER else DECISION_TAG_TTL
        tag_user(uow, user_id, tag, source=f"decision:{scene}", now=now, expires_at=utc(now) + ttl)
        written.append(tag)
    return written


def _view(row: Any) -> TagView:
    computed = as_utc(row.computed_at)
    assert computed is not None
    return TagView(row.user_id, row.tag, row.value, row.source, computed, as_utc(row.expires_at))


def tags_of(uow: UnitOfWork, user_id: str, now: datetime, *, include_expired: bool = False) -> list[TagView]:
    """The user's live tags by name (with `include_expired`, the expired ones too)."""
    query = select(TAGS).where(TAGS.c.user_id == user_id).order_by(TAGS.c.tag)
    if not include_expired:
        query = query.where(or_(TAGS.c.expires_at.is_(None), TAGS.c.expires_at > utc(now)))
    return [_view(row) for row in uow.session.execute(query)]


def live_tags(uow: UnitOfWork, user_id: str, now: datetime) -> dict[str, str]:
    """Tag name -> value, live tags only."""
    return {view.tag: view.value for view in tags_of(uow, user_id, now)}
