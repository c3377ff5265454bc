"""The review queue on SQLite and PostgreSQL: a `review` decision of the demo rules opens a
case with its explanation and SLA; approving or rejecting it resumes or cancels the subject
through the registered resumer, exactly once; overdue cases expire; two OS processes racing
on the same cases decide each exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from arbiter.clock import FixedClock
from arbiter.dsl.compiler import Ruleset
from arbiter.engine.decision import Decision
from arbiter.engine.engine import Engine as DecisionEngine
from arbiter.engine.velocity import InMemoryVelocity, record_event
from arbiter.errors import Conflict, InvalidInput
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.risk import review
from arbiter.platform.risk.review import DEFAULT_SLA, CaseNotFound, NoResumer, Resumers, Sla

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 11, 20, 0, tzinfo=UTC)
RISKY = {"user": {"id": "u3", "risk_score": 85}, "passthrough": {"device_id": "dev-b"}}


class Subjects:
    """What the order, payment, ... modules would do: here, remember each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bool, datetime]] = []
        self.resumers = Resumers()
        for kind in ("registration", "payment", "order"):
            self.resumers.register(kind, self._resumer(kind))

    def _resumer(self, kind: str) -> review.Resumer:
        def resume(uow: UnitOfWork, subject_id: str, approved: bool, now: datetime) -> None:
            assert uow.session.in_transaction()
            self.calls.append((kind, subject_id, approved, now))
        return resume


def decide(rules: Ruleset, scene: str, context: dict[str, Any], *, explain: bool = True,
           velocity: InMemoryVelocity | None = None) -> Decision:
    engine = DecisionEngine(rules, FixedClock(T0), version=7, velocity=velocity or InMemoryVelocity())
    return engine.decide(scene, context, explain=explain)


def open_one(db: Engine, decision: Decision, subject: str, *, kind: str = "registration",
             key: str | None = None, sla: Sla | timedelta = DEFAULT_SLA, at: datetime = T0) -> str:
    with UnitOfWork(db) as uow:
        case_id = review.open_case(uow, decision, subject_kind=kind, subject_id=subject, sla=sla, now=at,
                                   key=key or f"{kind}:{subject}")
        uow.commit()
    return case_id


def get(db: Engine, case_id: str) -> review.Case:
    with UnitOfWork(db) as uow:
        found = review.case(uow, case_id)
    assert found is not None
    return found


def test_a_review_decision_opens_a_case_with_its_explanation(db: Engine, demo_rules: Ruleset) -> None:
    decision = decide(demo_rules, "register", RISKY)
    case_id = open_one(db, decision, "reg-u3")
    assert case_id.startswith("rc_") and len(case_id) == 27
    case = get(db, case_id)
    assert (case.scene, case.subject_kind, case.subject_id, case.status) == ("register", "registration", "reg-u3", "open")
    assert case.reasons == ("high_risk_score",)
    assert case.effects == ({"type": "review", "reason": "high_risk_score"},)
    assert (case.opened_at, case.due_at) == (T0, T0 + timedelta(hours=24))
    assert (case.assignee, case.decided_by, case.decided_at, case.note) == (None, None, None, None)
    explanation = case.explanation
    assert explanation["strategy"] == "register_guard"
    assert explanation["fired"] == ["register_guard.risky_signup"]
    assert explanation["ruleset"] == {"version": 7, "hash": demo_rules.hash}
    rules = {t["rule"]: t for t in explanation["trace"]}
    assert [t["rule"] for t in explanation["trace"]] == [
        "register_guard.emulator_or_blocked", "register_guard.device_farm", "register_guard.risky_signup",
        "register_guard.welcome"]
    assert (rules["register_guard.risky_signup"]["matched"], rules["register_guard.welcome"]["matched"]) == (True, True)
    assert rules["register_guard.emulator_or_blocked"]["matched"] is False
    assert {"expr": "user.risk_score", "value": 85} in [
        {"expr": p["expr"], "value": p["value"]} for p in rules["register_guard.risky_signup"]["parts"]]
    assert [a.to_json() for a in case.actions] == [
        {"at": T0.isoformat(), "actor": "system", "action": "open", "note": "high_risk_score"}]
    with UnitOfWork(db) as uow:
        opened = events.read(uow, ("risk.review.opened",))
    assert [(e.subject, e.payload["subject_id"], e.payload["due_at"]) for e in opened] == [
        (case_id, "reg-u3", "2026-11-12T20:00:00+00:00")]


