"""Funding over HTTP, on both backends: the demo funders put in by an operator; a 3000.00
purchase in 3 periods at 2.3% on a 5000.00 line, financed by trust_a, shows the user three
bills of 1023.00 due monthly; repaying bill 1 brings the line back to 3000.00 available and
gives the funder 1000.00 back, and the same Idempotency-Key again answers the same and changes
nothing; an early payoff costs 3023.00 on the day (46.00 of fees waived); an asset 200 days
old with nothing repaid goes to collections (bought back from trust_a for 3000.00), is
packaged at 3278.00 (209.00 of penalties) and sold. Bad input is refused with the field named."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from arbiter.money import Money
from arbiter.platform.credit import approval, limits
from arbiter.platform.db import UnitOfWork
from arbiter.platform.funding import service as funding

from .conftest import NOW, Api, assert_problem, unique

CLEAN = {"user": {"risk_score": 5, "level": 3}, "order": {"item_count": 1}}
FUNDERS = [("trust_a", "信托计划A", "trust", "1000000.00", 30, "0.06"),
           ("bank_b", "银行B 直贷", "direct_lending", "1000000.00", 20, "0.05"),
           ("factor_c", "保理公司C", "factoring", "1000000.00", 10, "0.08"),
           ("self_held", "自持资金", "self_held", "100000.00", 0, "0")]


def cny(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def define_funders(api: Api) -> None:
    for code, name, kind, capital, priority, price in FUNDERS:
        ok(api.put("operator", f"/v1/funding/funders/{code}",
                   json={"name": name, "kind": kind, "capital": cny(capital), "priority": priority, "price": price}))


def financed(api: Api, at: datetime = NOW) -> tuple[str, str]:
    """A user with a 5000.00 tier-B line who bought 3000.00 in 3 periods, financed at payment:
    (user id, order id)."""
    define_funders(api)
    platform = api.services.platform()
    user, order = unique("u-fund"), unique("o-fund")
    with UnitOfWork(platform.db) as uow:
        limits.grant(uow, user, Money.of("5000.00"), "B", now=at)
        paid = approval.approve_and_deduct(uow, platform.decisions, user_id=user, order_id=order,
                                           amount=Money.of("3000.00"), term=3, context=CLEAN, key=f"pay-{order}",
                                           now=at)
        assert paid.ok, paid.reason
        done = funding.finance(uow, platform.decisions, order_id=order, stage="payment",
                               policy=funding.FundingPolicy(), key=f"fund-{order}", now=at)
        uow.commit()
    assert (done.outcome, done.funder) == ("financed", "trust_a")
    return user, order


def funder(api: Api, code: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(api.get("analyst", f"/v1/funding/funders/{code}"))
    return found


def test_the_bills_of_a_financed_order_and_repaying_the_first(api: Api) -> None:
    user, order = financed(api)
    bills = ok(api.get("service", f"/v1/funding/users/{user}/bills"))
    assert [(b["number"], b["due_on"], b["status"], b["total"]["amount"], b["principal"]["amount"],
             b["fee"]["amount"], b["owed"]["amount"]) for b in bills] == [
        (1, "2026-12-11", "open", "1023.00", "1000.00", "23.00", "1023.00"),
        (2, "2027-01-11", "open", "1023.00", "1000.00", "23.00", "1023.00"),
        (3, "2027-02-11", "open", "1023.00", "1000.00", "23.00", "1023.00")]
    assert ok(api.get("service", f"/v1/credit/lines/{user}"))["available"] == cny("2000.00")
    lent = funder(api, "trust_a")["outstanding"]["amount"]

    key = {"Idempotency-Key": unique("repay")}
    body = {"amount": cny("1023.00"), "key": f"repay-{order}-1"}
    first = api.post("service", f"/v1/funding/assets/{order}/repayments", json=body, headers=key)
    repaid = ok(first)
    assert repaid == {"order_id": order, "ok": True, "reason": None, "expected": None, "amount": cny("1023.00"),
                      "principal": cny("1000.00"), "fee": cny("23.00"), "penalty": cny("0.00"),
                      "waived": cny("0.00"), "replayed": False}
    assert ok(api.get("service", f"/v1/credit/lines/{user}"))["available"] == cny("3000.00")
    back = funder(api, "trust_a")["outstanding"]["amount"]
    assert Money.of(lent) - Money.of(back) == Money.of("1000.00")

    again = api.post("service", f"/v1/funding/assets/{order}/repayments", json=body, headers=key)
    assert again.json() == repaid and again.headers["idempotent-replayed"] == "true"
    replayed = ok(api.post("service", f"/v1/funding/assets/{order}/repayments", json=body))
    assert replayed == {**repaid, "replayed": True}  # the same repayment key, without the header
    assert ok(api.get("service", f"/v1/credit/lines/{user}"))["available"] == cny("3000.00")
    assert funder(api, "trust_a")["outstanding"]["amount"] == back
    after = ok(api.get("operator", f"/v1/funding/users/{user}/bills"))
    assert [(b["status"], b["paid"]["amount"], b["owed"]["amount"]) for b in after] == [
        ("paid", "1023.00", "0.00"), ("open", "0.00", "1023.00"), ("open", "0.00", "1023.00")]

    held = ok(api.get("analyst", f"/v1/funding/assets/{order}"))
    assert {k: held["asset"][k] for k in ("user_id", "funder", "status", "term", "term_rate", "stage")} == {
        "user_id": user, "funder": "trust_a", "status": "financed", "term": 3, "term_rate": "0.023",
        "stage": "payment"}
    assert (held["asset"]["principal"], held["asset"]["fee"]) == (cny("3000.00"), cny("69.00"))
    assert held["bills"] == after
    assets = ok(api.get("analyst", "/v1/funding/funders/trust_a/assets", params={"status": "financed"}))
    assert order in [a["order_id"] for a in assets]


def test_payoff_partial_and_refused_repayments(api: Api) -> None:
    user, order = financed(api)
    assert ok(api.get("service", f"/v1/funding/assets/{order}/payoff")) == {
        "order_id": order, "amount": cny("3023.00")}  # the principal and the current period's fee
    path = f"/v1/funding/assets/{order}/repayments"
    mismatch = ok(api.post("service", path, json={"amount": cny("3069.00"), "key": unique("k"), "payoff": True}))
    assert (mismatch["ok"], mismatch["reason"], mismatch["expected"]) == (False, "payoff_amount_mismatch",
                                                                          cny("3023.00"))
    over = ok(api.post("service", path, json={"amount": cny("3069.01"), "key": unique("k")}))
    assert (over["ok"], over["reason"], over["principal"]) == (False, "more_than_owed", cny("0.00"))

    part = ok(api.post("service", path, json={"amount": cny("500.00"), "key": unique("k")}))
    assert (part["fee"], part["principal"]) == (cny("23.00"), cny("477.00"))
    assert ok(api.get("service", f"/v1/credit/lines/{user}"))["available"] == cny("2477.00")
    payoff = ok(api.get("service", f"/v1/funding/assets/{order}/payoff"))["amount"]
    assert payoff == cny("2523.00")  # 2523.00 principal; bill 1's fee was paid, bills 2 and 3's waived
    off = ok(api.post("service", path, json={"amount": payoff, "key": unique("k"), "payoff": True}))
    assert (off["ok"], off["principal"], off["fee"], off["waived"]) == (True, cny("2523.00"), cny("0.00"),
                                                                        cny("46.00"))
    assert ok(api.get("service", f"/v1/credit/lines/{user}"))["available"] == cny("5000.00")
    held = ok(api.get("operator", f"/v1/funding/assets/{order}"))
    assert held["asset"]["status"] == "repaid"
    assert [b["status"] for b in held["bills"]] == ["paid", "paid", "paid"]
    done = ok(api.post("service", path, json={"amount": cny("1.00"), "key": unique("k")}))
    assert (done["ok"], done["reason"]) == (False, "asset_repaid")


def test_bad_repayments_name_what_was_wrong(api: Api) -> None:
    _, order = financed(api)
    path = f"/v1/funding/assets/{order}/repayments"
    cents = assert_problem(api.post("service", path, json={"amount": cny("10.001"), "key": "k-1"}), 422, "validation")
    assert cents["errors"][0]["location"] == ["body", "amount", "amount"]
    zero = assert_problem(api.post("service", path, json={"amount": cny("0.00"), "key": unique("k")}), 422)
    assert "amount" in zero["detail"]
    usd = api.post("service", path, json={"amount": {"amount": "10.00", "currency": "USD"}, "key": unique("k")})
    assert "CNY" in assert_problem(usd, 422)["detail"]
    missing = assert_problem(api.post("service", path, json={"amount": cny("10.00")}), 422, "validation")
    assert missing["errors"][0]["location"] == ["body", "key"]
    nobody = api.post("service", "/v1/funding/assets/o-nobody/repayments", json={"amount": cny("1.00"), "key": "k-2"})
    assert "o-nobody" in assert_problem(nobody, 404)["detail"]
    assert_problem(api.get("service", "/v1/funding/assets/o-nobody/payoff"), 404, "not-found")
    used = unique("k")
    assert ok(api.post("service", path, json={"amount": cny("10.00"), "key": used}))["ok"] is True
    assert_problem(api.post("service", path, json={"amount": cny("20.00"), "key": used}), 409)
    key = {"Idempotency-Key": unique("idem")}
    assert ok(api.post("service", path, json={"amount": cny("10.00"), "key": unique("k")}, headers=key))["ok"]
    reused = api.post("service", path, json={"amount": cny("11.00"), "key": unique("k")}, headers=key)
    assert_problem(reused, 422, "idempotency-key-reused")


def test_a_funder_is_defined_and_its_capital_added_once_per_key(api: Api) -> None:
    code = unique("factor")
    terms = {"name": "保理公司D", "kind": "factoring", "capital": cny("1000.00"), "priority": -5, "price": "0.09"}
    made = ok(api.put("operator", f"/v1/funding/funders/{code}", json=terms))
    assert made == {"code": code, "name": "保理公司D", "kind": "factoring", "capital": cny("1000.00"),
                    "outstanding": cny("0.00"), "available": cny("1000.00"), "priority": -5, "price": "0.09",
                    "status": "active"}
    key = {"Idempotency-Key": unique("capital")}
    added = ok(api.post("operator", f"/v1/funding/funders/{code}/capital", json={"amount": cny("500.00")}, headers=key))
    assert (added["capital"], added["available"]) == (cny("1500.00"), cny("1500.00"))
    again = api.post("operator", f"/v1/funding/funders/{code}/capital", json={"amount": cny("500.00")}, headers=key)
    assert again.json() == added and again.headers["idempotent-replayed"] == "true"
    assert funder(api, code)["capital"] == cny("1500.00")
    assert code in [f["code"] for f in ok(api.get("analyst", "/v1/funding/funders"))]
    assert ok(api.get("analyst", f"/v1/funding/funders/{code}/assets")) == []

    usd = api.post("operator", f"/v1/funding/funders/{code}/capital",
                   json={"amount": {"amount": "5.00", "currency": "USD"}})
    assert "CNY" in assert_problem(usd, 422)["detail"]
    negative = api.post("operator", f"/v1/funding/funders/{code}/capital", json={"amount": cny("-5.00")})
    assert "amount" in assert_problem(negative, 422)["detail"]
    price = assert_problem(api.put("operator", f"/v1/funding/funders/{code}", json={**terms, "price": "1.5"}), 422)
    assert price["errors"][0]["location"] == ["body", "price"]
    kind = api.put("operator", f"/v1/funding/funders/{code}", json={**terms, "kind": "trust"})
    assert "factoring" in assert_problem(kind, 422)["detail"]
    define_funders(api)
    second = api.put("operator", f"/v1/funding/funders/{unique('held')}", json={**terms, "kind": "self_held"})
    assert "self_held" in assert_problem(second, 409)["detail"]
    assert_problem(api.get("operator", "/v1/funding/funders/nobody"), 404)
    assert_problem(api.post("operator", "/v1/funding/funders/nobody/capital", json={"amount": cny("1.00")}), 404)
    assert_problem(api.get("operator", "/v1/funding/funders/a:b"), 422, "validation")


def test_an_asset_long_overdue_is_bought_back_packaged_and_sold(api: Api) -> None:
    user, order = financed(api, at=NOW - timedelta(days=200))  # bills due 2026-05-25, 06-25, 07-25
    before = ok(api.get("service", f"/v1/funding/users/{user}/bills"))
    assert [(b["status"], b["days_overdue"]) for b in before] == [("overdue", 170), ("overdue", 139),
                                                                  ("overdue", 109)]
    key = {"Idempotency-Key": unique("collect")}
    moved = ok(api.post("operator", "/v1/funding/collections", json={"after_days": 90}, headers=key))
    assert moved == {"orders": [order]}
    again = api.post("operator", "/v1/funding/collections", json={"after_days": 90}, headers=key)
    assert again.json() == moved and again.headers["idempotent-replayed"] == "true"
    assert ok(api.post("operator", "/v1/funding/collections", json={"after_days": 90})) == {"orders": []}
    held = ok(api.get("analyst", f"/v1/funding/assets/{order}"))
    assert {k: held["asset"][k] for k in ("funder", "first_funder", "status", "repurchase_price")} == {
        "funder": "self_held", "first_funder": "trust_a", "status": "collections",
        "repurchase_price": cny("3000.00")}
    assert [b["penalty"]["amount"] for b in held["bills"]] == ["85.00", "69.50", "54.50"]  # 0.05% a day

    package_id = unique("pkg")
    package = ok(api.post("operator", "/v1/funding/packages", json={"package_id": package_id, "order_ids": [order]}))
    assert package == {"id": package_id, "face_value": cny("3278.00"), "orders": [order], "status": "open",
                       "buyer": None, "proceeds": None}
    sale = {"buyer": "agency-x", "proceeds": cny("1000.00")}
    key = {"Idempotency-Key": unique("sale")}
    sold = ok(api.post("operator", f"/v1/funding/packages/{package_id}/sale", json=sale, headers=key))
    assert sold == {**package, "status": "sold", "buyer": "agency-x", "proceeds": cny("1000.00")}
    assert api.post("operator", f"/v1/funding/packages/{package_id}/sale", json=sale, headers=key).json() == sold
    other = api.post("operator", f"/v1/funding/packages/{package_id}/sale", json={**sale, "proceeds": cny("900.00")})
    assert "agency-x" in assert_problem(other, 409)["detail"]
    assert ok(api.get("analyst", f"/v1/funding/packages/{package_id}")) == sold
    assert [b["status"] for b in ok(api.get("service", f"/v1/funding/users/{user}/bills"))] == ["closed"] * 3
    assert ok(api.get("analyst", f"/v1/funding/assets/{order}"))["asset"]["status"] == "sold"

    assert_problem(api.get("analyst", "/v1/funding/packages/pkg-nobody"), 404)
    not_in = api.post("operator", "/v1/funding/packages", json={"package_id": unique("pkg"), "order_ids": [order]})
    assert "collections" in assert_problem(not_in, 422)["detail"]
    days = assert_problem(api.post("operator", "/v1/funding/collections", json={"after_days": -1}), 422)
    assert days["errors"][0]["location"] == ["body", "after_days"]
