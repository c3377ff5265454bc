"""Ruleset versions over HTTP: publish (audited, served at once), refusals with diagnostics,
rollback, drafts, listing and diff — on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

from typing import Any

from arbiter.platform.keys import service as keys

from .conftest import Api, assert_problem

WELCOME = """\
tag user.tags: set { default [] }
effect show(content: string, slot: string)
scene home_popup { display "首页弹窗" access api }
strategy welcome {
  scene home_popup
  hit first
  rule new_user { when "new_user" in user.tags then show(content: "welcome", slot: "banner") }
}
"""


def key_id(api: Api, role: str) -> str:
    parsed = keys.parse_token(api.tokens[role])
    assert parsed is not None
    return parsed[0]


def without_times(version: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in version.items() if k not in ("created_at", "published_at", "hash")}


def test_publish_rollback_and_the_audit_trail(api: Api) -> None:
    operator = key_id(api, "operator")
    [demo] = api.get("analyst", "/v1/rules/versions").json()
    assert (demo["number"], demo["status"], demo["created_by"]) == (1, "published", "arbiter")

    published = api.post("operator", "/v1/rules/publish",
                         json={"files": {"rules/welcome.rules": WELCOME}, "why": "a smaller popup"})
    assert published.status_code == 201, published.text
    body = published.json()
    assert without_times(body["version"]) == {
        "number": 2, "status": "published", "why": "a smaller popup", "created_by": operator,
        "published_by": operator, "rollback_of": None, "files": ["rules/welcome.rules"],
    }
    assert (body["archived"], body["warnings"], body["serving"]) == (1, [], 2)
    # Served here at once.
    decision = api.post("service", "/v1/decisions/home_popup", json={"context": {"user": {"tags": ["new_user"]}}})
    assert (decision.json()["ruleset"]["version"], decision.json()["effects"]) == (
        2, [{"type": "show", "content": "welcome", "slot": "banner"}])

    again = api.post("operator", "/v1/rules/publish", json={"files": {"rules/welcome.rules": WELCOME}, "why": "x"})
    assert assert_problem(again, 409, "rules.unchanged")["detail"] == (
        "these rules are version 2, published already")

    diff = api.get("analyst", "/v1/rules/diff", params={"from": 1, "to": 2}).json()
    assert (diff["a"], diff["b"], diff["strategies"]["added"], diff["rules"]["added"]) == (
        1, 2, ["welcome"], ["welcome.new_user"])
    assert "+ strategies welcome" in diff["lines"] and "- strategies home_popup_v1" in diff["lines"]

    rolled = api.post("operator", "/v1/rules/rollback", json={"version": 1, "why": "back to the demo"})
    assert rolled.status_code == 201, rolled.text
    assert (rolled.json()["version"]["number"], rolled.json()["version"]["rollback_of"], rolled.json()["serving"]) == (
        3, 1, 3)
    assert_problem(api.post("operator", "/v1/rules/rollback", json={"version": 99, "why": "x"}),
                   404, "rules.version.not_found")
    assert [(v["number"], v["status"]) for v in api.get("operator", "/v1/rules/versions").json()] == [
        (1, "archived"), (2, "archived"), (3, "published")]
    detail = api.get("analyst", "/v1/rules/versions/2").json()
    assert detail["sources"] == {"rules/welcome.rules": WELCOME}

    trail = api.get("admin", "/v1/audit", params={"action": "rules."}).json()
    assert [(e["action"], e["actor"], e["target"]) for e in trail] == [
        ("rules.rollback", operator, "3"), ("rules.publish", operator, "2")]
    assert trail[1]["detail"] == {"hash": body["version"]["hash"], "why": "a smaller popup", "archived": 1,
                                  "rollback_of": None, "files": ["rules/welcome.rules"]}
    assert trail[1]["at"].startswith("2026-11-11T12:00:00")


def test_a_rejected_publish_returns_the_diagnostics_and_publishes_nothing(api: Api) -> None:
    before = api.get("operator", "/v1/rules/versions").json()
    broken = WELCOME.replace("in user.tags", "in user.tagz")
    response = api.post("operator", "/v1/rules/publish", json={"files": {"w.rules": broken}, "why": "typo"})
    problem = assert_problem(response, 422, "rules.rejected")
    assert problem["detail"] == "the rules have 1 error(s); nothing was published"
    assert problem["summary"] == "1 error, 0 warnings"
    assert problem["diagnostics"] == [{
        "code": "dsl.tag.unknown", "severity": "error",
        "message": "unknown tag `user.tagz`; did you mean `user.tags`?",
        "file": "w.rules", "line": 7, "column": 38, "end_line": 7, "end_column": 47,
        "hint": "tags in `user`: tags",
    }]
    assert api.get("operator", "/v1/rules/versions").json() == before
    missing_why = assert_problem(api.post("operator", "/v1/rules/publish", json={"files": {"w.rules": WELCOME}}), 422)
    assert missing_why["errors"][0]["location"] == ["body", "why"]


def test_drafts_are_saved_with_errors_and_published_once_they_compile(api: Api) -> None:
    broken = api.post("operator", "/v1/rules/drafts", json={"files": {"d.rules": "tag x"}, "why": "wip"})
    assert broken.status_code == 201, broken.text
    draft = broken.json()
    assert (draft["ok"], draft["summary"], draft["version"]["status"]) == (False, "1 error, 0 warnings", "draft")
    assert draft["diagnostics"][0]["code"] == "dsl.syntax.unexpected_end"
    refused = api.post("operator", f"/v1/rules/drafts/{draft['version']['number']}/publish", json={"why": "go"})
    assert_problem(refused, 422, "rules.rejected")

    good = api.post("operator", "/v1/rules/drafts",
                    json={"files": {"d.rules": WELCOME.replace("welcome", "hello")}, "why": "wip"}).json()
    assert good["ok"] is True
    number = good["version"]["number"]
    published = api.post("operator", f"/v1/rules/drafts/{number}/publish", json={"why": "reviewed"})
    assert published.status_code == 200, published.text
    assert (published.json()["version"]["number"], published.json()["version"]["status"],
            published.json()["serving"]) == (number, "published", number)
    trail = api.get("admin", "/v1/audit", params={"action": "rules.publish_draft"}).json()
    assert [(e["target"], e["detail"]["why"]) for e in trail] == [(str(number), "reviewed")]
