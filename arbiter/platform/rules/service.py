"""Use cases of ruleset versions: publish, save and publish a draft, roll back, diff, list.

Publishing checks and compiles first: a version that does not compile is refused with every
diagnostic (`RulesRejected`) and nothing is written, so no process can ever load it. A
publish allocates the next number, archives the version it replaces and inserts the new one
in one transaction. Two publishers racing (threads or processes, SQLite or PostgreSQL) are
kept apart by the database, never by a read-then-write: the number is unique and at most
one row may be published (a partial unique index), so the loser's insert fails and it
retries on a fresh view.

Versions are immutable: no use case edits sources, and a published row changes only its
status, to archived. A rollback republishes an earlier version's sources as a new version.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import col, select

from arbiter.clock import Clock
from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import Ruleset, compile_program, source_hash
from arbiter.dsl.diagnostics import Diagnostic
from arbiter.errors import ArbiterError, InvalidInput
from arbiter.platform.db import UnitOfWork
from arbiter.platform.rules.channel import announce
from arbiter.platform.rules.diff import RulesetDiff, diff_sources
from arbiter.platform.rules.models import ARCHIVED, DRAFT, PUBLISHED, RulesetVersion

MAX_ATTEMPTS = 50  # a publish that loses this many races in a row reports a failure


class RulesRejected(ArbiterError):
    """The rule files do not compile; `diagnostics` says why, `sources` lets them be shown."""

    code = "rules.rejected"

    def __init__(self, diagnostics: tuple[Diagnostic, ...], sources: Mapping[str, str]) -> None:
        errors = sum(1 for d in diagnostics if d.is_error)
        super().__init__(f"the rules have {errors} error(s); nothing was published")
        self.diagnostics = diagnostics
        self.sources = dict(sources)


class VersionNotFound(ArbiterError):
    code = "rules.version.not_found"


class UnchangedRules(InvalidInput):
    """What would be published is exactly what is published already."""

    code = "rules.unchanged"


class PublishConflict(ArbiterError):
    """Other publishers kept winning the race; nothing was published."""

    code = "rules.publish.conflict"


@dataclass(frozen=True, slots=True)
class Version:
    """One ruleset version as read from the table (detached from any session)."""

    number: int
    hash: str
    status: str
    sources: Mapping[str, str]
    why: str
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None
    rollback_of: int | None

    @classmethod
    def of(cls, row: RulesetVersion) -> Version:
        return cls(
            number=row.number,
            hash=row.hash,
            status=row.status,
            sources=json.loads(row.sources),
            why=row.why,
            created_by=row.created_by,
            created_at=_aware(row.created_at),
            published_by=row.published_by,
            published_at=_aware(row.published_at) if row.published_at else None,
            rollback_of=row.rollback_of,
        )


@dataclass(frozen=True, slots=True)
class PublishResult:
    version: Version
    archived: int | None  # the number of the version it replaced, if any
    warnings: tuple[Diagnostic, ...]
    ruleset: Ruleset  # compiled, for a caller that serves it at once
    notified: bool | None = None  # whether Redis was told; None when no client was given


@dataclass(frozen=True, slots=True)
class DraftResult:
    version: Version
    diagnostics: tuple[Diagnostic, ...]  # a draft is saved even when it does not compile

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time arbiter stores is UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _required(**values: str) -> None:
    for name, value in values.items():
        if not value or not value.strip():
            raise InvalidInput(f"`{name}` is required: every version records who and why")


def _validated_sources(sources: Mapping[str, str]) -> dict[str, str]:
    if not sources:
        raise InvalidInput("no rule files given")
    for name, text in sources.items():
        if not isinstance(name, str) or not isinstance(text, str) or not name:
            raise InvalidInput("rule files are given as {file name: text}")
    return dict(sources)


def compile_sources(sources: Mapping[str, str]) -> tuple[Ruleset, tuple[Diagnostic, ...]]:
    """Check and compile; RulesRejected with every diagnostic when there is any error."""
    result = check_sources(sources)
    if not result.ok:
        raise RulesRejected(result.diagnostics, sources)
    return compile_program(result), result.diagnostics


# ----------------------------------------------------------------------------- reading


def versions(uow: UnitOfWork) -> list[Version]:
    rows = uow.session.exec(select(RulesetVersion).order_by(col(RulesetVersion.number)))
    return [Version.of(row) for row in rows]


def current(uow: UnitOfWork) -> Version | None:
    """The published version, if any."""
    row = uow.session.exec(
        select(RulesetVersion).where(RulesetVersion.status == PUBLISHED)
    ).first()
    return Version.of(row) if row is not None else None


def current_number(uow: UnitOfWork) -> int | None:
    """Only the number of the published version: what a reloader polls for."""
    statement = select(func.max(RulesetVersion.number)).where(RulesetVersion.status == PUBLISHED)
    return uow.session.exec(statement).one()


def get(uow: UnitOfWork, number: int) -> Version:
    row = _row(uow, number)
    return Version.of(row)


def _row(uow: UnitOfWork, number: int) -> RulesetVersion:
    row = uow.session.exec(select(RulesetVersion).where(RulesetVersion.number == number)).first()
    if row is None:
        raise VersionNotFound(f"there is no ruleset version {number}")
    return row


def diff(uow: UnitOfWork, a: int, b: int) -> RulesetDiff:
    """What version `b` adds, removes and changes relative to version `a`."""
    old, new = get(uow, a), get(uow, b)
    return diff_sources(old.sources, new.sources, a=a, b=b)


# ----------------------------------------------------------------------------- writing


def publish(
    uow: UnitOfWork,
    sources: Mapping[str, str],
    *,
    by: str,
    why: str,
    clock: Clock,
    redis: Any | None = None,
) -> PublishResult:
    """Publish rule files as the next version; RulesRejected (nothing written) when they do
    not compile, UnchangedRules when they are what is published already."""
    _required(by=by, why=why)
    sources = _validated_sources(sources)
    ruleset, warnings = compile_sources(sources)
    return _publish_new(uow, sources, ruleset, warnings, by=by, why=why, clock=clock,
                        rollback_of=None, redis=redis)


def rollback(
    uow: UnitOfWork,
    number: int,
    *,
    by: str,
    why: str,
    clock: Clock,
    redis: Any | None = None,
) -> PublishResult:
    """Republish version `number`'s sources as a new version whose `rollback_of` is `number`."""
    _required(by=by, why=why)
    target = get(uow, number)
    if target.status == DRAFT:
        raise InvalidInput(f"version {number} is a draft that was never published; publish it instead")
    if target.status == PUBLISHED:
        raise UnchangedRules(f"version {number} is the published version already")
    ruleset, warnings = compile_sources(target.sources)
    return _publish_new(uow, target.sources, ruleset, warnings, by=by, why=why, clock=clock,
                        rollback_of=number, redis=redis)