def test_opening_is_idempotent_by_key_and_does_not_commit(db: Engine, demo_rules: Ruleset) -> None:
    decision = decide(demo_rules, "register", RISKY)
    first = open_one(db, decision, "reg-u3", key="k1")
    assert open_one(db, decision, "reg-u3", key="k1", at=T0 + timedelta(minutes=5)) == first
    with UnitOfWork(db) as uow:
        assert [c.id for c in review.list_cases(uow)] == [first]
        assert len(review.case(uow, first).actions) == 1  # type: ignore[union-attr]
        with pytest.raises(Conflict, match="key `k1` opened case") as refused:
            review.open_case(uow, decision, subject_kind="registration", subject_id="reg-other", now=T0, key="k1")
        assert refused.value.code == "risk.review.key_reused"
    with UnitOfWork(db) as uow:  # opened, then left without a commit: nothing stays
        review.open_case(uow, decision, subject_kind="registration", subject_id="reg-u4", now=T0, key="k2")
    with UnitOfWork(db) as uow:
        assert [c.subject_id for c in review.list_cases(uow)] == ["reg-u3"]


def test_the_sla_is_set_per_scene(db: Engine, demo_rules: Ruleset) -> None:
    decision = decide(demo_rules, "register", RISKY)
    assert DEFAULT_SLA.due("payment", T0) == T0 + timedelta(minutes=30)
    assert DEFAULT_SLA.due("credit_apply", T0) == T0 + timedelta(hours=24)
    assert DEFAULT_SLA.due("home_popup", T0) == T0 + timedelta(hours=24)  # the default
    quick = Sla({"register": timedelta(minutes=10)}, default=timedelta(hours=1))
    assert get(db, open_one(db, decision, "a", sla=quick)).due_at == T0 + timedelta(minutes=10)
    assert get(db, open_one(db, decision, "b", sla=timedelta(hours=3))).due_at == T0 + timedelta(hours=3)
    with pytest.raises(InvalidInput, match="the SLA of scene `register` must be more than zero"):
        Sla({"register": timedelta(0)})


def test_what_cannot_open_a_case_is_refused(db: Engine, demo_rules: Ruleset) -> None:
    welcome = decide(demo_rules, "register", {"user": {"id": "u4"}})
    unexplained = decide(demo_rules, "register", RISKY, explain=False)
    risky = decide(demo_rules, "register", RISKY)
    cases: list[tuple[Decision, dict[str, str], str]] = [
        (welcome, {}, "asks for no review"),
        (unexplained, {}, "decide with explain=True"),
        (risky, {"subject_kind": "parcel"}, "subject_kind: `parcel` is not one of order, payment"),
        (risky, {"subject_id": " "}, "subject_id: give 1 to 200 characters"),
        (risky, {"key": ""}, "key: give 1 to 200 characters"),
    ]
    with UnitOfWork(db) as uow:
        for decision, overrides, message in cases:
            args = {"subject_kind": "registration", "subject_id": "reg-1", "key": "k", **overrides}
            with pytest.raises(InvalidInput, match=message):
                review.open_case(uow, decision, now=T0, **args)  # type: ignore[arg-type]
        assert review.list_cases(uow) == []


def test_approving_resumes_the_subject_once(db: Engine, demo_rules: Ruleset) -> None:
    subjects = Subjects()
    case_id = open_one(db, decide(demo_rules, "register", RISKY), "reg-u3")
    later = T0 + timedelta(minutes=20)
    with UnitOfWork(db) as uow:
        assert review.assign(uow, case_id, "ops-li", T0 + timedelta(minutes=1)).ok
        assert review.assign(uow, case_id, "ops-wang", T0 + timedelta(minutes=2)).ok
        result = review.approve(uow, case_id, "ops-wang", "called the user", later, resumers=subjects.resumers)
    assert (result.ok, result.status, result.reason, result.replayed) == (True, "approved", None, False)
    assert subjects.calls == [("registration", "reg-u3", True, later)]
    with UnitOfWork(db) as uow:
        again = review.approve(uow, case_id, "ops-wang", "called the user", later, resumers=subjects.resumers)
        other = review.approve(uow, case_id, "ops-li", "", later, resumers=subjects.resumers)
        late_reject = review.reject(uow, case_id, "ops-li", "fraud after all", later, resumers=subjects.resumers)
        late_assign = review.assign(uow, case_id, "ops-zhao", later)
    assert (again.ok, again.replayed) == (True, True)
    assert [(r.ok, r.status, r.reason) for r in (other, late_reject, late_assign)] == [
        (False, "approved", "already approved")] * 3
    assert len(subjects.calls) == 1  # resumed once, whatever was asked after
    case = get(db, case_id)
    assert (case.status, case.assignee, case.decided_by, case.decided_at, case.note) == (
        "approved", "ops-wang", "ops-wang", later, "called the user")
    assert [(a.actor, a.action, a.note) for a in case.actions] == [
        ("system", "open", "high_risk_score"), ("ops-li", "assign", ""), ("ops-wang", "assign", "from ops-li"),
        ("ops-wang", "approve", "called the user")]
    with UnitOfWork(db) as uow:
        decided = events.read(uow, ("risk.review.approved", "risk.review.rejected"))
    assert [(e.kind, e.subject, e.payload["by"]) for e in decided] == [("risk.review.approved", case_id, "ops-wang")]


