"""Ledger use cases: open accounts, post transfers (all of a batch or none), reverse one.

None of these commits: they join the caller's unit of work, which commits once. A posting runs
in a SAVEPOINT so that a refusal undoes the legs before it without ending the caller's
transaction. Balances move by one conditional UPDATE per account (for a floored account
`... WHERE credits_posted + :c >= debits_posted + :d`), never read then written, and accounts
are updated in code order so that racing postings queue instead of deadlocking. On SQLite the
write lock is taken first so that writers serialise.

Idempotency: a transfer id already posted with the same fields is a replay (nothing moves,
`replayed=True`); with other fields it is a `TransferConflict`. A batch is posted whole or
replayed whole: a batch mixing ids posted before with new ones is a conflict too. A refusal
by a floor is a value (`ok=False`, a reason naming the account) and records nothing, so the
same ids may be posted again later. The time of posting is not part of a transfer's fields.
The values live in `values.py`, the reads (balances, entries, the trial balance) in
`reads.py`; this module exports both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, type_coerce, update

from arbiter.errors import CurrencyMismatch, InvalidInput
from arbiter.money import CENT, Money
from arbiter.platform.columns import Amount, exact, tidy, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger.models import ACCOUNTS, TRANSFERS
from arbiter.platform.ledger.reads import (
    account,
    balance,
    entries,
    transfer,
    transfers_for,
    trial_balance,
)
from arbiter.platform.ledger.values import (
    CREDIT,
    DEBIT,
    SIDES,
    Account,
    AccountConflict,
    Entry,
    PostedTransfer,
    Transfer,
    TransferConflict,
    TrialBalance,
    UnknownAccount,
    UnknownTransfer,
    check_code,
    check_name,
    row_account,
)
from arbiter.platform.sql import insert_if_absent, write_lock

__all__ = [
    "CREDIT", "DEBIT", "Account", "AccountConflict", "Entry", "PostedTransfer", "Posting", "Transfer",
    "TransferConflict", "TrialBalance", "UnknownAccount", "UnknownTransfer", "account", "balance",
    "entries", "open_account", "post", "reverse", "transfer", "transfers_for", "trial_balance",
]

REVERSAL = ".reversal"  # appended to a reversed transfer's kind


@dataclass(frozen=True)
class Posting:
    """The outcome of posting a batch: `ok` when every transfer is posted (now, or before when
    `replayed`); otherwise `reason` says which account refused and what it would have become
    (`account` names it), and nothing moved."""

    ok: bool
    reason: str | None
    replayed: bool
    transfers: tuple[str, ...]
    account: str | None = None


def _time(now: object) -> datetime:
    if not isinstance(now, datetime):
        raise InvalidInput(f"now: expected a datetime, got {type(now).__name__}")
    return utc(now)


def open_account(uow: UnitOfWork, code: str, *, normal: str, currency: str = "CNY", floor: bool = False,
                 owner: str | None = None, name: str | None = None, now: datetime) -> Account:
    """Open an account (does not commit). Opening it again with the same terms (normal side,
    currency, floor, owner; the name when given) returns it unchanged; other terms are an
    `AccountConflict`. The name defaults to the code."""
    check_code(code, "code")
    if normal not in SIDES:
        raise InvalidInput(f"normal: {normal!r} is not 'debit' or 'credit'")
    Money.zero(currency)  # refuses anything but a three-letter code
    if not isinstance(floor, bool):
        raise InvalidInput(f"floor: expected True or False, got {floor!r}")
    if owner is not None:
        check_name(owner, "owner")
    if name is not None:
        check_name(name, "name")
    at = _time(now)
    write_lock(uow.session.connection())
    values = dict(code=code, name=name or code, normal=normal, currency=currency, floor=floor, owner=owner,
                  debits_posted=Decimal(0), credits_posted=Decimal(0), created_at=at)
    uow.session.execute(insert_if_absent(ACCOUNTS, uow.engine.dialect.name, values))
    opened = account(uow, code)
    assert opened is not None
    wanted: dict[str, Any] = {"normal": normal, "currency": currency, "floor": floor, "owner": owner}
    if name is not None:
        wanted["name"] = name
    differs = [f"{key} {getattr(opened, key)!r} (asked {value!r})" for key, value in wanted.items()
               if getattr(opened, key) != value]
    if differs:
        raise AccountConflict(f"account {code!r} is open already with other terms: {', '.join(differs)}")
    return opened


def _checked(transfers: Sequence[Transfer]) -> list[Transfer]:
    if isinstance(transfers, Transfer | str) or not isinstance(transfers, Sequence) or not transfers:
        raise InvalidInput("transfers: expected a non-empty sequence of Transfer")
    checked: list[Transfer] = []
    for index, t in enumerate(transfers):
        where = f"transfers[{index}]"
        if not isinstance(t, Transfer):
            raise InvalidInput(f"{where}: expected a Transfer, got {type(t).__name__}")
        check_name(t.id, f"{where}.id")
        check_code(t.debit, f"{where}.debit")
        check_code(t.credit, f"{where}.credit")
        if t.debit == t.credit:
            raise InvalidInput(f"{where}: debit and credit are both {t.debit!r}; a transfer moves between two accounts")
        if not isinstance(t.amount, Money):
            raise InvalidInput(f"{where}.amount: expected Money, got {type(t.amount).__name__}")
        if t.amount.amount <= 0:
            raise InvalidInput(f"{where}.amount: {t.amount} must be more than zero")
        if t.amount.amount != t.amount.amount.quantize(CENT):
            raise InvalidInput(f"{where}.amount: {t.amount} is finer than a cent")
        exact(t.amount.amount, f"{where}.amount")
        if not isinstance(t.kind, str) or len(t.kind) > 100 or not _is_kind(t.kind):
            raise InvalidInput(f"{where}.kind: {t.kind!r} is not a dotted word such as 'settlement.goods'")
        if not isinstance(t.ref, str) or len(t.ref) > 200:
            raise InvalidInput(f"{where}.ref: expected a string of at most 200 characters")
        checked.append(t)
    ids = [t.id for t in checked]
    if len(set(ids)) != len(ids):
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        raise InvalidInput(f"transfers: each id may appear once in a batch ({', '.join(map(repr, duplicated))} repeat)")
    return checked


def _is_kind(kind: str) -> bool:
    words = kind.split(".")
    return len(words) >= 2 and all(w and w[0].isascii() and w[0].isalpha() and w.isascii()
                                   and w.replace("_", "").isalnum() and w == w.lower() for w in words)


def post(uow: UnitOfWork, transfers: Sequence[Transfer], now: datetime, *, batch: str | None = None) -> Posting:
    """Post every transfer of the batch or none (does not commit). A floor refusal is a
    `Posting(ok=False)`; an unknown account or a currency mismatch raises; ids posted before
    replay or conflict as the module docstring says."""
    checked = _checked(transfers)
    if batch is not None:
        check_name(batch, "batch")
    return _post(uow, checked, _time(now), batch, {})


def reverse(uow: UnitOfWork, transfer_id: str, new_id: str, at: datetime) -> Posting:
    """Post the opposite of transfer `transfer_id` as `new_id` (does not commit): the same
    amount and ref, the accounts swapped, the kind with `.reversal` added (or taken off when
    reversing a reversal). A transfer is reversed once: another new id is a `TransferConflict`.
    It can be refused by a floor (the money moved on since), like any posting."""
    check_name(transfer_id, "transfer_id")
    write_lock(uow.session.connection())
    original = transfer(uow, transfer_id)
    if original is None:
        raise UnknownTransfer(f"transfer {transfer_id!r} does not exist")
    kind = original.kind[: -len(REVERSAL)] if original.kind.endswith(REVERSAL) else original.kind + REVERSAL
    checked = _checked([Transfer(new_id, original.credit, original.debit, original.amount, kind, original.ref)])
    earlier = uow.session.execute(select(TRANSFERS.c.id).where(TRANSFERS.c.reverses == transfer_id)).scalar()
    if earlier is not None and earlier != new_id:
        raise TransferConflict(f"transfer {transfer_id!r} was reversed already by {earlier!r}")
    return _post(uow, checked, _time(at), None, {new_id: transfer_id})


def _post(uow: UnitOfWork, transfers: list[Transfer], at: datetime, batch: str | None,
          reverses: Mapping[str, str]) -> Posting:
    ids = tuple(t.id for t in transfers)
    write_lock(uow.session.connection())
    replayed = _replay(uow, transfers, batch, reverses)
    if replayed is not None:
        return replayed
    accounts = _accounts(uow, transfers)
    savepoint = uow.session.begin_nested()
    try:
        for t in transfers:
            if not _insert(uow, t, at, batch, reverses.get(t.id)):
                # The same id was posted meanwhile by a racing caller, whose posting stands.
                savepoint.rollback()
                replayed = _replay(uow, transfers, batch, reverses)
                if replayed is None:
                    raise TransferConflict(f"transfer {t.id!r} collides with a posting made meanwhile "
                                           f"(a reversal of {reverses.get(t.id)!r} already?)")
                return replayed
        refused = _move(uow, transfers, accounts)
        if refused is not None:
            savepoint.rollback()
            return Posting(False, refused[1], False, ids, account=refused[0])
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    savepoint.commit()
    return Posting(True, None, False, ids)


def _differences(row: Any, t: Transfer, batch: str | None, reverses: str | None) -> list[str]:
    before = {"debit": row.debit_account, "credit": row.credit_account, "amount": Money(row.amount, row.currency),
              "kind": row.kind, "ref": row.ref, "batch": row.batch, "reverses": row.reverses}
    now = {"debit": t.debit, "credit": t.credit, "amount": t.amount, "kind": t.kind, "ref": t.ref,
           "batch": batch, "reverses": reverses}
    return [f"{key} was {before[key]!s}, now {now[key]!s}" for key in before if before[key] != now[key]]


def _replay(uow: UnitOfWork, transfers: list[Transfer], batch: str | None,
            reverses: Mapping[str, str]) -> Posting | None:
    """None when no id was posted before; the replayed Posting when every one was, with the
    same fields; otherwise a TransferConflict saying what differs."""
    ids = [t.id for t in transfers]
    rows = {r.id: r for r in uow.session.execute(select(TRANSFERS).where(TRANSFERS.c.id.in_(ids)))}
    if not rows:
        return None
    changed = [f"{t.id!r} ({'; '.join(diff)})" for t in transfers
               if t.id in rows and (diff := _differences(rows[t.id], t, batch, reverses.get(t.id)))]
    if changed:
        raise TransferConflict(f"transfer id(s) posted before with other fields: {', '.join(changed)}")
    new = [i for i in ids if i not in rows]
    if new:
        raise TransferConflict(
            f"the batch mixes transfers posted before ({', '.join(map(repr, rows))}) with new ones "
            f"({', '.join(map(repr, new))}); a batch is posted whole or replayed whole")
    return Posting(True, None, True, tuple(ids))


def _accounts(uow: UnitOfWork, transfers: list[Transfer]) -> dict[str, Account]:
    """The accounts the batch touches; unknown ones and currency mismatches raise. Their terms
    never change once opened, so reading them before the conditional updates is safe."""
    codes = sorted({t.debit for t in transfers} | {t.credit for t in transfers})
    found = {r.code: row_account(r) for r in uow.session.execute(select(ACCOUNTS).where(ACCOUNTS.c.code.in_(codes)))}
    missing = [c for c in codes if c not in found]
    if missing:
        raise UnknownAccount(f"no such ledger account: {', '.join(map(repr, missing))}")
    for t in transfers:
        for side, code in ((DEBIT, t.debit), (CREDIT, t.credit)):
            if found[code].currency != t.amount.currency:
                raise CurrencyMismatch(f"transfer {t.id!r}: {t.amount} cannot move the {side} account {code!r}, "
                                       f"kept in {found[code].currency}", code="ledger.currency.mismatch")
    return found


def _insert(uow: UnitOfWork, t: Transfer, at: datetime, batch: str | None, reverses: str | None) -> bool:
    """Record the transfer; False when its id (or its `reverses`) is there already."""
    values: dict[str, Any] = dict(id=t.id, debit_account=t.debit, credit_account=t.credit, amount=t.amount.amount,
                                  currency=t.amount.currency, kind=t.kind, ref=t.ref, batch=batch,
                                  reverses=reverses, posted_at=at)
    if uow.engine.dialect.name == "sqlite":
        # No identity columns there; the write lock held makes "the last number + 1" safe.
        values["seq"] = select(func.coalesce(func.max(TRANSFERS.c.seq), 0) + 1).scalar_subquery()
    # RETURNING rather than rowcount: the driver reports -1 for some INSERT ... ON CONFLICT.
    statement = insert_if_absent(TRANSFERS, uow.engine.dialect.name, values).returning(TRANSFERS.c.id)
    return uow.session.execute(statement).first() is not None


def _move(uow: UnitOfWork, transfers: list[Transfer], accounts: dict[str, Account]) -> tuple[str, str] | None:
    """Add the batch's debits and credits to each account in one conditional UPDATE, in code
    order; a floor is checked on the batch's net effect (no one can see between its legs).
    The refusing account and the reason, or None when every account moved."""
    debits: dict[str, Decimal] = defaultdict(Decimal)
    credits: dict[str, Decimal] = defaultdict(Decimal)
    for t in transfers:
        debits[t.debit] += t.amount.amount
        credits[t.credit] += t.amount.amount
    for code in sorted(set(debits) | set(credits)):
        held = accounts[code]
        d = type_coerce(exact(debits[code], f"the debits to {code}"), Amount())
        c = type_coerce(exact(credits[code], f"the credits to {code}"), Amount())
        statement = update(ACCOUNTS).where(ACCOUNTS.c.code == code).values(
            debits_posted=ACCOUNTS.c.debits_posted + d, credits_posted=ACCOUNTS.c.credits_posted + c)
        if held.floor and held.normal == CREDIT:
            statement = statement.where(ACCOUNTS.c.credits_posted + c >= ACCOUNTS.c.debits_posted + d)
        elif held.floor:
            statement = statement.where(ACCOUNTS.c.debits_posted + d >= ACCOUNTS.c.credits_posted + c)
        if uow.session.execute(statement.returning(ACCOUNTS.c.code)).first() is None:
            change = credits[code] - debits[code] if held.normal == CREDIT else debits[code] - credits[code]
            after = balance(uow, code).amount + change
            return code, (f"{code} would go to {tidy(after)} {held.currency}: "
                          "its balance may not go below zero")
    return None