def save_draft(
    uow: UnitOfWork, sources: Mapping[str, str], *, by: str, why: str, clock: Clock
) -> DraftResult:
    """Keep rule files as a draft version (even with errors: a draft is work in progress)."""
    _required(by=by, why=why)
    sources = _validated_sources(sources)
    diagnostics = check_sources(sources).diagnostics
    encoded = json.dumps(sources, ensure_ascii=False, sort_keys=True)

    def attempt() -> RulesetVersion:
        row = RulesetVersion(
            number=_next_number(uow), hash=source_hash(sources), status=DRAFT, sources=encoded,
            why=why, created_by=by, created_at=clock.now(),
        )
        uow.session.add(row)
        uow.session.flush()
        uow.commit()
        return row

    return DraftResult(Version.of(_retrying(uow, attempt)), diagnostics)


def publish_draft(
    uow: UnitOfWork,
    number: int,
    *,
    by: str,
    why: str,
    clock: Clock,
    redis: Any | None = None,
) -> PublishResult:
    """Publish draft `number` in place (draft -> published); it must compile."""
    _required(by=by, why=why)
    draft = get(uow, number)
    if draft.status != DRAFT:
        raise InvalidInput(f"version {number} is {draft.status}, not a draft")
    ruleset, warnings = compile_sources(draft.sources)

    def attempt() -> tuple[RulesetVersion, int | None]:
        archived = _archive_current(uow, ruleset.hash)
        promoted = uow.session.execute(
            update(RulesetVersion)
            .where(col(RulesetVersion.number) == number, col(RulesetVersion.status) == DRAFT)
            .values(status=PUBLISHED, why=why, published_by=by, published_at=clock.now())
        )
        if _rowcount(promoted) != 1:
            raise InvalidInput(f"version {number} is no longer a draft")
        uow.session.flush()
        uow.commit()
        uow.session.expire_all()
        return _row(uow, number), archived

    row, archived = _retrying(uow, attempt)
    return _result(row, archived, warnings, ruleset, redis)


