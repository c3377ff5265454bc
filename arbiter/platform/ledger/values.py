"""The ledger's values and errors: accounts, transfers, entries, the trial balance, and the
checks on codes and names. `service` exports them; other modules import them from there."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.columns import NAME_LENGTH, as_utc
from arbiter.platform.ledger.models import CODE_LENGTH

DEBIT = "debit"
CREDIT = "credit"
SIDES = (DEBIT, CREDIT)

# Words of letters, digits, `_ . - @` joined by colons: platform:clearing, merchant:S1:available.
_CODE = re.compile(r"[A-Za-z0-9_.@-]+(?::[A-Za-z0-9_.@-]+)*")


class TransferConflict(Conflict):
    """A transfer id was posted before with other fields, a batch mixes posted and new ids, or
    a transfer already reversed is reversed again under another id. Nothing moved."""

    code = "ledger.transfer.conflict"


class AccountConflict(Conflict):
    """The account is open already with other terms."""

    code = "ledger.account.conflict"


class UnknownAccount(NotFound):
    code = "ledger.account.unknown"


class UnknownTransfer(NotFound):
    code = "ledger.transfer.unknown"


def check_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > NAME_LENGTH:
        raise InvalidInput(f"{what}: {value!r} is not a non-empty name of at most {NAME_LENGTH} characters")
    return value


def check_code(value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) > CODE_LENGTH or not _CODE.fullmatch(value):
        raise InvalidInput(f"{what}: {value!r} is not an account code such as 'merchant:S1:available' "
                           f"(words of letters, digits, _ . - @ joined by ':', at most {CODE_LENGTH} characters)")
    return value


@dataclass(frozen=True)
class Account:
    """An account and its posted totals. `balance` is on its normal side: credits - debits
    for a credit-normal account, debits - credits for a debit-normal one."""

    code: str
    name: str
    normal: str
    currency: str
    floor: bool
    owner: str | None
    debits_posted: Money
    credits_posted: Money
    created_at: datetime

    @property
    def balance(self) -> Money:
        if self.normal == CREDIT:
            return self.credits_posted - self.debits_posted
        return self.debits_posted - self.credits_posted


@dataclass(frozen=True)
class Transfer:
    """A movement of `amount` (positive, whole cents) debiting `debit` and crediting `credit`.
    `id` is the caller's idempotency id; `kind` a dotted word (settlement.goods,
    credit.disburse); `ref` what it is about (an order id, a bill id)."""

    id: str
    debit: str
    credit: str
    amount: Money
    kind: str
    ref: str = ""


@dataclass(frozen=True)
class PostedTransfer:
    """A transfer as recorded: with its batch, the transfer it reverses, when it was posted
    and its place in posting order (`seq`)."""

    id: str
    debit: str
    credit: str
    amount: Money
    kind: str
    ref: str
    batch: str | None
    reverses: str | None
    posted_at: datetime
    seq: int

    def transfer(self) -> Transfer:
        return Transfer(self.id, self.debit, self.credit, self.amount, self.kind, self.ref)


@dataclass(frozen=True)
class Entry:
    """One transfer as one account sees it: `amount` is signed for that account (positive
    when it raised the account's balance), so an account's entries sum to its balance.
    `side` is the side it was posted on; `other` the account on the opposite side."""

    transfer: str
    account: str
    side: str
    amount: Money
    other: str
    kind: str
    ref: str
    batch: str | None
    posted_at: datetime


@dataclass(frozen=True)
class TrialBalance:
    """Sums of the posted debits and credits over every account, per currency. `balanced`
    when they are equal in every currency and each account's posted totals equal the sums of
    its transfers (`mismatched` names those that do not)."""

    debits: Mapping[str, Money]
    credits: Mapping[str, Money]
    balanced: bool
    mismatched: tuple[str, ...] = ()


def row_account(row: Any) -> Account:
    created = as_utc(row.created_at)
    assert created is not None
    return Account(row.code, row.name, row.normal, row.currency, bool(row.floor), row.owner,
                   Money(row.debits_posted, row.currency), Money(row.credits_posted, row.currency), created)


def row_transfer(row: Any) -> PostedTransfer:
    posted = as_utc(row.posted_at)
    assert posted is not None
    return PostedTransfer(row.id, row.debit_account, row.credit_account, Money(row.amount, row.currency),
                          row.kind, row.ref, row.batch, row.reverses, posted, int(row.seq))
