"""The installment flow end to end, on SQLite and PostgreSQL, the flow `arbiter demo` tells:
credit application and a 5000.00 line; a tablet at 3000.00 on Singles' Day paid on credit
in 3 periods at 2.3% (fee 69.00, 1023.00 a month); financed by the first eligible funder;
shipped and delivered; bill 1 repaid; returned and refunded — bills 2 and 3 closed, the line
whole again, the 1023.00 repaid returned as overpayment (溢缴款), the asset bought back from
the funder for 2000.00. Then the same purchase when every funder refuses, under each policy."""

from __future__ import annotations

from decimal import Decimal

from arbiter.money import Money
from arbiter.platform.credit import service as credit
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import installment_flow as flow
from arbiter.platform.funding import service as funding
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.orders import records
from arbiter.platform.payments import service as payments
from arbiter.platform.runtime import Platform
from tests.platform.flows.conftest import NOW

D = Decimal


def m(amount: str) -> Money:
    return Money.of(amount)


def ordered_id(story: flow.Story) -> str:
    return str(story.figures("ordered")["order"])


def test_a_tablet_in_three_installments_from_application_to_refund(any_platform: Platform) -> None:
    story = flow.installment_flow(any_platform, NOW, say=lambda _: None)
    assert story.figures("credit application 授信申请") == {"status": "review", "score": 50,
                                                          "reason": "manual_credit_review"}
    assert story.figures("credit line 循环额度") == {"limit": D("5000.00"), "tier": "B", "available": D("5000.00")}
    page = story.figures("product page 到手价")
    assert (page["list"], page["final"]) == (D("3130.00"), D("3000.00"))
    assert story.figures("installment trial 分期试算")["terms"] == {
        3: "1023.00 x 3 (fee 69.00, APR 13.7478%)",
        6: "522.50 x 6 (fee 135.00, APR 15.2677%)",
        12: "268.75 x 12 (fee 225.00, APR 13.5666%)",
    }
    assert story.figures("approved and deducted 分期支付审核 + 额度扣减") == {
        "channel": "credit_line", "drawn": D("3000.00"), "fee": D("69.00"), "available": D("2000.00")}
    financed = story.figures("financed 资产路由")
    assert (financed["funder"], financed["stage"], financed["principal"]) == ("trust_a", "payment", D("3000.00"))
    assert story.figures("bills 账单")["bills"] == [
        "1: 1023.00 due 2026-12-11", "2: 1023.00 due 2027-01-11", "3: 1023.00 due 2027-02-11"]
    assert story.figures("bill 1 repaid 还款") == {
        "amount": D("1023.00"), "principal": D("1000.00"), "fee": D("23.00"),
        "bills": ["paid", "open", "open"], "available": D("3000.00")}
    assert story.figures("credit refund 分期退款") == {
        "closed_bills": [2, 3], "bills": ["paid", "closed", "closed"], "available": D("5000.00"),
        "overpayment": D("1023.00"), "repurchase": D("2000.00"), "funder": "trust_a"}

    parent_id = str(story.figures("paid")["order"])
    with UnitOfWork(any_platform.db) as uow:
        assert records.require_order(uow, ordered_id(story)).status == "closed"
        payment = payments.payment_of(uow, parent_id)
        assert payment is not None and payment.refunded == m("3000.00")
        draw = credit.draw_of(uow, parent_id)
        assert draw is not None and draw.outstanding == m("0.00")
        [trust] = [f for f in funding.funders(uow) if f.code == "trust_a"]
        assert trust.outstanding == m("0.00")  # 1000.00 repaid, 2000.00 repurchased
        assert ledger.trial_balance(uow).balanced
        user = funding.asset_of(uow, parent_id)
        assert user is not None
        assert ledger.balance(uow, accounts.credit_receivable(user.user_id)) == m("0.00")
        assert ledger.balance(uow, accounts.user_overpayment(user.user_id)) == m("0.00")  # paid out


def test_every_funder_refuses_and_the_order_is_closed_before_shipment(any_platform: Platform) -> None:
    story = flow.installment_flow(any_platform, NOW, funders_refuse=True, policy="close", say=lambda _: None)
    assert story.figures("no funder: closed before shipment") == {
        "order": "closed", "payment": "succeeded", "payment_refunded": D("3000.00"), "available": D("5000.00")}
    assert "shipped" not in [title for title, _ in story.steps]
    parent_id = str(story.figures("paid")["order"])
    with UnitOfWork(any_platform.db) as uow:
        assert records.require_order(uow, ordered_id(story)).status == "closed"
        assert funding.asset_of(uow, parent_id) is None
        assert funding.bills_of(uow, parent_id) == []
        assert ledger.trial_balance(uow).balanced


def test_every_funder_refuses_and_the_platform_keeps_the_asset_after_shipment(any_platform: Platform) -> None:
    story = flow.installment_flow(any_platform, NOW, funders_refuse=True, policy="keep", say=lambda _: None)
    assert story.figures("approved and deducted 分期支付审核 + 额度扣减")["available"] == D("2000.00")
    financed = story.figures("financed 资产路由")
    assert financed == {"funder": "self_held", "stage": "shipment", "principal": D("3000.00"), "over_capacity": True}
    assert story.figures("bills 账单")["bills"] == [
        "1: 1023.00 due 2026-12-12", "2: 1023.00 due 2027-01-12", "3: 1023.00 due 2027-02-12"]
    assert story.figures("delivered")["status"] == "delivered"
    parent_id = str(story.figures("paid")["order"])
    with UnitOfWork(any_platform.db) as uow:
        asset = funding.asset_of(uow, parent_id)
        assert asset is not None and asset.funder == "self_held" and asset.principal == m("3000.00")
        assert ledger.trial_balance(uow).balanced
