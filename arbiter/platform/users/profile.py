"""Profile (用户资料): nickname, real-name identity (实名) and bank cards.

The real name, the ID number and card numbers are checked (the ID's check digit, Luhn), then
kept only as a masked form (`张*`, `110***********002X`, `6222 **** **** 0123`) and a keyed
HMAC-SHA256 digest: the caller passes the key (from its settings or key store), the module
keeps none. The digest recognises the same number again — the same card bound twice, the same
ID on two accounts — and is what other modules may carry (`payment.card`), never the number.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from arbiter.errors import Conflict
from arbiter.platform.columns import utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.sql import insert_if_absent
from arbiter.platform.users import validation
from arbiter.platform.users.accounts import get_user, live_account
from arbiter.platform.users.store import ACCOUNTS, CANCELLED, CARDS, dialect, new_id
from arbiter.platform.users.views import BankCardView, UserView

MAX_CARDS = 20


def set_nickname(uow: UnitOfWork, user_id: str, nickname: str, *, now: datetime) -> None:
    """Commits once."""
    name = validation.text(nickname, "nickname", max_length=32)
    live_account(uow, user_id)
    uow.session.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == user_id).values(nickname=name, updated_at=utc(now)))
    uow.commit()


def set_identity(uow: UnitOfWork, user_id: str, *, real_name: str, id_number: str, key: bytes,
                 now: datetime) -> UserView:
    """Record the user's real name and ID number (masked, with digests). An identity once set
    is not replaced by another ID number (Conflict); the same number again updates the name.
    Commits once."""
    name = validation.real_name(real_name)
    number = validation.id_number(id_number)
    validation.digest_key(key)
    row = live_account(uow, user_id)
    number_digest = validation.digest(key, "id_number", number)
    if row.id_number_digest is not None and row.id_number_digest != number_digest:
        raise Conflict(f"user {user_id!r} already has a verified identity; it cannot be changed",
                       code="users.identity.set")
    uow.session.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == user_id).values(
        real_name_masked=validation.mask_name(name), real_name_digest=validation.digest(key, "real_name", name),
        id_number_masked=validation.mask_id_number(number), id_number_digest=number_digest, updated_at=utc(now)))
    uow.commit()
    view = get_user(uow, user_id)
    assert view is not None
    return view


def users_with_id_number(uow: UnitOfWork, id_number: str, *, key: bytes) -> list[str]:
    """The live accounts that verified this ID number (recognised by its digest)."""
    number = validation.id_number(id_number)
    digest = validation.digest(key, "id_number", number)
    rows = uow.session.execute(select(ACCOUNTS.c.id).where(
        ACCOUNTS.c.id_number_digest == digest, ACCOUNTS.c.status != CANCELLED).order_by(ACCOUNTS.c.id))
    return [row[0] for row in rows]


def card_fingerprint(card_number: str, *, key: bytes) -> str:
    """The keyed digest of a card number: how the module (and `payment.card`) recognises it."""
    return validation.digest(key, "bank_card", validation.card_number(card_number))


def add_bank_card(uow: UnitOfWork, user_id: str, card_number: str, *, key: bytes, now: datetime) -> str:
    """Bind a bank card; returns its id. The same card again returns the same id. Commits once."""
    digits = validation.card_number(card_number)
    fingerprint = validation.digest(key, "bank_card", digits)
    live_account(uow, user_id)
    existing = _card_by_digest(uow, user_id, fingerprint)
    if existing is not None:
        return existing
    count = len(list_bank_cards(uow, user_id))
    if count >= MAX_CARDS:
        raise validation.InvalidField("card_number", f"at most {MAX_CARDS} cards per user")
    card_id = new_id("card")
    uow.session.execute(insert_if_absent(CARDS, dialect(uow), dict(
        id=card_id, user_id=user_id, masked=validation.mask_card(digits), digest=fingerprint, added_at=utc(now))))
    uow.commit()
    found = _card_by_digest(uow, user_id, fingerprint)  # ours, or the one bound concurrently
    assert found is not None
    return found


def _card_by_digest(uow: UnitOfWork, user_id: str, fingerprint: str) -> str | None:
    found: str | None = uow.session.execute(select(CARDS.c.id).where(
        CARDS.c.user_id == user_id, CARDS.c.digest == fingerprint)).scalar()
    return found


def list_bank_cards(uow: UnitOfWork, user_id: str) -> list[BankCardView]:
    rows = uow.session.execute(select(CARDS).where(CARDS.c.user_id == user_id).order_by(CARDS.c.added_at, CARDS.c.id))
    return [BankCardView(row.id, row.user_id, row.masked, row.digest) for row in rows]
