"""The marketplace merchant end to end, on SQLite and PostgreSQL, the flow `arbiter demo`
tells: application, review, deposit, the shop opens; a dress on sale with the shop's deals and
coupon; two users buy through cart, checkout and the cashier; the merchant ships; settlement
with 5% commission; a refund after settlement netted on the next statement; a withdrawal;
the score and the rules' review. Every figure is exact:

    order A  2 × 199.00 = 398.00, less 30.00 (shop 满300减30, merchant), 30.00 (new-user
             coupon, platform) and 40.00 (platform coupon): paid 298.00. Commission base
             398.00 - 30.00 = 368.00, commission 18.40, the merchant gets 349.60.
    order B  199.00 less 20.00 (shop coupon 满199减20, merchant) and 30.00 (new-user coupon):
             paid 149.00. Base 179.00, commission 8.95, the merchant gets 170.05.
    refund   one dress of A, 149.00 back to the user: base 184.00, commission 9.20 given
             back, 174.80 clawed back from the merchant after A was settled.
    statement 1 (A): 368.00 - 18.40 = 349.60;  statement 2: B 170.05 - A's 174.80 = -4.75,
    closing 344.85, all withdrawn.
    score    shipping 20 h (5 points), 1 case per 2 orders (1 point), rating 4.00:
             0.4 × 4 + 0.3 × 5 + 0.3 × 1 = 3.40, below 4: the rules flag it for review.
"""

from __future__ import annotations

from decimal import Decimal

from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import merchant_flow
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.merchants import operations as ops
from arbiter.platform.merchants import service as merchants
from arbiter.platform.runtime import Platform
from arbiter.platform.settlement import service as settlement
from tests.platform.flows.conftest import NOW

D = Decimal


def m(amount: str) -> Money:
    return Money.of(amount)


def test_the_merchant_flow_from_application_to_withdrawal(any_platform: Platform) -> None:
    story = merchant_flow.merchant_flow(any_platform, NOW, say=lambda _: None)
    assert story.figures("applied")["status"] == "applied"
    assert story.figures("reviewed") == {"status": "approved", "deposit_due": D("10000.00")}
    assert story.figures("deposit paid, shop open") == {"status": "active", "deposit": m("10000.00"), "cycle": "T+3"}
    assert story.figures("goods on sale")["stock"] == (50, 0)
    assert story.figures("shop promotions") == {"live": {
        "fashion_shop_coupon": "active", "fashion_threshold_cut": "active", "fashion_threshold_discount": "active"},
        "coupons": ["fashion_20"]}

    ordered = [figures for title, figures in story.steps if title == "ordered"]
    assert [(o["payable"], o["discount"], o["by_funder"]) for o in ordered] == [
        (D("298.00"), D("100.00"), {"merchant": D("30.00"), "platform": D("70.00")}),
        (D("149.00"), D("50.00"), {"merchant": D("20.00"), "platform": D("30.00")}),
    ]
    assert [o["promotions"] for o in ordered] == [["fashion_threshold_cut", "newbie_coupon", "platform_coupon_40"],
                                                  ["fashion_shop_coupon", "newbie_coupon"]]
    assert story.figures("settlement took the orders in") == {"commission": [D("8.95"), D("18.40")],
                                                             "status": ["open"]}
    assert [f["status"] for t, f in story.steps if t == "merchant shipped"] == ["shipped", "shipped"]
    assert story.figures("pre-settlement 预结算") == {"goods": m("368.00"), "commission": m("18.40"),
                                                     "net": m("349.60")}
    assert story.figures("statement 1") == {"id": "shop-fashion-001:2026-11-15", "goods": m("368.00"),
                                            "commission": m("18.40"), "net": m("349.60"), "closing": m("349.60"),
                                            "lines": 1}
    refund = story.figures("refund after settlement")
    assert (refund["status"], refund["amount"], refund["available"]) == ("refunded", D("149.00"), m("174.80"))
    assert story.figures("statement 2") == {"id": "shop-fashion-001:2026-11-17", "opening": m("349.60"),
                                            "goods": m("179.00"), "commission": m("8.95"), "refunds": m("-174.80"),
                                            "net": m("-4.75"), "closing": m("344.85")}
    withdrawal = story.figures("withdrawal")
    assert (withdrawal["amount"], withdrawal["status"], withdrawal["available"]) == (m("344.85"), "paid", m("0.00"))
    assert story.figures("score 评分") == {"score": D("3.40"), "shipping_hours": D("20.00"),
                                          "aftersales_rate": D("0.5000"), "rating": D("4.00")}
    review = story.figures("shop review 考核")
    assert review == {"effects": ['review(reason: "score_below_4")'], "status": "active",
                      "orders": {"completed": 2}, "sales": m("447.00"), "refunded": m("149.00")}

    with UnitOfWork(any_platform.db) as uow:
        actor = ops.acting(uow, merchant_flow.MERCHANT)
        first, second = ops.statements(uow, actor)
        [refunded] = [e for e in second.entries if e.kind == "refund"]
        [goods] = [e for e in second.entries if e.kind == "goods"]
        assert (refunded.units, refunded.base, refunded.commission, refunded.net) == (1, D("184.00"), D("9.20"),
                                                                                      D("-174.80"))
        assert (goods.units, goods.base, goods.commission, goods.net) == (1, D("179.00"), D("8.95"), D("170.05"))
        assert first.opening + first.net == first.closing  # nothing was withdrawn before statement 2
        assert second.opening + second.net == second.closing
        assert ops.balances(uow, actor) == settlement.Balances(m("0.00"), m("0.00"), m("10000.00"), m("0.00"))
        # the platform keeps 18.40 + 8.95 - 9.20 of commission
        assert ledger.balance(uow, accounts.COMMISSION_REVENUE) == m("18.15")
        assert [w.amount for w in ops.withdrawals(uow, actor)] == [m("344.85")]
        assert merchants.shop_facts(uow, merchant_flow.SHOP_CODE)["score"] == D("3.40")
        assert ledger.trial_balance(uow).balanced
