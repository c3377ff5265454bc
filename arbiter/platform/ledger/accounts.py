"""The platform's catalogue of ledger accounts: their codes, normal sides and floors.

Platform accounts have fixed codes; the accounts of a merchant's shop, a user and a funder are
made by the helpers (`merchant_account("S1", "available")` is `merchant:S1:available`). A
floored account's balance may never go below zero: it holds real money or a real debt that
cannot be overdrawn. Revenue, expense, the clearing account and a merchant's available balance
are not floored: a merchant's available balance may go negative by policy (refunds clawed back
after settlement), recovered from later settlements or the deposit. `terms(code)` gives an
account's terms and `open_standard` opens it with them; docs/ledger.md has the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from arbiter.errors import InvalidInput
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger.service import CREDIT, DEBIT, Account, open_account
from arbiter.platform.ledger.values import check_code, check_name


@dataclass(frozen=True)
class AccountTerms:
    normal: str
    floor: bool
    name: str
    owner: str | None = None


# -- the platform's own accounts -------------------------------------------------------------

COMMISSION_REVENUE = "platform:commission_revenue"  # 扣点/佣金 earned from merchants
FEE_REVENUE = "platform:fee_revenue"  # installment fees (息费) the platform keeps
SUBSIDY_EXPENSE = "platform:subsidy_expense"  # discounts the platform funds (平台补贴)
USER_FUNDS_IN_TRANSIT = "platform:user_funds_in_transit"  # what users paid, owed onward until settled
CLEARING = "platform:clearing"  # the platform's account at the clearing institution (清分机构)
SELF_HELD_FUNDS = "platform:self_held_funds"  # the platform's own money lent on assets it holds (自持)

PLATFORM: dict[str, AccountTerms] = {
    COMMISSION_REVENUE: AccountTerms(CREDIT, False, "Commission revenue (佣金收入)"),
    FEE_REVENUE: AccountTerms(CREDIT, False, "Installment fee revenue (息费收入)"),
    SUBSIDY_EXPENSE: AccountTerms(DEBIT, False, "Subsidy expense (平台补贴)"),
    USER_FUNDS_IN_TRANSIT: AccountTerms(CREDIT, True, "User funds in transit (待结算用户资金)"),
    CLEARING: AccountTerms(DEBIT, False, "Clearing institution settlement account (清分账户)"),
    SELF_HELD_FUNDS: AccountTerms(DEBIT, True, "Self-held funds lent (自持资金)"),
}

# -- accounts of a merchant's shop, a user, a funder ------------------------------------------

PENDING = "pending"  # settled goods money not yet available (in the settlement cycle)
AVAILABLE = "available"  # what the merchant may withdraw; may go negative by policy
DEPOSIT = "deposit"  # the merchant's deposit (保证金)
WITHDRAWN = "withdrawn"  # withdrawals asked for, not yet paid out by the clearing institution
MERCHANT_KINDS = (PENDING, AVAILABLE, DEPOSIT, WITHDRAWN)

_MERCHANT: dict[str, AccountTerms] = {
    PENDING: AccountTerms(CREDIT, True, "pending settlement (待结算)"),
    AVAILABLE: AccountTerms(CREDIT, False, "available (可提现)"),
    DEPOSIT: AccountTerms(CREDIT, True, "deposit (保证金)"),
    WITHDRAWN: AccountTerms(CREDIT, True, "withdrawals in payment (提现中)"),
}
_USER: dict[str, AccountTerms] = {
    "credit_receivable": AccountTerms(DEBIT, True, "credit owed by the user (分期应收)"),
    "overpayment": AccountTerms(CREDIT, True, "overpayment owed to the user (溢缴款)"),
}
_FUNDER: dict[str, AccountTerms] = {
    "capital": AccountTerms(CREDIT, True, "funder capital outstanding (资方本金)"),
    "receivable": AccountTerms(DEBIT, True, "owed by the funder (资方应收)"),
}
_PARTIES = {"merchant": _MERCHANT, "user": _USER, "funder": _FUNDER}


def _party(value: str, what: str) -> str:
    check_name(value, what)
    if ":" in value:
        raise InvalidInput(f"{what}: {value!r} may not contain ':'")
    return check_code(value, what)


def merchant_account(shop: str, kind: str) -> str:
    """`merchant:SHOP:KIND`, KIND one of pending, available, deposit, withdrawn."""
    if kind not in MERCHANT_KINDS:
        raise InvalidInput(f"kind: {kind!r} is not one of {', '.join(MERCHANT_KINDS)}")
    return f"merchant:{_party(shop, 'shop')}:{kind}"


def credit_receivable(user: str) -> str:
    """What the user owes on installment credit (debit, floored: never repaid beyond it)."""
    return f"user:{_party(user, 'user')}:credit_receivable"


def user_overpayment(user: str) -> str:
    """Overpayment (溢缴款) owed back to the user (credit, floored)."""
    return f"user:{_party(user, 'user')}:overpayment"


def funder_capital(funder: str) -> str:
    """The funder's capital outstanding in the assets it financed (credit, floored: never
    paid back beyond it)."""
    return f"funder:{_party(funder, 'funder')}:capital"


def funder_receivable(funder: str) -> str:
    """What the funder owes the platform, e.g. a financed order's money not yet received
    (debit, floored)."""
    return f"funder:{_party(funder, 'funder')}:receivable"


def terms(code: str) -> AccountTerms:
    """The catalogue's terms for `code`; a code outside the catalogue is InvalidInput."""
    if code in PLATFORM:
        return PLATFORM[code]
    parts = code.split(":") if isinstance(code, str) else []
    if len(parts) == 3 and parts[0] in _PARTIES and parts[2] in _PARTIES[parts[0]] and parts[1]:
        found = _PARTIES[parts[0]][parts[2]]
        return AccountTerms(found.normal, found.floor, f"{parts[0]} {parts[1]} {found.name}", parts[1])
    raise InvalidInput(f"code: {code!r} is not an account of the catalogue")


def open_standard(uow: UnitOfWork, code: str, *, currency: str = "CNY", now: datetime) -> Account:
    """Open a catalogue account with its terms (does not commit; idempotent)."""
    found = terms(code)
    return open_account(uow, code, normal=found.normal, currency=currency, floor=found.floor,
                        owner=found.owner, name=found.name, now=now)
