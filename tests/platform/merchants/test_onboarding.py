"""Onboarding and the lifecycle of a merchant: application, review with reasons, the deposit
on the shop's ledger account, restrict / suspend / reactivate with every change recorded,
and closing (claims from the deposit, the rest paid out). Bad input names what is wrong and
changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.platform.catalog import service as catalog
from arbiter.platform.catalog.service import SkuSpec, SpuSpec
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.merchants import service as merchants
from arbiter.platform.settlement import service as settlement
from arbiter.platform.settlement.service import PaidLine, PaidOrder

from .support import LICENCE, T0, apply, clothing, m, open_shop

D = timedelta(days=1)


def changes(uow: UnitOfWork, merchant_id: str) -> list[tuple[str | None, str, str, str]]:
    return [(c.from_status, c.to_status, c.reason, c.by) for c in merchants.history(uow, merchant_id)]


def test_application_review_and_deposit_open_the_shop(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        applied = apply(uow)
        assert (applied.status, applied.type, applied.categories, applied.deposit) == (
            "applied", "enterprise", ("coat", "dress"), m("10000.00"))
        assert apply(uow) == applied  # the same application again
        approved = merchants.review(uow, "m-a", approve=True, reasons=["licence verified"], by="reviewer-1", now=T0)
        assert approved.status == "approved" and not approved.open
        opened = merchants.pay_deposit(uow, "m-a", amount=m("10000.00"), reference="DEP-1", now=T0 + D)
        assert (opened.status, opened.opened_at) == ("active", T0 + D)
        assert settlement.balances(uow, "shop-a") == settlement.Balances(m("0.00"), m("0.00"), m("10000.00"),
                                                                         m("0.00"))
        assert ledger.balance(uow, accounts.CLEARING) == m("10000.00")  # held at the clearing institution
        assert settlement.shop_terms(uow, "shop-a") == settlement.ShopTerms("shop-a", 3, "net_next_cycle", "CNY")
        again = merchants.pay_deposit(uow, "m-a", amount=m("10000.00"), reference="DEP-1", now=T0 + 2 * D)
        assert again == opened and settlement.balances(uow, "shop-a").deposit == m("10000.00")
        with pytest.raises(Conflict, match="the deposit of shop-a was paid already, under receipt DEP-1"):
            merchants.pay_deposit(uow, "m-a", amount=m("10000.00"), reference="DEP-2", now=T0 + 2 * D)
        assert changes(uow, "m-a") == [
            (None, "applied", "applied", "m-a"),
            ("applied", "approved", "licence verified", "reviewer-1"),
            ("approved", "active", "deposit 10000.00 CNY paid (DEP-1): the shop opens", "platform"),
        ]


def test_each_type_shows_its_qualifications_and_pays_its_deposit(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        assert apply(uow, "m-i", "shop-i", type="individual").deposit == m("2000.00")
        assert apply(uow, "m-f", "shop-f", type="brand_flagship").deposit == m("50000.00")
        with pytest.raises(InvalidInput, match="a brand_flagship merchant must show trademark"):
            merchants.apply(uow, "m-g", name="G", type="brand_flagship", shop="shop-g", shop_name="G",
                            categories=["dress"], qualifications=LICENCE, now=T0)
        for merchant_id in ("m-i", "m-f"):
            merchants.review(uow, merchant_id, approve=True, reasons=[], by="reviewer-1", now=T0)
        merchants.pay_deposit(uow, "m-f", amount=m("50000.00"), reference="DEP-F", now=T0)
        assert settlement.shop_terms(uow, "shop-f").cycle_days == 1
        assert merchants.find(uow, "m-g") is None


def test_a_rejection_keeps_its_reasons_and_the_merchant_may_apply_again(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        apply(uow)
        with pytest.raises(InvalidInput, match="a rejection says why"):
            merchants.review(uow, "m-a", approve=False, reasons=[" "], by="reviewer-1", now=T0)
        rejected = merchants.review(uow, "m-a", approve=False, reasons=["licence expired", "blurred scan"],
                                    by="reviewer-1", now=T0)
        assert rejected.status == "rejected"
        with pytest.raises(Conflict, match="only an application is reviewed"):
            merchants.review(uow, "m-a", approve=True, reasons=[], by="reviewer-1", now=T0)
        with pytest.raises(Conflict, match="the deposit follows approval"):
            merchants.pay_deposit(uow, "m-a", amount=m("10000.00"), reference="DEP-1", now=T0)
        again = apply(uow, categories=("dress",), now=T0 + D)
        assert (again.status, again.categories) == ("applied", ("dress",))
        assert changes(uow, "m-a")[1:] == [
            ("applied", "rejected", "licence expired; blurred scan", "reviewer-1"),
            ("rejected", "applied", "applied again", "m-a"),
        ]


def test_bad_applications_name_what_is_wrong_and_record_nothing(db: Engine) -> None:
    base: dict[str, Any] = dict(name="A", type="enterprise", shop="shop-a", shop_name="A", categories=["dress"],
                qualifications=LICENCE, now=T0)
    bad: list[tuple[dict[str, Any], str]] = [
        (dict(type="sole_trader"), "type: 'sole_trader' is not one of individual, enterprise, brand_flagship"),
        (dict(qualifications={}), "a enterprise merchant must show business_license"),
        (dict(qualifications={"business_license": " "}), "qualifications.business_license"),
        (dict(categories=[]), "name at least one category"),
        (dict(categories="dress"), "categories: expected a list"),
        (dict(shop="shop:a"), "shop: 'shop:a' may not contain ':'"),
        (dict(shop="arbiter-self"), "the platform's own shop"),
        (dict(name=""), "name: '' is not a non-empty name"),
        (dict(currency="XX"), ""),
    ]
    with UnitOfWork(db) as uow:
        for change, message in bad:
            with pytest.raises(InvalidInput) as caught:
                merchants.apply(uow, "m-a", **{**base, **change})
            assert message in str(caught.value)
        assert merchants.find(uow, "m-a") is None and merchants.history(uow, "m-a") == []
        with pytest.raises(NotFound, match="merchant 'm-x' does not exist"):
            merchants.review(uow, "m-x", approve=True, reasons=[], by="reviewer-1", now=T0)


def test_a_shop_code_belongs_to_one_merchant_and_an_application_to_its_details(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        apply(uow)
        with pytest.raises(Conflict, match="shop 'shop-a' is taken"):
            apply(uow, "m-b", "shop-a")
        with pytest.raises(Conflict, match="applied before with other details"):
            apply(uow, categories=("coat",))
        merchants.review(uow, "m-a", approve=True, reasons=[], by="reviewer-1", now=T0)
        with pytest.raises(InvalidInput, match="the deposit of a enterprise merchant is 10000.00 CNY, not 2000.00 CNY"):
            merchants.pay_deposit(uow, "m-a", amount=m("2000.00"), reference="DEP-1", now=T0)
        assert merchants.merchant(uow, "m-a").status == "approved"
        assert merchants.merchant_of_shop(uow, "shop-a") == merchants.merchant(uow, "m-a")


def _a_dress_on_sale(uow: UnitOfWork, shop: str = "shop-a") -> None:
    clothing(uow)
    catalog.create_spu(uow, SpuSpec("SPU-D", shop, "连衣裙", "dress"))
    catalog.create_sku(uow, SkuSpec("SKU-D", "SPU-D", m("259.00"), m("199.00"), m("90.00")))
    catalog.publish(uow, "SKU-D", T0)


def test_restrict_suspend_and_reactivate_each_with_its_reason(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        open_shop(uow)
        _a_dress_on_sale(uow)
        with pytest.raises(InvalidInput, match="needs a reason"):
            merchants.change_status(uow, "m-a", "restricted", reason="", by="ops-1", now=T0)
        restricted = merchants.change_status(uow, "m-a", "restricted", reason="fake reviews", by="ops-1", now=T0)
        assert restricted.status == "restricted" and catalog.get_sku(uow, "SKU-D").status == "published"  # type: ignore[union-attr]
        merchants.change_status(uow, "m-a", "suspended", reason="counterfeit goods reported", by="ops-1", now=T0 + D)
        assert catalog.get_sku(uow, "SKU-D").status == "unpublished"  # type: ignore[union-attr]  # cannot sell
        with pytest.raises(Conflict, match="it cannot become approved"):
            merchants.change_status(uow, "m-a", "approved", reason="x", by="ops-1", now=T0)
        active = merchants.change_status(uow, "m-a", "active", reason="cleared", by="ops-1", now=T0 + 2 * D)
        assert active.status == "active" and active.open
        assert changes(uow, "m-a")[3:] == [
            ("active", "restricted", "fake reviews", "ops-1"),
            ("restricted", "suspended", "counterfeit goods reported", "ops-1"),
            ("suspended", "active", "cleared", "ops-1"),
        ]
        apply(uow, "m-b", "shop-b")
        with pytest.raises(Conflict, match="m-b is applied: it cannot become suspended"):
            merchants.change_status(uow, "m-b", "suspended", reason="x", by="ops-1", now=T0)


def test_closing_takes_the_claims_from_the_deposit_and_pays_the_rest_out(db: Engine) -> None:
    clearing = settlement.SimulatedClearing()
    with UnitOfWork(db) as uow:
        open_shop(uow)
        _a_dress_on_sale(uow)
        settlement.record_paid(uow, PaidOrder("O1", "shop-a", "CNY", (PaidLine("1", "SKU-D", "dress", 1,
                                                                              m("199.00").amount),)), T0)
        uow.commit()
        waiting = merchants.close(uow, "m-a", reason="the merchant leaves", by="ops-1", now=T0, clearing=clearing)
        assert (waiting.ok, waiting.reason) == (False, "1 order line(s) wait for settlement")
        settlement.record_completed(uow, "O1", T0 + D)
        uow.commit()
        settlement.settle(uow, "shop-a", T0 + 4 * D, clearing)  # 199.00 less 5% = 189.05 available
        assert settlement.balances(uow, "shop-a").available == m("189.05")
        too_much = merchants.close(uow, "m-a", reason="leaves", by="ops-1", now=T0 + 5 * D, clearing=clearing,
                                   claims=m("10189.06"))
        assert too_much.reason == ("the claims 10189.06 CNY are more than the deposit 10000.00 CNY and the balance "
                                   "189.05 CNY together")
        assert catalog.get_sku(uow, "SKU-D").status == "unpublished"  # type: ignore[union-attr]

        refusing = settlement.SimulatedClearing(refuse={"shop-a"})
        refused = merchants.close(uow, "m-a", reason="leaves", by="ops-1", now=T0 + 5 * D, clearing=refusing,
                                  claims=m("1500.00"))
        assert (refused.ok, refused.claims, refused.deposit_returned) == (False, m("1500.00"), m("8500.00"))
        assert refused.reason is not None and refused.reason.startswith("the final payout was refused")
        assert merchants.merchant(uow, "m-a").status == "active"
        closed = merchants.close(uow, "m-a", reason="leaves", by="ops-1", now=T0 + 6 * D, clearing=clearing,
                                 claims=m("1500.00"))  # the claims are not taken twice
        assert closed == merchants.Closing("m-a", m("1500.00"), m("8500.00"), m("8689.05"))
        assert settlement.balances(uow, "shop-a") == settlement.Balances(m("0.00"), m("0.00"), m("0.00"), m("0.00"))
        assert clearing.paid_out("shop-a") == m("8689.05")
        assert merchants.merchant(uow, "m-a").status == "closed"
        assert changes(uow, "m-a")[-1] == ("active", "closed", "leaves", "ops-1")
        assert not merchants.close(uow, "m-a", reason="again", by="ops-1", now=T0, clearing=clearing).ok
