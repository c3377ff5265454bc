"""Experiments over HTTP: the list with the status in force, stop and start (audited,
applied to the engine at once), and the report of what was decided."""

from __future__ import annotations

from .conftest import Api, assert_problem, unique


def variant_of(api: Api, user: str) -> tuple[str | None, str | None]:
    decision = api.post("service", "/v1/decisions/home_popup",
                        json={"context": {"user": {"id": user, "registered_days": 400}}}).json()
    return decision["variant"], decision["strategy"]


def test_list_stop_start_and_report(api: Api) -> None:
    [listed] = api.get("analyst", "/v1/experiments").json()
    assert listed == {
        "name": "home_popup_ab", "scene": "home_popup", "unit": "user.id", "traffic": "1",
        "declared_status": "running", "status": "running",
        "variants": [{"name": "control", "strategy": "home_popup_v1", "weight": 50},
                     {"name": "treatment", "strategy": "home_popup_v2", "weight": 50}],
    }
    assert variant_of(api, "trt-3") == ("treatment", "home_popup_v2")

    stopped = api.post("analyst", "/v1/experiments/home_popup_ab/stop", json={"why": "pause for a fix"})
    assert stopped.status_code == 200, stopped.text
    body = stopped.json()
    assert (body["status"], body["changed"], body["why"], body["changed_at"]) == (
        "stopped", True, "pause for a fix", "2026-11-11T12:00:00Z")
    assert variant_of(api, "trt-3") == (None, "home_popup_v1")  # the scene's default, at once
    assert api.get("operator", "/v1/experiments").json()[0]["status"] == "stopped"
    again = api.post("operator", "/v1/experiments/home_popup_ab/stop", json={"why": "again"}).json()
    assert (again["changed"], again["why"]) == (False, "pause for a fix")

    assert api.post("operator", "/v1/experiments/home_popup_ab/start", json={"why": "fixed"}).json()["changed"]
    users = [unique("unit") for _ in range(6)]
    seen = [variant_of(api, user)[0] for user in users]
    report = api.get("analyst", "/v1/experiments/home_popup_ab/report")
    assert report.status_code == 200, report.text
    figures = report.json()
    assert (figures["experiment"], figures["status"], figures["confidence"]) == ("home_popup_ab", "running", 0.95)
    units = {v["name"]: v["units"] for v in figures["variants"]}
    # trt-3 (twice) and every new unit, each counted once in its first variant.
    assert units == {"control": seen.count("control"), "treatment": seen.count("treatment") + 1}
    assert all(v["conversions"] == 0 and v["metric"] == "0" for v in figures["variants"])

    trail = api.get("admin", "/v1/audit", params={"action": "experiments."}).json()
    assert [(e["action"], e["target"], e["detail"]) for e in trail] == [
        ("experiments.start", "home_popup_ab", {"why": "fixed"}),
        ("experiments.stop", "home_popup_ab", {"why": "pause for a fix"}),
    ]


def test_unknown_experiment_and_bad_window_are_problems(api: Api) -> None:
    assert_problem(api.post("operator", "/v1/experiments/nope/start", json={"why": "x"}), 404, "experiments.unknown")
    assert_problem(api.get("analyst", "/v1/experiments/nope/report"), 404)
    window = api.get("analyst", "/v1/experiments/home_popup_ab/report",
                     params={"since": "2026-11-12T00:00:00Z", "until": "2026-11-11T00:00:00Z"})
    assert assert_problem(window, 422)["errors"][0]["location"] == ["query", "until"]
    assert_problem(api.post("operator", "/v1/experiments/home_popup_ab/start", json={}), 422)