def _publish_new(
    uow: UnitOfWork,
    sources: Mapping[str, str],
    ruleset: Ruleset,
    warnings: tuple[Diagnostic, ...],
    *,
    by: str,
    why: str,
    clock: Clock,
    rollback_of: int | None,
    redis: Any | None,
) -> PublishResult:
    encoded = json.dumps(sources, ensure_ascii=False, sort_keys=True)

    def attempt() -> tuple[RulesetVersion, int | None]:
        archived = _archive_current(uow, ruleset.hash)
        now = clock.now()
        row = RulesetVersion(
            number=_next_number(uow), hash=ruleset.hash, status=PUBLISHED, sources=encoded,
            why=why, created_by=by, created_at=now, published_by=by, published_at=now,
            rollback_of=rollback_of,
        )
        uow.session.add(row)
        uow.session.flush()
        uow.commit()
        return row, archived

    row, archived = _retrying(uow, attempt)
    return _result(row, archived, warnings, ruleset, redis)


def _result(
    row: RulesetVersion, archived: int | None, warnings: tuple[Diagnostic, ...],
    ruleset: Ruleset, redis: Any | None,
) -> PublishResult:
    # Announced only after the commit: a subscriber that wakes up must find the row.
    notified = announce(redis, row.number, row.hash) if redis is not None else None
    return PublishResult(Version.of(row), archived, warnings, ruleset, notified)


def _archive_current(uow: UnitOfWork, new_hash: str) -> int | None:
    """Archive the published version (if any) and return its number. The update is
    conditional on the row still being published: a racing publisher that got there first
    leaves nothing to update, and this attempt starts again."""
    row = uow.session.exec(
        select(RulesetVersion).where(RulesetVersion.status == PUBLISHED)
    ).first()
    if row is None:
        return None
    if row.hash == new_hash:
        raise UnchangedRules(f"these rules are version {row.number}, published already")
    result = uow.session.execute(
        update(RulesetVersion)
        .where(col(RulesetVersion.id) == row.id, col(RulesetVersion.status) == PUBLISHED)
        .values(status=ARCHIVED)
    )
    if _rowcount(result) != 1:
        raise _LostRace()
    return row.number


def _next_number(uow: UnitOfWork) -> int:
    highest = uow.session.exec(select(func.max(RulesetVersion.number))).one()
    return (highest or 0) + 1


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0))


class _LostRace(Exception):
    """Another publisher changed the published version between our read and our write."""


T = TypeVar("T")


def _retrying(uow: UnitOfWork, attempt: Callable[[], T]) -> T:
    """Run `attempt` (which commits) until it does not lose a race with another writer."""
    for tries in range(MAX_ATTEMPTS):
        try:
            return attempt()
        except (IntegrityError, _LostRace) as exc:
            uow.session.rollback()
            if isinstance(exc, IntegrityError) and not _is_race(exc):
                raise
        except OperationalError as exc:
            uow.session.rollback()
            if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
                raise
        except BaseException:
            uow.session.rollback()
            raise
        # Jittered backoff so that racing publishers stop colliding in lockstep.
        time.sleep(random.uniform(0, 0.002 * (tries + 1)))
    raise PublishConflict(f"gave up after {MAX_ATTEMPTS} attempts: other publishers kept winning")


def _is_race(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "ruleset_versions" in text and (
        "unique" in text or "duplicate" in text or "uq_ruleset_versions" in text
    )
