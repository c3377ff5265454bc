"""Credit over HTTP, on both backends: an application held for review and approved by an
operator opens a 5000.00 tier-B line; the installment trial then offers that user 3, 6 and
12 periods priced for tier B, each schedule to the cent; bad amounts and unknown
applications are refused with the field or the key named."""

from __future__ import annotations

from typing import Any

from .conftest import Api, assert_problem, unique

HELD = {"age": 25, "phone_verified": True, "monthly_income": {"amount": "6000.00", "currency": "CNY"},
        "registered_days": 30, "level": 3, "is_new_device": True}  # 20 + 10 + 20 + 10 - 10 = 50: review


def cny(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


def open_line(api: Api, user: str) -> dict[str, Any]:
    key = f"apply-{user}"
    held = api.post("service", "/v1/credit/applications", json={"user_id": user, "key": key, "facts": HELD})
    assert held.status_code == 200, held.text
    assert {k: held.json()[k] for k in ("status", "reason", "limit", "score")} == {
        "status": "review", "reason": "manual_credit_review", "limit": None, "score": 50}
    approved = api.post("operator", f"/v1/credit/applications/{key}/review",
                        json={"approve": True, "limit": cny("5000.00"), "tier": "B"})
    assert approved.status_code == 200, approved.text
    body: dict[str, Any] = approved.json()
    return body


def test_a_reviewed_application_opens_the_line_and_the_trial_prices_it_for_tier_b(api: Api) -> None:
    user = unique("u-credit")
    approved = open_line(api, user)
    assert (approved["status"], approved["limit"], approved["tier"]) == ("approved", cny("5000.00"), "B")
    again = api.post("operator", f"/v1/credit/applications/apply-{user}/review",
                     json={"approve": True, "limit": cny("5000.00"), "tier": "B"})
    assert again.json() == approved  # the same decision again changes nothing
    line = api.get("analyst", f"/v1/credit/lines/{user}").json()
    assert line == {"user_id": user, "status": "active", "limit": cny("5000.00"), "used": cny("0.00"),
                    "available": cny("5000.00"), "tier": "B", "overdue_days": 0}

    quote = api.post("service", "/v1/installments/quote", json={"user_id": user, "amount": cny("3000.00")})
    assert quote.status_code == 200, quote.text
    body = quote.json()
    assert (body["ok"], body["reason"], body["tier"], body["available"]) == (True, None, "B", cny("5000.00"))
    offers = {o["term"]: o for o in body["offers"]}
    assert sorted(offers) == [3, 6, 12]
    assert [(o["term_rate"], o["fee"]["amount"], o["first_payment"]["amount"]) for o in body["offers"]] == [
        ("0.023", "69.00", "1023.00"), ("0.045", "135.00", "522.50"), ("0.075", "225.00", "268.75")]
    for term, per_period in ((3, "1023.00"), (6, "522.50"), (12, "268.75")):
        periods = offers[term]["periods"]
        assert [p["number"] for p in periods] == list(range(1, term + 1))
        assert {p["total"]["amount"] for p in periods} == {per_period}
    assert offers[3]["interest_free"] is False and offers[3]["subsidy"] == cny("0.00")


def test_a_user_without_a_line_is_told_why_and_nothing_is_offered(api: Api) -> None:
    quote = api.post("service", "/v1/installments/quote",
                     json={"user_id": unique("u-no-line"), "amount": cny("3000.00")})
    assert quote.status_code == 200, quote.text
    assert (quote.json()["ok"], quote.json()["offers"]) == (False, [])
    assert quote.json()["reason"]


def test_a_rejected_application_says_why_and_opens_no_line(api: Api) -> None:
    user = unique("u-thin")
    answer = api.post("service", "/v1/credit/applications",
                      json={"user_id": user, "key": f"apply-{user}", "facts": {**HELD, "age": 16}})
    assert (answer.json()["status"], answer.json()["reason"]) == ("rejected", "credit_score_too_low")
    assert_problem(api.get("service", f"/v1/credit/lines/{user}"), 404)


def test_bad_credit_calls_name_what_was_wrong(api: Api) -> None:
    bad = api.post("service", "/v1/installments/quote", json={"user_id": "u-x", "amount": cny("3000.001")})
    assert_problem(bad, 422)
    assert "amount" in bad.text
    negative = api.post("service", "/v1/installments/quote", json={"user_id": "u-x", "amount": cny("-1.00")})
    assert_problem(negative, 422)
    unknown = api.post("operator", "/v1/credit/applications/apply-nobody/review",
                       json={"approve": False, "reason": "income_not_proven"})
    assert "apply-nobody" in assert_problem(unknown, 404)["detail"]
    no_limit = api.post("operator", "/v1/credit/applications/apply-nobody/review", json={"approve": True})
    assert_problem(no_limit, 422)
    extra = api.post("service", "/v1/credit/applications",
                     json={"user_id": "u-x", "key": "k-x", "facts": {"credit_limit": 99999}})
    assert "credit_limit" in assert_problem(extra, 422)["detail"] or "credit_limit" in extra.text