def test_rejecting_needs_a_note_and_cancels_the_subject(db: Engine, demo_rules: Ruleset) -> None:
    subjects = Subjects()
    case_id = open_one(db, decide(demo_rules, "register", RISKY), "reg-u3")
    with UnitOfWork(db) as uow:
        with pytest.raises(InvalidInput, match="note: say why the case is rejected"):
            review.reject(uow, case_id, "ops-li", "  ", T0, resumers=subjects.resumers)
        with pytest.raises(InvalidInput, match="operator: give 1 to 200 characters"):
            review.approve(uow, case_id, "", "", T0, resumers=subjects.resumers)
        result = review.reject(uow, case_id, "ops-li", "device farm", T0 + timedelta(hours=1), resumers=subjects.resumers)
    assert (result.ok, result.status) == (True, "rejected")
    assert subjects.calls == [("registration", "reg-u3", False, T0 + timedelta(hours=1))]
    case = get(db, case_id)
    assert (case.status, case.assignee, case.note) == ("rejected", "ops-li", "device farm")


def test_no_resumer_or_a_failing_one_changes_nothing(db: Engine, demo_rules: Ruleset) -> None:
    case_id = open_one(db, decide(demo_rules, "register", RISKY), "reg-u3")
    with UnitOfWork(db) as uow:
        with pytest.raises(NoResumer, match="no resumer is registered for subject kind `registration`"):
            review.approve(uow, case_id, "ops-li", "", T0, resumers=Resumers())

    def broken(uow: UnitOfWork, subject_id: str, approved: bool, now: datetime) -> None:
        raise RuntimeError("the registration service is down")

    with UnitOfWork(db) as uow:
        with pytest.raises(RuntimeError, match="down"):
            review.approve(uow, case_id, "ops-li", "", T0, resumers={"registration": broken})
    case = get(db, case_id)
    assert (case.status, [a.action for a in case.actions]) == ("open", ["open"])
    with UnitOfWork(db) as uow:
        with pytest.raises(CaseNotFound, match="review case rc_nope was not found") as missing:
            review.approve(uow, "rc_nope", "ops-li", "", T0, resumers=Subjects().resumers)
        assert missing.value.code == "risk.review.not_found"
        assert review.case(uow, "rc_nope") is None
    with pytest.raises(InvalidInput, match="a resumer for `order` is registered already"):
        Subjects().resumers.register("order", broken)
    with pytest.raises(InvalidInput, match="subject kind `parcel` is not one of"):
        Resumers().register("parcel", broken)


def test_overdue_cases_expire_and_their_subjects_are_cancelled(db: Engine, demo_rules: Ruleset) -> None:
    subjects = Subjects()
    decision = decide(demo_rules, "register", RISKY)
    early = open_one(db, decision, "a", sla=timedelta(minutes=10))
    late = open_one(db, decision, "b", sla=timedelta(minutes=30))
    done = open_one(db, decision, "c", sla=timedelta(minutes=5))
    due = T0 + timedelta(minutes=10)
    with UnitOfWork(db) as uow:
        assert review.reject(uow, done, "ops-li", "obvious farm", T0, resumers=subjects.resumers).ok
        # From the due time an approval is refused (the sweep will expire it); a rejection is not.
        refused = review.approve(uow, early, "ops-li", "", due, resumers=subjects.resumers)
        assert (refused.ok, refused.status, refused.reason) == (False, "open", review.OVERDUE)
        with pytest.raises(NoResumer):
            review.expire_overdue(uow, due, resumers={})
        assert review.expire_overdue(uow, due - timedelta(microseconds=1), resumers=subjects.resumers) == []
        assert review.expire_overdue(uow, due, resumers=subjects.resumers) == [early]
        assert review.expire_overdue(uow, T0 + timedelta(hours=1), resumers=subjects.resumers) == [late]
        assert review.expire_overdue(uow, T0 + timedelta(hours=2), resumers=subjects.resumers) == []
        assert [(c.subject_id, c.status) for c in review.list_cases(uow)] == [
            ("c", "rejected"), ("a", "expired"), ("b", "expired")]
    assert subjects.calls == [("registration", "c", False, T0), ("registration", "a", False, due),
                              ("registration", "b", False, T0 + timedelta(hours=1))]
    case = get(db, early)
    assert (case.status, case.decided_by, case.decided_at, case.note) == ("expired", "system", due, "past its SLA")
    assert [(a.actor, a.action, a.note) for a in case.actions][-1] == (
        "system", "expire", "due at 2026-11-11T20:10:00+00:00")
    assert not case.overdue(due) and get(db, late).status == "expired"


