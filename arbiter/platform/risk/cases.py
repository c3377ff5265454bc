"""The values of the review queue (`arbiter.platform.risk.review`): a case and its trail as
read back, the outcome of a move, the SLA per scene, the registry of resumers, and the
errors; plus the masking of personal data in the explanation a case keeps."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from arbiter.errors import ArbiterError, InvalidInput, NotFound
from arbiter.platform.columns import utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.risk.models import OPEN, SUBJECT_KINDS

Resumer = Callable[[UnitOfWork, str, bool, datetime], None]

# Reasons a move is refused.
OVERDUE = "overdue: past its SLA, it can only be rejected or expire"


class CaseNotFound(NotFound):
    code = "risk.review.not_found"


class NoResumer(ArbiterError):
    """No resumer is registered for the case's subject kind: deciding it would leave the
    subject waiting forever, so nothing is changed."""

    code = "risk.review.no_resumer"


class Resumers(dict[str, Resumer]):
    """Subject kind -> how to resume (approved) or cancel (not) the waiting subject. The
    modules that hold subjects register themselves: `resumers.register("order", resume)`."""

    def register(self, kind: str, resumer: Resumer) -> None:
        if kind not in SUBJECT_KINDS:
            raise InvalidInput(f"subject kind `{kind}` is not one of {', '.join(SUBJECT_KINDS)}")
        if kind in self:
            raise InvalidInput(f"a resumer for `{kind}` is registered already")
        self[kind] = resumer


@dataclass(frozen=True, slots=True)
class Sla:
    """How long a case may wait for an operator, per scene (`default` for the others)."""

    by_scene: Mapping[str, timedelta] = field(default_factory=dict)
    default: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        for scene, wait in {**self.by_scene, "(default)": self.default}.items():
            if wait <= timedelta(0):
                raise InvalidInput(f"the SLA of scene `{scene}` must be more than zero, not {wait}")

    def due(self, scene: str, opened_at: datetime) -> datetime:
        return utc(opened_at) + self.by_scene.get(scene, self.default)


# A payment keeps the user at the cashier: half an hour. Orders and withdrawals wait for the
# working day; registrations and credit applications (授信) a day.
DEFAULT_SLA = Sla({
    "payment": timedelta(minutes=30),
    "order": timedelta(hours=2),
    "withdrawal": timedelta(hours=4),
    "fulfillment_route": timedelta(hours=4),
    "register": timedelta(hours=24),
    "credit_apply": timedelta(hours=24),
})


@dataclass(frozen=True, slots=True)
class CaseAction:
    at: datetime
    actor: str
    action: str  # open | assign | approve | reject | expire
    note: str

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "actor": self.actor, "action": self.action, "note": self.note}


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    scene: str
    subject_kind: str
    subject_id: str
    reasons: tuple[str, ...]
    effects: tuple[dict[str, Any], ...]
    explanation: dict[str, Any]
    opened_at: datetime
    due_at: datetime
    status: str
    assignee: str | None
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    actions: tuple[CaseAction, ...] = ()  # the trail, oldest first (filled by `case`)

    def overdue(self, now: datetime) -> bool:
        return self.status == OPEN and utc(now) >= self.due_at

    def to_json(self) -> dict[str, Any]:
        def when(at: datetime | None) -> str | None:
            return None if at is None else at.isoformat()

        return {
            "id": self.id, "scene": self.scene, "subject_kind": self.subject_kind, "subject_id": self.subject_id,
            "reasons": list(self.reasons), "effects": list(self.effects), "explanation": self.explanation,
            "opened_at": when(self.opened_at), "due_at": when(self.due_at), "status": self.status,
            "assignee": self.assignee, "decided_by": self.decided_by, "decided_at": when(self.decided_at),
            "note": self.note, "actions": [a.to_json() for a in self.actions],
        }


@dataclass(frozen=True, slots=True)
class ReviewResult:
    """The outcome of a move: the case's status after it, why it was refused (None when it
    was not), and whether it repeated a move already made (`replayed`)."""

    case_id: str
    status: str
    reason: str | None = None
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.reason is None


def masked(trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trace with IP addresses cut to their network (personal data is masked at rest)."""
    for rule in trace:
        for part in rule.get("parts", ()):
            if part.get("expr") == "passthrough.ip" and isinstance(part.get("value"), str):
                part["value"] = mask_ip(part["value"])
    return trace


def mask_ip(ip: str) -> str:
    """`10.1.2.3` -> `10.1.*.*`; an IPv6 address keeps its first three groups."""
    if "." in ip:
        return ".".join(ip.split(".")[:2] + ["*", "*"])
    groups = ip.split(":")
    return ":".join(groups[:3]) + ":*" if len(groups) > 3 else ip
