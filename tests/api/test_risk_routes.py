"""The review queue and managed lists over HTTP (`arbiter.api.routes.risk`), on an app of the
demo rules with resumers registered, as the composition root will — on SQLite and on
PostgreSQL + Redis."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from arbiter.api.app import create_app
from arbiter.clock import FixedClock
from arbiter.platform.audit import service as audit
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys import service as keys
from arbiter.platform.risk import review

from .conftest import NOW, ROLES, Api, assert_problem, backend_settings, unique

RISKY = {"user": {"id": "u-risky", "risk_score": 85}, "passthrough": {"device_id": "dev-b"}}


@pytest.fixture(scope="module", params=["sqlite", "services"])
def risk_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with backend_settings(request.param, request, tmp_path_factory.mktemp("risk")) as settings:
        app = create_app(settings, clock=FixedClock(NOW))
        calls: list[tuple[str, str, bool]] = []
        resumers = review.Resumers()
        for kind in ("registration", "payment"):
            resumers.register(kind, lambda uow, subject, approved, now, kind=kind: calls.append(
                (kind, subject, approved)))
        app.state.review_resumers = resumers
        app.state.resumed = calls
        with TestClient(app, raise_server_exceptions=False) as client:
            api = Api(client, app, request.param)
            for role in ROLES:
                api.tokens[role] = api.key(role, "shop-1" if role == "merchant" else None)
            yield api


def key_id(api: Api, role: str) -> str:
    parsed = keys.parse_token(api.tokens[role])
    assert parsed is not None
    return parsed[0]


def open_case(api: Api, kind: str = "registration", *, sla: timedelta = timedelta(hours=24)) -> str:
    decision = api.services.engine.decide("register", RISKY, explain=True)
    with UnitOfWork(api.services.database) as uow:
        case_id = review.open_case(uow, decision, subject_kind=kind, subject_id=unique("subject"), sla=sla,
                                   now=NOW, key=unique("key"))
        uow.commit()
    return case_id


def test_only_operators_and_admins_reach_the_review_queue(risk_api: Api) -> None:
    case_id = open_case(risk_api)
    for role in ("service", "analyst", "merchant"):
        assert_problem(risk_api.get(role, "/v1/risk/review-cases"), 403, "forbidden")
        assert_problem(risk_api.post(role, f"/v1/risk/review-cases/{case_id}/approve", json={}), 403, "forbidden")
    assert_problem(risk_api.get(None, "/v1/risk/review-cases"), 401, "unauthenticated")
    for role in ("operator", "admin"):
        assert risk_api.get(role, f"/v1/risk/review-cases/{case_id}").status_code == 200
    assert risk_api.get("analyst", "/v1/risk/lists/user_blocklist").status_code == 200  # analysts read lists
    assert_problem(risk_api.put("analyst", "/v1/risk/lists/user_blocklist/entries/u1", json={"reason": "x"}), 403)


def test_a_case_is_shown_assigned_and_decided_once(risk_api: Api) -> None:
    resumed: list[tuple[str, str, bool]] = risk_api.app.state.resumed
    first, second = open_case(risk_api), open_case(risk_api, "payment")
    listed = risk_api.get("operator", "/v1/risk/review-cases", params={"status": "open", "scene": "register"})
    ids = [c["id"] for c in listed.json()]
    assert first in ids and second in ids
    shown = risk_api.get("operator", f"/v1/risk/review-cases/{first}").json()
    assert (shown["status"], shown["reasons"], shown["effects"]) == (
        "open", ["high_risk_score"], [{"type": "review", "reason": "high_risk_score"}])
    assert shown["explanation"]["fired"] == ["register_guard.risky_signup"]
    assert datetime.fromisoformat(shown["due_at"]) == NOW + timedelta(hours=24)
    operator, admin = key_id(risk_api, "operator"), key_id(risk_api, "admin")

    assigned = risk_api.post("admin", f"/v1/risk/review-cases/{first}/assign", json={"to": operator}).json()
    assert assigned["assignee"] == operator
    assert [(a["actor"], a["action"], a["note"]) for a in assigned["actions"]] == [
        ("system", "open", "high_risk_score"), (admin, "assign", f"to {operator}")]
    approved = risk_api.post("operator", f"/v1/risk/review-cases/{first}/approve", json={"note": "called her"})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["decided_by"], body["note"]) == ("approved", operator, "called her")
    subject = body["subject_id"]
    assert resumed.count(("registration", subject, True)) == 1
    again = risk_api.post("operator", f"/v1/risk/review-cases/{first}/approve", json={"note": "called her"})
    assert (again.status_code, again.json()["status"]) == (200, "approved")  # the same move, answered again
    refused = assert_problem(risk_api.post("admin", f"/v1/risk/review-cases/{first}/reject", json={"note": "no"}),
                             409, "risk.review.refused")
    assert (refused["detail"], refused["case_status"]) == ("already approved", "approved")
    assert len([c for c in resumed if c[1] == subject]) == 1

    assert_problem(risk_api.post("operator", f"/v1/risk/review-cases/{second}/reject", json={"note": " "}), 422)
    rejected = risk_api.post("operator", f"/v1/risk/review-cases/{second}/reject", json={"note": "device farm"})
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    assert ("payment", rejected.json()["subject_id"], False) in resumed
    assert_problem(risk_api.get("operator", "/v1/risk/review-cases/rc_missing"), 404, "risk.review.not_found")
    assert_problem(risk_api.post("operator", "/v1/risk/review-cases/rc_missing/approve", json={}), 404,
                   "risk.review.not_found")


def test_a_case_nobody_can_resume_is_refused_untouched(risk_api: Api) -> None:
    case_id = open_case(risk_api, "withdrawal")  # no resumer registered for withdrawals here
    body = assert_problem(risk_api.post("operator", f"/v1/risk/review-cases/{case_id}/approve"), 503,
                          "risk.review.no_resumer")
    assert "subject kind `withdrawal`" in body["detail"]
    assert risk_api.get("operator", f"/v1/risk/review-cases/{case_id}").json()["status"] == "open"
    with_filter = risk_api.get("operator", "/v1/risk/review-cases", params={"subject_kind": "withdrawal"}).json()
    assert [c["id"] for c in with_filter] == [case_id]
    assert_problem(risk_api.get("operator", "/v1/risk/review-cases", params={"status": "closed"}), 422, "validation")


def test_managed_lists_are_kept_over_http_and_audited(risk_api: Api) -> None:
    name = unique("device_blocklist")
    path = f"/v1/risk/lists/{name}/entries/dev-ring-9"
    expires = (NOW + timedelta(days=7)).isoformat()
    added = risk_api.put("operator", path, json={"reason": "chargeback ring", "expires_at": expires})
    assert added.status_code == 200, added.text
    entry: dict[str, Any] = added.json()
    assert (entry["value"], entry["reason"], entry["added_by"]) == ("dev-ring-9", "chargeback ring",
                                                                   key_id(risk_api, "operator"))
    assert datetime.fromisoformat(entry["expires_at"]) == NOW + timedelta(days=7)
    past = risk_api.put("operator", f"/v1/risk/lists/{name}/entries/dev-old",
                        json={"reason": "x", "expires_at": (NOW - timedelta(days=1)).isoformat()})
    assert "must expire after it is added" in assert_problem(past, 422)["detail"]
    assert [e["value"] for e in risk_api.get("analyst", f"/v1/risk/lists/{name}").json()] == ["dev-ring-9"]
    assert_problem(risk_api.call("operator", "DELETE", path), 422, "validation")  # a reason is required
    assert risk_api.call("operator", "DELETE", path, params={"reason": "appeal accepted"}).status_code == 204
    assert_problem(risk_api.call("operator", "DELETE", path, params={"reason": "again"}), 404, "risk.list.not_found")
    assert risk_api.get("operator", f"/v1/risk/lists/{name}").json() == []
    with UnitOfWork(risk_api.services.database) as uow:
        trail = [e for e in audit.entries(uow, action="risk_list.") if e.target.startswith(name)]
    assert [e.action for e in trail] == ["risk_list.remove", "risk_list.add"]  # latest first