def test_cases_are_listed_by_status_and_scene_soonest_due_first(db: Engine, demo_rules: Ruleset) -> None:
    subjects = Subjects()
    register = decide(demo_rules, "register", RISKY)
    velocity = InMemoryVelocity()
    for i in range(3):  # three payments just below 10,000 today: the fourth is held
        record_event(demo_rules, velocity, "payment", {"user": {"id": "mule"}, "payment": {"amount": "9900"}},
                     T0 - timedelta(hours=3 - i), f"p{i}")
    payment = decide(demo_rules, "payment", {
        "user": {"id": "mule", "level": 3}, "order": {"amount": "9900", "subtotal": "9900", "item_count": 1},
        "payment": {"method": "alipay", "amount": "9900"}, "passthrough": {"ip": "10.1.2.3"},
    }, velocity=velocity)
    assert [str(e) for e in payment.effects] == ['review(reason: "structuring")', 'verify(method: "sms")']
    a = open_one(db, register, "reg-1")
    b = open_one(db, payment, "pay-1", kind="payment")
    c = open_one(db, payment, "pay-2", kind="payment", at=T0 + timedelta(minutes=1))
    with UnitOfWork(db) as uow:
        review.approve(uow, c, "ops-li", "", T0 + timedelta(minutes=2), resumers=subjects.resumers)
        assert [x.id for x in review.list_cases(uow)] == [b, c, a]
        assert [x.id for x in review.list_cases(uow, status="open")] == [b, a]
        assert [x.id for x in review.list_cases(uow, status="open", scene="payment")] == [b]
        assert [x.id for x in review.list_cases(uow, subject_kind="registration")] == [a]
        assert [x.id for x in review.list_cases(uow, limit=1)] == [b]
        with pytest.raises(InvalidInput, match="status: `closed` is not one of open, approved"):
            review.list_cases(uow, status="closed")
    held = get(db, b)
    assert (held.reasons, held.due_at, held.explanation["score"]) == (("structuring",), T0 + timedelta(minutes=30), 50)
    # The IP the rules looked at is kept as its network only.
    with db.connect() as connection:
        stored = connection.execute(select(review.CASES.c.explanation).where(review.CASES.c.id == b)).scalar_one()
    assert "10.1.2.3" not in stored and '"value": "10.1.*.*"' in stored


def test_two_processes_decide_each_case_exactly_once(db: Engine, demo_rules: Ruleset) -> None:
    decision = decide(demo_rules, "register", RISKY)
    with UnitOfWork(db) as uow:
        ids = [review.open_case(uow, decision, subject_kind="payment", subject_id=f"pay-{i}", now=T0, key=f"k{i}")
               for i in range(40)]
        uow.commit()
    url = db.url.render_as_string(hide_password=False)
    processes = [
        subprocess.Popen([sys.executable, "-m", "tests.platform.risk.review_race", url, side],
                         cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for side in ("approve", "reject")
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(json.dumps({"ids": ids, "start_at": time.time() + 0.5}) + "\n")
        process.stdin.flush()
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [p.returncode for p in processes] == [0, 0]
    approved, rejected = (json.loads(out) for out in outputs)
    if db.dialect.name == "postgresql":
        # One side goes forward, the other backward: each wins some, and they collide half-way.
        # (SQLite's writers queue on the file lock: there one side often takes every case.)
        assert 0 < sum(a["ok"] for a in approved.values()) < 40
    for case_id in ids:
        a, r = approved[case_id], rejected[case_id]
        assert [a["ok"], r["ok"]].count(True) == 1, (case_id, a, r)
        winner = "approved" if a["ok"] else "rejected"
        loser = r if a["ok"] else a
        assert (a["status"], r["status"], loser["reason"]) == (winner, winner, f"already {winner}")
        assert get(db, case_id).status == winner
    with UnitOfWork(db) as uow:
        resumed = events.read(uow, ("test.resumed",), limit=10_000)
        moves = uow.session.execute(select(func.count()).select_from(review.ACTIONS).where(
            review.ACTIONS.c.action.in_(("approve", "reject")))).scalar_one()
    assert moves == 40
    assert sorted(e.subject for e in resumed) == sorted(f"pay-{i}" for i in range(40))
    by_subject = {e.subject: e.payload["approved"] for e in resumed}
    assert by_subject == {f"pay-{i}": approved[case_id]["ok"] for i, case_id in enumerate(ids)}
