"""Budgets and coupons over HTTP, and `Idempotency-Key` on the calls that move them: a repeat
answers the first response and moves nothing, another body under the same key is refused,
and two identical requests at once run once — on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from .conftest import Api, assert_problem, unique


def cny(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


def budget(api: Api, total: str = "50.00", uses: int | None = None) -> str:
    promotion = unique("budget")
    response = api.put("operator", f"/v1/budgets/{promotion}", json={"total": total, "uses": uses})
    assert response.status_code == 200, response.text
    assert response.json() == {"promotion": promotion, "total": cny(total), "used": cny("0.00"),
                               "remaining": cny(total), "uses_total": uses, "uses_used": 0}
    return promotion


def reserve(api: Api, promotion: str, order: str, amount: str, key: str | None = None,
            user: str = "u-1") -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return api.post("service", f"/v1/budgets/{promotion}/reserve", headers=headers,
                    json={"order_id": order, "amount": amount, "user": user})


def test_reserve_confirm_release_by_order_id(api: Api) -> None:
    promotion = budget(api)
    placed = reserve(api, promotion, "o-1", "20.00")
    assert placed.json() == {"ok": True, "promotion": promotion, "order_id": "o-1", "requested": cny("20.00"),
                             "granted": cny("20.00"), "status": "reserved", "reason": None, "replayed": False}
    assert reserve(api, promotion, "o-1", "20.00").json()["replayed"] is True  # the store is idempotent too
    refused = reserve(api, promotion, "o-2", "40.00").json()
    assert (refused["ok"], refused["status"], refused["reason"], refused["granted"]) == (
        False, "refused", "budget exhausted", cny("0.00"))
    paid = api.post("service", f"/v1/budgets/{promotion}/confirm", json={"order_id": "o-1"}).json()
    assert (paid["ok"], paid["status"]) == (True, "confirmed")
    late_timeout = api.post("service", f"/v1/budgets/{promotion}/release", json={"order_id": "o-1"}).json()
    assert (late_timeout["ok"], late_timeout["reason"]) == (False, "already confirmed")
    refund = api.post("service", f"/v1/budgets/{promotion}/release",
                      json={"order_id": "o-1", "after_confirm": True}).json()
    assert (refund["ok"], refund["status"], refund["granted"]) == (True, "released", cny("20.00"))
    state = api.get("analyst", f"/v1/budgets/{promotion}").json()
    assert (state["used"], state["remaining"], state["uses_used"]) == (cny("0.00"), cny("50.00"), 0)
    metrics = api.client.get("/metrics").text
    assert f'arbiter_budget_amount_total{{currency="CNY",operation="reserve",promotion="{promotion}"}} 20.0' in metrics
    assert_problem(reserve(api, unique("nobudget"), "o-1", "1.00"), 404, "promotions.budget.unknown")
    assert_problem(reserve(api, promotion, "o-3", "1.00005"), 422)  # four decimals at most


def test_an_idempotency_key_replays_the_first_response(api: Api) -> None:
    promotion = budget(api)
    key = unique("key")
    first = reserve(api, promotion, "o-1", "20.00", key)
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    repeat = reserve(api, promotion, "o-1", "20.00", key)
    assert repeat.status_code == 200 and repeat.headers["idempotent-replayed"] == "true"
    assert repeat.content == first.content and repeat.json()["replayed"] is False  # the very first answer
    reused = assert_problem(reserve(api, promotion, "o-2", "20.00", key), 422, "idempotency-key-reused")
    assert reused["detail"] == f"the key `{key}` was used for another request; use a new key for a new request"
    other_path = api.post("service", f"/v1/budgets/{promotion}/confirm", headers={"Idempotency-Key": key},
                          json={"order_id": "o-1"})
    assert_problem(other_path, 422, "idempotency-key-reused")
    # Keys belong to the caller: another service key may use the same one for its own request.
    other = api.key("service")
    mine = api.client.post(f"/v1/budgets/{promotion}/reserve", json={"order_id": "o-9", "amount": "1.00", "user": "u"},
                           headers={"X-API-Key": other, "Idempotency-Key": key})
    assert mine.status_code == 200 and mine.json()["order_id"] == "o-9"
    assert api.get("analyst", f"/v1/budgets/{promotion}").json()["used"] == cny("21.00")
    bad = reserve(api, promotion, "o-3", "1.00", "a key with spaces")
    assert assert_problem(bad, 422)["errors"][0]["location"] == ["header", "Idempotency-Key"]


def test_two_identical_requests_at_once_run_once(api: Api) -> None:
    promotion = budget(api, uses=10)
    key = unique("key")
    start = threading.Barrier(2)
    answers: list[httpx.Response] = []

    def send() -> None:
        start.wait()
        answers.append(reserve(api, promotion, "o-1", "20.00", key))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200, 200]
    # Run twice, the second run would have said `replayed: true` (the store saw the order).
    assert answers[0].content == answers[1].content and answers[0].json()["replayed"] is False
    assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == ["", "true"]
    state = api.get("analyst", f"/v1/budgets/{promotion}").json()
    assert (state["used"], state["uses_used"]) == (cny("20.00"), 1)


TEMPLATE: dict[str, Any] = {"kind": "new_user", "display": "新人券 满99减20", "threshold": "99.00",
                            "value": "20.00", "days_after_claim": 7, "claim_limit": 1, "stock": 100}


def test_templates_and_idempotent_claims(api: Api) -> None:
    code = unique("newbie")
    defined = api.put("operator", f"/v1/coupon-templates/{code}", json=TEMPLATE)
    assert defined.status_code == 200, defined.text
    assert defined.json() == {
        "code": code, "display": "新人券 满99减20", "kind": "new_user", "scope": "all", "currency": "CNY",
        "threshold": "99.00", "value": "20.00", "percent": None, "cap": None, "starts_at": None, "ends_at": None,
        "days_after_claim": 7, "claim_limit": 1, "device_limit": None, "stock": 100, "promotion": None,
    }
    assert api.get("analyst", f"/v1/coupon-templates/{code}").json() == defined.json()
    assert_problem(api.get("analyst", f"/v1/coupon-templates/{unique('none')}"), 404, "not-found")
    user, key = unique("u"), unique("key")
    first = api.post("service", "/v1/coupons/claim", headers={"Idempotency-Key": key},
                     json={"template": code, "user": user})
    assert first.json()["ok"] is True and first.json()["status"] == "available"
    repeat = api.post("service", "/v1/coupons/claim", headers={"Idempotency-Key": key},
                      json={"template": code, "user": user})
    assert repeat.content == first.content
    second = api.post("service", "/v1/coupons/claim", json={"template": code, "user": user}).json()
    assert second == {"ok": False, "coupon_id": None, "status": None, "reason": "claim limit", "replayed": False}
    trail = api.get("admin", "/v1/audit", params={"action": "coupon_templates.define"}).json()
    assert trail[0]["target"] == code and trail[0]["detail"]["role"] == "operator"
    bad = api.put("operator", f"/v1/coupon-templates/{code}", json={**TEMPLATE, "value": None})
    assert assert_problem(bad, 422)["detail"] == f"template {code}: give exactly one of value and percent"
