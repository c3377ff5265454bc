"""Users over HTTP, on both backends: registration as the `register` scene decides it
(created, held for review, refused with the reason), reading an account with its personal
data masked, and delivery addresses with the default first."""

from __future__ import annotations

import pytest

from .conftest import Api, assert_problem

PASSWORD = "s3cret-pass"


def register(api: Api, phone: str, **more: object) -> dict[str, object]:
    answer = api.post("service", "/v1/users", json={"phone": phone, "password": PASSWORD, **more})
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_a_person_registers_and_the_account_reads_masked(api: Api) -> None:
    done = register(api, "13800138201", passthrough={"device_id": "dev-users-1", "ip_region": "上海"})
    assert (done["ok"], done["status"], done["reason"], done["verification"]) == (True, "active", None, "sms")
    assert isinstance(done["challenge_id"], str) and done["challenge_id"]
    user = done["user_id"]
    shown = api.get("service", f"/v1/users/{user}")
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["id"], body["phone_masked"], body["status"]) == (user, "138****8201", "active")
    assert (body["level"], body["phone_verified"], body["real_name_masked"]) == (0, False, None)
    assert body["registered_at"].startswith("2026-11-11T12:00:00")
    assert PASSWORD not in shown.text and "13800138201" not in shown.text
    assert api.get("operator", f"/v1/users/{user}").json() == body
    assert_problem(api.get("analyst", f"/v1/users/{user}"), 403)
    assert_problem(api.get("service", "/v1/users/u-nobody"), 404)


def test_the_register_scene_refuses_or_holds_and_says_why(api: Api) -> None:
    emulator = register(api, "13800138202", passthrough={"device_id": "dev-users-2", "is_emulator": True})
    assert emulator == {"ok": False, "user_id": None, "status": None, "reason": "untrusted_device",
                        "verification": None, "challenge_id": None}
    clean = register(api, "13800138202", passthrough={"device_id": "dev-users-3"})  # nothing was kept
    assert (clean["ok"], clean["status"]) == (True, "active")
    taken = register(api, "13800138202", passthrough={"device_id": "dev-users-3"})
    assert (taken["ok"], taken["reason"], taken["user_id"]) == (False, "phone_already_registered", None)
    held = register(api, "13800138203", facts={"risk_score": 85}, passthrough={"device_id": "dev-users-4"})
    assert (held["ok"], held["status"], held["reason"]) == (True, "review", "high_risk_score")
    assert api.get("operator", f"/v1/users/{held['user_id']}").json()["status"] == "review"


@pytest.mark.parametrize(("body", "field"), [
    ({"phone": "23800138000", "password": PASSWORD}, "phone"),
    ({"phone": "1380013", "password": PASSWORD}, "phone"),
    ({"phone": "13800138204", "password": "Qz7#kp"}, "password"),
    ({"phone": "13800138204", "password": PASSWORD, "role": "admin"}, "role"),
])
def test_bad_registrations_name_the_field_and_never_echo_the_password(api: Api, body: dict[str, str],
                                                                      field: str) -> None:
    answer = api.post("service", "/v1/users", json=body)
    problem = assert_problem(answer, 422)
    assert field in answer.text
    assert body["password"] not in answer.text
    assert problem["status"] == 422


def test_addresses_default_first_and_only_the_users_own(api: Api) -> None:
    user = register(api, "13800138205", passthrough={"device_id": "dev-users-5"})["user_id"]
    path = f"/v1/users/{user}/addresses"
    home = {"name": "张三", "phone": "13800138205", "region": "上海", "city": "上海市", "detail": "浦东新区世纪大道100号"}
    first = api.post("service", path, json=home)
    assert first.status_code == 201, first.text
    assert {k: first.json()[k] for k in ("user_id", "region", "city", "is_default")} == {
        "user_id": user, "region": "上海", "city": "上海市", "is_default": True}
    office = api.post("service", path, json={**home, "region": "江苏", "city": "南京市", "detail": "鼓楼区中山路1号"})
    assert office.json()["is_default"] is False
    parents = api.post("service", path, json={**home, "region": "浙江", "city": "杭州市", "detail": "西湖区1号",
                                              "default": True})
    listed = api.get("service", path).json()
    assert [(a["id"], a["city"], a["is_default"]) for a in listed] == [
        (parents.json()["id"], "杭州市", True), (first.json()["id"], "上海市", False),
        (office.json()["id"], "南京市", False)]
    bad = api.post("service", path, json={**home, "phone": "12345"})
    assert "phone" in assert_problem(bad, 422)["detail"]
    assert len(api.get("service", path).json()) == 3
    assert_problem(api.post("service", path, json={**home, "detail": ""}), 422)
    assert_problem(api.post("service", "/v1/users/u-nobody/addresses", json=home), 404)
    assert_problem(api.get("service", "/v1/users/u-nobody/addresses"), 404)
    assert_problem(api.get("operator", path), 403)
