"""After-sales of self-operated goods over HTTP, on both backends: a user's X1 phone (paid
3669.00 on Singles' Day through platform calls) refunded before it ships, returned, refunded
without a return, and exchanged, each to the cent; the operator approves, rejects and
inspects; invoices; and the refusals a storefront must show (the field named, a 404 for
another user's order, a 409 saying why). Every call that refunds or restocks returns its
first answer again for the same `Idempotency-Key`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from arbiter.platform.db import UnitOfWork
from arbiter.platform.orders import records
from arbiter.platform.payments import service as payments

from .conftest import NOW, Api, assert_problem
from .test_fulfillment_routes import clock_at, cny, deliver, ok, on_hand, paid_phone

CASES = "/v1/aftersales/cases"


def delivered_phone(api: Api, phone: str) -> tuple[str, str, str]:
    """A paid phone shipped by the warehouse (over HTTP) and delivered by the carrier."""
    user, order, line = paid_phone(api, phone)
    ok(api.post("operator", f"/v1/fulfillment/orders/{order}/ship",
                json={"carrier": "YTO", "tracking_no": f"YT-{phone}"}))
    deliver(api, f"YT-{phone}")
    return user, order, line


def ask(api: Api, order: str, user: str, kind: str, key: str, **more: Any) -> Any:
    return api.post("service", CASES, json={"order_id": order, "user_id": user, "kind": kind,
                                            "reason": "不想要了", "key": key, **more})


def refunded(api: Api, order: str) -> tuple[str, str, str]:
    """(order status, refunded on the order, refunded by the payment)."""
    with UnitOfWork(api.services.database) as uow:
        found = records.require_order(uow, order)
        payment = payments.payment_of(uow, found.parent_id)
        assert payment is not None
        return found.status, str(found.refunded.amount), str(payment.refunded.amount)


def test_a_refund_before_shipment_pays_back_everything_at_once(shop: Api) -> None:
    user, order, line = paid_phone(shop, "13800139101")
    before = on_hand(shop)
    key = {"Idempotency-Key": f"as-{order}"}
    first = shop.post("service", CASES, json={"order_id": order, "user_id": user, "kind": "refund_before_shipment",
                                              "reason": "拍错了", "key": "k-1"}, headers=key)
    case = ok(first)
    assert (case["order_id"], case["user_id"], case["shop"], case["kind"], case["status"], case["lines"],
            case["amount"]) == (order, user, "arbiter-self", "refund_before_shipment", "refunded", [[line, 1]],
                                cny("3669.00"))
    assert [(s["from_status"], s["to_status"], s["by"]) for s in case["steps"]] == [
        ("", "requested", user), ("requested", "approved", "system"), ("approved", "refunded", "system")]
    assert case["steps"][-1]["note"] == "refunded 3669.00 CNY"
    again = shop.post("service", CASES, json={"order_id": order, "user_id": user, "kind": "refund_before_shipment",
                                              "reason": "拍错了", "key": "k-1"}, headers=key)
    assert (again.headers["Idempotent-Replayed"], again.json()) == ("true", case)
    # The request's own key finds the same case without the header too; nothing is refunded twice.
    assert ok(shop.post("service", CASES, json={"order_id": order, "user_id": user, "kind": "refund_before_shipment",
                                                "reason": "拍错了", "key": "k-1"})) == case
    assert refunded(shop, order) == ("closed", "3669.00", "3669.00")
    assert on_hand(shop) == (before[0], before[1] - 1)  # the phone locked for it is free again
    assert ok(shop.get("service", f"{CASES}/{case['id']}", params={"user_id": user})) == case
    assert ok(shop.get("service", f"/v1/users/{user}/aftersales")) == [case]
    assert_problem(shop.get("service", f"{CASES}/{case['id']}", params={"user_id": "u-other"}), 404)
    assert_problem(shop.post("operator", f"/v1/fulfillment/orders/{order}/ship",
                             json={"carrier": "YTO", "tracking_no": "YT-AS-1"}), 409)


def test_a_return_is_approved_shipped_back_inspected_and_refunded(shop: Api) -> None:
    user, order, line = delivered_phone(shop, "13800139102")
    shipped_out = on_hand(shop)
    case = ok(ask(shop, order, user, "return", "k-ret", lines=[{"line_id": line, "units": 1}]))
    assert (case["status"], case["amount"], case["lines"]) == ("requested", cny("3669.00"), [[line, 1]])
    listed = ok(shop.get("operator", CASES, params={"status": "requested", "order_id": order}))
    assert [c["id"] for c in listed] == [case["id"]]

    approved = ok(shop.post("operator", f"{CASES}/{case['id']}/approve", json={"note": "send it back"}))
    assert (approved["status"], approved["steps"][-1]["note"]) == ("approved", "send it back")
    assert refunded(shop, order) == ("delivered", "0.00", "0.00")  # nothing before the phone is back
    assert_problem(shop.post("service", f"{CASES}/{case['id']}/ship-back",
                             json={"user_id": "u-other", "carrier": "ZTO", "tracking_no": "ZT1234"}), 404)
    back = ok(shop.post("service", f"{CASES}/{case['id']}/ship-back",
                        json={"user_id": user, "carrier": "ZTO", "tracking_no": "ZT1234"}))
    assert (back["status"], back["return_tracking"]) == ("returning", "ZT1234")

    key = {"Idempotency-Key": f"inspect-{case['id']}"}
    first = shop.post("operator", f"{CASES}/{case['id']}/inspect", json={"passed": True, "note": "sealed"},
                      headers=key)
    done = ok(first)
    assert (done["status"], done["amount"], [s["to_status"] for s in done["steps"]]) == (
        "refunded", cny("3669.00"), ["requested", "approved", "returning", "inspecting", "refunded"])
    again = shop.post("operator", f"{CASES}/{case['id']}/inspect", json={"passed": True, "note": "sealed"},
                      headers=key)
    assert (again.headers["Idempotent-Replayed"], again.json()) == ("true", done)
    assert refunded(shop, order) == ("closed", "3669.00", "3669.00")
    assert on_hand(shop) == (shipped_out[0] + 1, shipped_out[1])  # restocked once
    late = assert_problem(shop.post("operator", f"{CASES}/{case['id']}/inspect", json={"passed": True}), 409)
    assert late["detail"] == f"case {case['id']} is refunded: nothing arrived to inspect"


def test_refund_only_is_refunded_on_approval_and_the_window_closes_after_seven_days(shop: Api) -> None:
    user, order, line = delivered_phone(shop, "13800139103")
    case = ok(ask(shop, order, user, "refund_only", "k-ro"))
    assert (case["status"], case["amount"], case["lines"]) == ("requested", cny("3669.00"), [[line, 1]])
    key = {"Idempotency-Key": f"approve-{case['id']}"}
    done = ok(shop.post("operator", f"{CASES}/{case['id']}/approve", json={}, headers=key))
    assert (done["status"], done["amount"]) == ("refunded", cny("3669.00"))
    again = shop.post("operator", f"{CASES}/{case['id']}/approve", json={}, headers=key)
    assert (again.headers["Idempotent-Replayed"], again.json()) == ("true", done)
    assert refunded(shop, order) == ("closed", "3669.00", "3669.00")
    twice = assert_problem(shop.post("operator", f"{CASES}/{case['id']}/approve", json={}), 409)
    assert twice["detail"] == f"case {case['id']} is refunded: only a requested case can be approved"

    late_user, late_order, _ = delivered_phone(shop, "13800139104")
    with clock_at(shop, NOW + timedelta(days=8)):
        closed = assert_problem(ask(shop, late_order, late_user, "refund_only", "k-late"), 409)
    assert closed["detail"] == "the 7-day after-sales window closed on 2026-11-18"


def test_an_exchange_sends_the_same_phone_again_and_refunds_nothing(shop: Api) -> None:
    user, order, line = delivered_phone(shop, "13800139105")
    shipped_out = on_hand(shop)
    case = ok(ask(shop, order, user, "exchange", "k-ex", reason="屏幕有坏点"))
    assert (case["status"], case["amount"]) == ("requested", cny("0.00"))
    ok(shop.post("operator", f"{CASES}/{case['id']}/approve", json={}))
    ok(shop.post("service", f"{CASES}/{case['id']}/ship-back",
                 json={"user_id": user, "carrier": "ZTO", "tracking_no": "ZT5678"}))
    done = ok(shop.post("operator", f"{CASES}/{case['id']}/inspect", json={"passed": True}))
    assert (done["status"], done["amount"]) == ("reshipped", cny("0.00"))
    assert on_hand(shop) == (shipped_out[0] + 1, shipped_out[1] + 1)  # back in, and locked for the replacement

    replacement = ok(shop.post("operator", f"/v1/fulfillment/orders/{order}/ship", json={
        "carrier": "YTO", "tracking_no": "YT-EX-105", "exchange_case": case["id"]},
        headers={"Idempotency-Key": f"reship-{case['id']}"}))
    assert (replacement["purpose"], replacement["status"], replacement["tracking_no"], replacement["lines"]) == (
        f"exchange:{case['id']}", "shipped", "YT-EX-105", [[line, 1]])
    assert on_hand(shop) == shipped_out
    parcels = ok(shop.get("service", f"/v1/fulfillment/orders/{order}/shipments", params={"user_id": user}))
    assert [(p["purpose"], p["tracking_no"]) for p in parcels] == [
        ("order", "YT-13800139105"), (f"exchange:{case['id']}", "YT-EX-105")]
    assert refunded(shop, order) == ("delivered", "0.00", "0.00")


def test_a_case_is_rejected_with_a_reason_and_a_failed_inspection_rejects_it(shop: Api) -> None:
    user, order, line = delivered_phone(shop, "13800139106")
    case = ok(ask(shop, order, user, "refund_only", "k-rej"))
    no_reason = assert_problem(shop.post("operator", f"{CASES}/{case['id']}/reject", json={"note": ""}), 422,
                               "validation")
    assert [e["pointer"] for e in no_reason["errors"]] == ["#/note"]
    rejected = ok(shop.post("operator", f"{CASES}/{case['id']}/reject", json={"note": "the phone was used"}))
    assert (rejected["status"], rejected["steps"][-1]["note"]) == ("rejected", "the phone was used")
    assert_problem(shop.post("operator", f"{CASES}/{case['id']}/approve", json={}), 409)

    # Rejected, the units may be asked for again: a return whose inspection fails is rejected.
    again = ok(ask(shop, order, user, "return", "k-rej-2"))
    ok(shop.post("operator", f"{CASES}/{again['id']}/approve", json={}))
    ok(shop.post("service", f"{CASES}/{again['id']}/ship-back",
                 json={"user_id": user, "carrier": "ZTO", "tracking_no": "ZT9999"}))
    failed = ok(shop.post("operator", f"{CASES}/{again['id']}/inspect",
                          json={"passed": False, "note": "cracked screen"}))
    assert (failed["status"], failed["steps"][-1]["note"]) == ("rejected", "cracked screen")
    assert refunded(shop, order) == ("delivered", "0.00", "0.00")
    mine = ok(shop.get("service", f"/v1/users/{user}/aftersales"))
    # Both made at the same instant of the fixed clock: oldest first does not order them.
    assert sorted((c["id"], c["status"]) for c in mine) == sorted([(case["id"], "rejected"), (again["id"], "rejected")])


def test_requests_name_what_is_wrong(shop: Api) -> None:
    user, order, line = delivered_phone(shop, "13800139107")
    swap = assert_problem(ask(shop, order, user, "swap", "k-bad"), 422, "validation")
    assert [e["pointer"] for e in swap["errors"]] == ["#/kind"]
    zero = assert_problem(ask(shop, order, user, "return", "k-bad", lines=[{"line_id": line, "units": 0}]), 422,
                          "validation")
    assert [e["pointer"] for e in zero["errors"]] == ["#/lines/0/units"]
    nowhere = assert_problem(ask(shop, order, user, "return", "k-bad", lines=[{"line_id": "9", "units": 1}]), 422)
    assert nowhere["detail"] == f"lines: order {order} has no line '9'"
    assert_problem(ask(shop, order, "u-someone-else", "return", "k-bad"), 404)
    assert_problem(ask(shop, "P-NOWHERE-1", user, "return", "k-bad"), 404)
    shipped = assert_problem(ask(shop, order, user, "refund_before_shipment", "k-bad"), 409)
    assert shipped["detail"] == ("the order is delivered: refund before shipment needs a paid, unshipped order")
    ok(ask(shop, order, user, "return", "k-open"))
    taken = assert_problem(ask(shop, order, user, "refund_only", "k-more", lines=[{"line_id": line, "units": 1}]),
                           409)
    assert taken["detail"] == f"line {line}: 0 unit(s) can still be asked for, not 1"
    assert_problem(shop.post("merchant", f"{CASES}/AS-NOWHERE/approve", json={}), 403, "forbidden")
    assert_problem(shop.post("operator", f"{CASES}/AS-NOWHERE/approve", json={}), 404)


def test_an_invoice_is_issued_once_for_what_was_paid(shop: Api) -> None:
    user, order, _line = paid_phone(shop, "13800139108")
    bad = assert_problem(shop.post("service", "/v1/aftersales/invoices", json={
        "order_id": order, "user_id": user, "title": "上海某某科技有限公司", "tax_id": "123"}), 422, "validation")
    assert [e["pointer"] for e in bad["errors"]] == ["#/tax_id"]
    issued = ok(shop.post("service", "/v1/aftersales/invoices", json={
        "order_id": order, "user_id": user, "title": "上海某某科技有限公司", "tax_id": "91310000MA1FL8XQ2K"}))
    assert (issued["order_id"], issued["title"], issued["tax_id"], issued["amount"]) == (
        order, "上海某某科技有限公司", "91310000MA1FL8XQ2K", cny("3669.00"))
    assert issued["number"].startswith("INV") and len(issued["number"]) == 15
    assert ok(shop.post("service", "/v1/aftersales/invoices", json={
        "order_id": order, "user_id": user, "title": "个人"})) == issued
    assert_problem(shop.post("service", "/v1/aftersales/invoices", json={
        "order_id": order, "user_id": "u-someone-else", "title": "个人"}), 404)



def test_a_merchant_shops_case_and_order_are_decided_in_its_back_office(shop: Api,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    user, order, _line = delivered_phone(shop, "13800139109")
    case = ok(ask(shop, order, user, "refund_only", "k-shop"))
    _user, unshipped, _ = paid_phone(shop, "13800139110")
    real = shop.services.platform()
    # As if the phone's shop were a merchant's: the platform's own shops are others.
    monkeypatch.setattr(shop.services, "platform", lambda: replace(real, self_operated=frozenset({"shop-elsewhere"})))
    for action in ("approve", "reject", "inspect"):
        refused = assert_problem(shop.post("operator", f"{CASES}/{case['id']}/{action}",
                                           json={"note": "x", **({"passed": True} if action == "inspect" else {})}),
                                 409)
        assert refused["detail"] == (f"case {case['id']} is shop arbiter-self's: it is decided at "
                                     f"/v1/shops/arbiter-self/cases/{case['id']}")
    assert ok(shop.get("operator", CASES, params={"order_id": order})) == []
    ship = assert_problem(shop.post("operator", f"/v1/fulfillment/orders/{unshipped}/ship",
                                    json={"carrier": "YTO", "tracking_no": "YT-M-1"}), 409)
    assert ship["detail"] == (f"order {unshipped} is shop arbiter-self's: its merchant ships it at "
                              f"/v1/shops/arbiter-self/orders/{unshipped}/ship")
    monkeypatch.undo()
    assert ok(shop.get("operator", f"{CASES}/{case['id']}"))["status"] == "requested"  # nothing changed
    assert ok(shop.post("operator", f"{CASES}/{case['id']}/approve", json={}))["status"] == "refunded"
