"""`POST /v1/decisions/{scene}` and `POST /v1/pricing/trial` on the demo rules, on SQLite and
on PostgreSQL + Redis: exact answers, and the problems for what a caller gets wrong."""

from __future__ import annotations

from typing import Any

from arbiter.api.wiring import default_rules_dir, read_rule_files
from arbiter.dsl.compiler import source_hash

from .conftest import Api, assert_problem, unique

DEMO_HASH = source_hash(read_rule_files(default_rules_dir()))


def decide(api: Api, scene: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("service", f"/v1/decisions/{scene}", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    decision: dict[str, Any] = response.json()
    latency = decision.pop("latency_us")
    assert isinstance(latency, float) and latency > 0
    return decision


def test_a_new_user_in_the_control_group_gets_the_v1_gift(api: Api) -> None:
    # `ctl-1` hashes into the control variant of the demo experiment home_popup_ab.
    body = {"context": {"user": {"id": "ctl-1", "registered_days": 3}}, "client": "ios"}
    assert decide(api, "home_popup", body) == {
        "scene": "home_popup",
        "effects": [
            {"type": "show", "content": "newbie_gift_pack", "slot": "home_popup"},
            {"type": "grant_coupon", "template": "newbie_30", "amount": {"amount": "30.00", "currency": "CNY"},
             "valid_for": 604800},
        ],
        "fired": ["home_popup_v1.new_user_gift"],
        "strategy": "home_popup_v1",
        "ruleset": {"version": 1, "hash": DEMO_HASH},
        "experiment": "home_popup_ab",
        "variant": "control",
        "score": None,
        "failed": False,
        "failure_policy": None,
        "reason": None,
        "trace": [],
    }


def test_the_treatment_group_is_served_v2_with_its_trace(api: Api) -> None:
    body = {"context": {"user": {"id": "trt-7", "registered_days": 200,
                                 "last_order_at": "2026-11-10T08:00:00+08:00"}}, "explain": True}
    decision = decide(api, "home_popup", body)
    assert (decision["strategy"], decision["variant"], decision["fired"]) == (
        "home_popup_v2", "treatment", ["home_popup_v2.brand_default"])
    assert decision["effects"] == [{"type": "show", "content": "brand_default", "slot": "home_popup"}]
    assert [(t["rule"], t["matched"], t["fired"]) for t in decision["trace"]] == [
        ("home_popup_v2.new_user_gift", False, False),
        ("home_popup_v2.student_offer", False, False),
        ("home_popup_v2.win_back", False, False),
        ("home_popup_v2.brand_default", True, True),
    ]


def test_unknown_scene_embedded_scene_and_foreign_client_are_problems(api: Api) -> None:
    unknown = assert_problem(api.post("service", "/v1/decisions/nowhere", json={}), 404, "engine.scene.unknown")
    assert unknown["detail"].startswith("unknown scene `nowhere`; scenes: ")
    named = unknown["detail"].split("scenes: ", 1)[1].split(", ")
    assert named == sorted(named) and {"cart", "checkout", "home_popup", "payment"} <= set(named)
    embedded = assert_problem(api.post("service", "/v1/decisions/checkout", json={}), 403, "engine.scene.client")
    assert embedded["detail"] == "scene `checkout` is reached embedded only, not api"
    client = assert_problem(api.post("service", "/v1/decisions/home_popup", json={"client": "pos"}), 403)
    assert client["detail"] == "client `pos` may not call scene `home_popup`"


def test_a_context_value_that_does_not_fit_names_the_tag(api: Api) -> None:
    response = api.post("service", "/v1/decisions/home_popup",
                        json={"context": {"user": {"id": "u1", "registered_days": "soon"}}})
    problem = assert_problem(response, 422, "validation")
    assert problem["detail"] == "1 field is not valid: body.context.user.registered_days"
    assert problem["errors"] == [{
        "location": ["body", "context", "user", "registered_days"],
        "pointer": "#/context/user/registered_days",
        "detail": "expected an integer, got 'soon'",
        "type": "context",
    }]
    wrong_shape = assert_problem(api.post("service", "/v1/decisions/home_popup",
                                          json={"context": {"user": 3}}), 422)
    assert wrong_shape["errors"][0]["location"] == ["body", "context", "user"]


PHONE_LINE = {"sku": "SKU-PHONE-X1-128", "shop": "shop-phone-001", "quantity": 1, "unit_price": "3999.00",
              "tags": {"category": "phone"}}


def cny(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


def test_trial_prices_a_phone_in_season_exactly(api: Api) -> None:
    response = api.post("service", "/v1/pricing/trial", json={"lines": [PHONE_LINE]})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["list_total"] == cny("3999.00")
    assert result["payable"] == cny("3699.00")
    assert result["savings"] == cny("300.00")
    assert result["lines"] == [{
        "id": "1", "sku": "SKU-PHONE-X1-128", "shop": "shop-phone-001", "quantity": 1,
        "list_total": cny("3999.00"), "payable": cny("3699.00"), "unit_payables": ["3699.00"],
        "allocations": [
            {"promotion": "phone_item_cut", "amount": cny("200.00"), "units": ["200.00"],
             "funding": {"platform": "100.00", "merchant": "100.00"}},
            {"promotion": "platform_every_cut", "amount": cny("100.00"), "units": ["100.00"],
             "funding": {"platform": "70.00", "merchant": "30.00"}},
        ],
    }]
    assert [(a["promotion"], a["discount"]["amount"], a["note"]) for a in result["applied"]] == [
        ("phone_gift", "0.00", "gift SKU-EARBUDS-1 worth 199"),
        ("phone_item_cut", "200.00", "per unit"),
        ("platform_every_cut", "100.00", "3799.00 is 18 x 200, capped at 100"),
    ]
    assert result["gifts"] == [
        {"promotion": "phone_gift", "sku": "SKU-EARBUDS-1", "value": cny("199.00"), "funding": {"merchant": "199.00"}}
    ]
    assert {x["promotion"]: x["reason"] for x in result["not_applied"]}["phone_presale"] == "outside window"
    assert (result["hints"], result["presale"], result["combinations"]) == ([], [], 4)


def test_a_trial_reads_budgets_and_consumes_nothing(api: Api) -> None:
    # 150 left of the item cut's budget: its 200 does not fit (strict policy); nothing moves.
    promotion = "phone_item_cut"
    api.services.budgets.define(promotion, _money("150.00"))
    try:
        for _ in range(2):
            result = api.post("service", "/v1/pricing/trial", json={"lines": [PHONE_LINE], "user": unique("u")}).json()
            assert result["payable"] == cny("3899.00")
            assert [x for x in result["not_applied"] if x["promotion"] == promotion] == [{
                "promotion": promotion, "display": "X1手机单品直降200元", "reason": "budget exhausted",
                "detail": "needs 200.00, 150.00 left",
            }]
        state = api.get("operator", f"/v1/budgets/{promotion}").json()
        assert (state["used"], state["remaining"]) == (cny("0.00"), cny("150.00"))
    finally:
        api.services.budgets.define(promotion, _money("500000.00"))


def _money(amount: str) -> Any:
    from decimal import Decimal

    from arbiter.money import Money

    return Money(Decimal(amount), "CNY")


def test_trial_problems_name_the_field(api: Api) -> None:
    bad_price = api.post("service", "/v1/pricing/trial", json={"lines": [{**PHONE_LINE, "unit_price": 3999.5}]})
    problem = assert_problem(bad_price, 422, "validation")
    assert problem["errors"][0]["location"] == ["body", "lines", 0, "unit_price"]
    empty = assert_problem(api.post("service", "/v1/pricing/trial", json={"lines": []}), 422)
    assert empty["errors"][0]["type"] == "too_short"
    many = assert_problem(api.post("service", "/v1/pricing/trial", json={"lines": [PHONE_LINE] * 201}), 422)
    assert many["errors"][0]["type"] == "too_long"
    unknown = assert_problem(api.post("service", "/v1/pricing/trial",
                                      json={"lines": [PHONE_LINE], "promotions": ["nope"]}), 422)
    assert unknown["detail"] == "unknown promotion(s): nope"
