"""Opening accounts and the catalogue, and every kind of bad input refused with nothing
changed: sub-cent and non-positive amounts, unknown accounts, currency mismatches, malformed
transfers and codes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from arbiter.errors import ArbiterError, CurrencyMismatch, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts as catalogue
from arbiter.platform.ledger import service as ledger
from arbiter.platform.ledger.accounts import CLEARING

from .support import AT, AVAILABLE, DEPOSIT, balances, open_chart, t


def test_opening_is_idempotent_and_conflicting_terms_are_refused(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        first = ledger.open_account(uow, "merchant:S9:deposit", normal="credit", floor=True, owner="S9",
                                    name="S9 deposit", now=AT)
        assert (first.normal, first.currency, first.floor, first.owner, first.name, first.created_at) == (
            "credit", "CNY", True, "S9", "S9 deposit", AT)
        assert first.balance == Money.of("0.00")
        assert ledger.open_account(uow, "merchant:S9:deposit", normal="credit", floor=True, owner="S9", now=AT) == first
        for terms, says in ((dict(normal="debit", floor=True, owner="S9"), "normal 'credit'"),
                            (dict(normal="credit", floor=False, owner="S9"), "floor True"),
                            (dict(normal="credit", floor=True, owner=None), "owner 'S9'"),
                            (dict(normal="credit", floor=True, owner="S9", currency="USD"), "currency 'CNY'"),
                            (dict(normal="credit", floor=True, owner="S9", name="other"), "name 'S9 deposit'")):
            with pytest.raises(ledger.AccountConflict, match=says) as raised:
                ledger.open_account(uow, "merchant:S9:deposit", now=AT, **terms)  # type: ignore[arg-type]
            assert raised.value.code == "ledger.account.conflict"
        plain = ledger.open_account(uow, "test:plain", normal="debit", now=AT)
        assert (plain.name, plain.floor, plain.owner) == ("test:plain", False, None)
        assert ledger.account(uow, "test:none") is None
        with pytest.raises(ledger.UnknownAccount):
            ledger.balance(uow, "test:none")
        with pytest.raises(ledger.UnknownAccount):
            ledger.entries(uow, "test:none")


@pytest.mark.parametrize(("terms", "says"), [
    (dict(code="has space", normal="debit"), "not an account code"),
    (dict(code="", normal="debit"), "not an account code"),
    (dict(code="a" * 201, normal="debit"), "not an account code"),
    (dict(code="x:y", normal="asset"), "not 'debit' or 'credit'"),
    (dict(code="x:y", normal="debit", currency="cny"), "three-letter"),
    (dict(code="x:y", normal="debit", floor=1), "True or False"),
    (dict(code="x:y", normal="debit", owner=""), "owner"),
])
def test_bad_account_terms_are_refused(db: Engine, terms: dict[str, object], says: str) -> None:
    with UnitOfWork(db) as uow:
        with pytest.raises(InvalidInput, match=says):
            ledger.open_account(uow, now=AT, **terms)  # type: ignore[arg-type]


def test_the_catalogue() -> None:
    assert catalogue.merchant_account("S1", "available") == "merchant:S1:available"
    assert catalogue.credit_receivable("U1") == "user:U1:credit_receivable"
    assert catalogue.user_overpayment("U1") == "user:U1:overpayment"
    assert catalogue.funder_capital("F1") == "funder:F1:capital"
    assert catalogue.funder_receivable("F1") == "funder:F1:receivable"
    table = {code: (terms.normal, terms.floor) for code, terms in catalogue.PLATFORM.items()}
    assert table == {
        "platform:commission_revenue": ("credit", False), "platform:fee_revenue": ("credit", False),
        "platform:subsidy_expense": ("debit", False), "platform:user_funds_in_transit": ("credit", True),
        "platform:clearing": ("debit", False), "platform:self_held_funds": ("debit", True)}
    parties = {code: (catalogue.terms(code).normal, catalogue.terms(code).floor, catalogue.terms(code).owner)
               for code in (*(catalogue.merchant_account("S1", k) for k in catalogue.MERCHANT_KINDS),
                            catalogue.credit_receivable("U1"), catalogue.user_overpayment("U1"),
                            catalogue.funder_capital("F1"), catalogue.funder_receivable("F1"))}
    assert parties == {
        "merchant:S1:pending": ("credit", True, "S1"), "merchant:S1:available": ("credit", False, "S1"),
        "merchant:S1:deposit": ("credit", True, "S1"), "merchant:S1:withdrawn": ("credit", True, "S1"),
        "user:U1:credit_receivable": ("debit", True, "U1"), "user:U1:overpayment": ("credit", True, "U1"),
        "funder:F1:capital": ("credit", True, "F1"), "funder:F1:receivable": ("debit", True, "F1")}
    for bad in (lambda: catalogue.merchant_account("S1", "frozen"), lambda: catalogue.merchant_account("a:b", "deposit"),
                lambda: catalogue.credit_receivable(""), lambda: catalogue.terms("merchant:S1:frozen"),
                lambda: catalogue.terms("somewhere:else")):
        with pytest.raises(InvalidInput):
            bad()


def test_open_standard_uses_the_catalogue(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        opened = catalogue.open_standard(uow, catalogue.user_overpayment("U7"), now=AT)
        assert (opened.normal, opened.floor, opened.owner, opened.name) == (
            "credit", True, "U7", "user U7 overpayment owed to the user (溢缴款)")
        assert catalogue.open_standard(uow, catalogue.user_overpayment("U7"), now=AT) == opened


def transfer_with(amount: object) -> ledger.Transfer:
    return ledger.Transfer("bad", CLEARING, DEPOSIT, amount, "test.move")  # type: ignore[arg-type]


@pytest.mark.parametrize(("transfers", "error", "says"), [
    ([transfer_with(Money.of("0.001"))], InvalidInput, "finer than a cent"),
    ([transfer_with(Money.of("10.005"))], InvalidInput, "finer than a cent"),
    ([transfer_with(Money.of("0.00"))], InvalidInput, "more than zero"),
    ([transfer_with(Money.of("-5.00"))], InvalidInput, "more than zero"),
    ([transfer_with(Decimal("5.00"))], InvalidInput, "expected Money"),
    ([transfer_with(Money.of("100000000000.00"))], InvalidInput, "largest amount"),
    ([ledger.Transfer("bad", DEPOSIT, DEPOSIT, Money.of("1.00"), "test.move")], InvalidInput, "both"),
    ([ledger.Transfer("bad", CLEARING, DEPOSIT, Money.of("1.00"), "settlement")], InvalidInput, "dotted word"),
    ([ledger.Transfer("bad", CLEARING, DEPOSIT, Money.of("1.00"), "Settlement.Goods")], InvalidInput, "dotted word"),
    ([ledger.Transfer("", CLEARING, DEPOSIT, Money.of("1.00"), "test.move")], InvalidInput, r"transfers\[1\].id"),
    ([t("same", CLEARING, DEPOSIT, "1.00"), t("same", CLEARING, AVAILABLE, "1.00")], InvalidInput, "once in a batch"),
    ([], InvalidInput, "non-empty"),
    ([t("x", CLEARING, "merchant:S404:deposit", "1.00")], ledger.UnknownAccount, "merchant:S404:deposit"),
    ([ledger.Transfer("x", CLEARING, DEPOSIT, Money.of("1.00", "USD"), "test.move")], CurrencyMismatch,
     "kept in CNY"),
])
def test_bad_transfers_are_refused_and_change_nothing(db: Engine, transfers: list[ledger.Transfer],
                                                     error: type[ArbiterError], says: str) -> None:
    with UnitOfWork(db) as uow:
        open_chart(uow)
        assert ledger.post(uow, [t("fund", CLEARING, DEPOSIT, "10.00")], AT).ok
        with pytest.raises(error, match=says):
            ledger.post(uow, [t("first-leg", CLEARING, AVAILABLE, "3.00"), *transfers]
                        if transfers else transfers, AT)
        assert balances(uow, CLEARING, DEPOSIT, AVAILABLE) == ["10.00", "10.00", "0.00"]
        assert ledger.transfer(uow, "first-leg") is None


def test_error_codes(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        open_chart(uow)
        with pytest.raises(NotFound) as unknown:
            ledger.post(uow, [t("x", CLEARING, "nowhere:at:all", "1.00")], AT)
        assert unknown.value.code == "ledger.account.unknown"
        with pytest.raises(CurrencyMismatch) as mismatch:
            ledger.post(uow, [ledger.Transfer("x", CLEARING, DEPOSIT, Money.of("1.00", "USD"), "test.move")], AT)
        assert mismatch.value.code == "ledger.currency.mismatch"
        with pytest.raises(InvalidInput, match="batch"):
            ledger.post(uow, [t("x", CLEARING, DEPOSIT, "1.00")], AT, batch="")
        with pytest.raises(InvalidInput, match="datetime"):
            ledger.post(uow, [t("x", CLEARING, DEPOSIT, "1.00")], "today")  # type: ignore[arg-type]
