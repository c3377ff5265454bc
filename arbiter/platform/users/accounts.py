"""Accounts: registration, phone confirmation, review, cancellation (注销) and reading one.

Registration asks the `register` scene: reject -> no account, with the reason; review -> an
account in status `review` until a person resolves it; pass -> `active`. The rule's
`tag_user` effects become tags. The password is kept only as a scrypt hash. A code is sent to
the phone; giving it back (`confirm_phone`) sets `phone_verified`.

Cancellation keeps the account row and its id (orders, bills and settlements elsewhere still
point at it) but replaces the phone, nickname and addresses with placeholders, removes the
identity, card numbers' digests, devices, challenges and tags, and makes the password
unusable: nobody can log in again. The phone is free to register a new account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, update

from arbiter.engine.engine import Engine
from arbiter.errors import Conflict
from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.sql import insert_if_absent, upsert
from arbiter.platform.users import validation
from arbiter.platform.users.guard import decide, device_of, split_context
from arbiter.platform.users.passwords import UNUSABLE, hash_password, verify_password
from arbiter.platform.users.store import (
    ACCOUNTS,
    ACTIVE,
    ADDRESSES,
    CANCELLED,
    CARDS,
    CHALLENGES,
    DEVICES,
    FAILURES,
    ORDER_FACTS,
    OUTBOX,
    REFUSED,
    REVIEW,
    TAGS,
    account,
    account_by_phone,
    dialect,
    new_id,
    require_account,
)
from arbiter.platform.users.tags import apply_tag_effects
from arbiter.platform.users.verification import (
    SimulatedVerifier,
    Verifier,
    check_code,
    open_challenge,
)
from arbiter.platform.users.views import Outcome, Registration, UserView

CANCELLED_NICKNAME = "已注销用户"
PLACEHOLDER = "***"
CARD_PLACEHOLDER = "**** **** **** ****"


def register(uow: UnitOfWork, engine: Engine, *, phone: str, password: str, context: dict[str, Any] | None,
             now: datetime, verifier: Verifier | None = None) -> Registration:
    """Register an account by phone and password. Commits once (nothing when refused)."""
    number = validation.phone(phone)
    secret = validation.password(password)
    caller_facts, passthrough = split_context(context)
    now = utc(now)
    taken = Registration(False, None, None, "phone_already_registered", None)
    if account_by_phone(uow, number) is not None:
        return taken
    user_id = new_id("u")
    facts = {**caller_facts, "id": user_id, "registered_at": now, "registered_days": 0, "level": 0,
             "phone_verified": False, "tags": frozenset()}
    verdict = decide(engine, "register", {"user": facts, "passthrough": passthrough})
    if verdict.action not in ("pass", "review"):
        return Registration(False, None, None, verdict.reason or "refused", None)
    status = REVIEW if verdict.action == "review" else ACTIVE
    added = uow.session.execute(insert_if_absent(ACCOUNTS, dialect(uow), dict(
        id=user_id, phone=number, password_hash=hash_password(secret), status=status,
        status_reason=verdict.reason, nickname="", level=0, phone_verified=False,
        registered_at=now, updated_at=now)))
    if not added.rowcount:  # type: ignore[attr-defined]  # the same phone, registered meanwhile
        return taken
    device = device_of(passthrough)
    if device:
        remember_device(uow, user_id, device, now)
    apply_tag_effects(uow, user_id, verdict.effects, scene="register", now=now)
    challenge = open_challenge(uow, user_id, purpose="phone", method="sms", phone=number, context={},
                               now=now, verifier=verifier or SimulatedVerifier())
    uow.commit()
    return Registration(True, user_id, status, verdict.reason, "sms", challenge)


def remember_device(uow: UnitOfWork, user_id: str, device_id: str, now: datetime) -> None:
    """Mark a device as the user's own (registered or logged in on it). Does not commit."""
    digest = validation.device_digest(device_id)
    values = dict(user_id=user_id, device=digest, first_seen_at=utc(now), last_seen_at=utc(now))
    uow.session.execute(upsert(DEVICES, dialect(uow), values, [DEVICES.c.user_id, DEVICES.c.device],
                               {"last_seen_at": utc(now)}))


def confirm_phone(uow: UnitOfWork, challenge_id: str, code: str, *, now: datetime) -> Outcome:
    """Give back the code sent at registration: the phone is verified. Commits once."""
    checked = check_code(uow, challenge_id, code, purpose="phone", now=now)
    if checked.ok:
        uow.session.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == checked.user_id, ACCOUNTS.c.status != CANCELLED)
                            .values(phone_verified=True, updated_at=utc(now)))
    uow.commit()
    return Outcome(checked.ok, checked.reason)


def resolve_review(uow: UnitOfWork, user_id: str, *, approved: bool, reason: str, now: datetime) -> Outcome:
    """A person's answer on an account the register scene held: active or refused. Commits once."""
    why = validation.text(reason, "reason")
    require_account(uow, user_id)
    done = uow.session.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == user_id, ACCOUNTS.c.status == REVIEW)
                               .values(status=ACTIVE if approved else REFUSED, status_reason=why, updated_at=utc(now)))
    if not done.rowcount:  # type: ignore[attr-defined]
        return Outcome(False, "not_under_review")
    uow.commit()
    return Outcome(True)


def cancel_account(uow: UnitOfWork, user_id: str, *, password: str, now: datetime) -> Outcome:
    """注销: anonymise the account and everything personal the module keeps, keep its id.
    The password must be given again. Emits `user.cancelled`. Commits once."""
    if not isinstance(password, str):
        raise validation.InvalidField("password", "expected text")
    row = require_account(uow, user_id)
    if row.status == CANCELLED:
        return Outcome(False, "already_cancelled")
    if not verify_password(password, row.password_hash):
        return Outcome(False, "wrong_password")
    now = utc(now)
    done = uow.session.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == user_id, ACCOUNTS.c.status != CANCELLED).values(
        phone=new_id("cancelled"), password_hash=UNUSABLE, status=CANCELLED, status_reason="cancelled by the user",
        nickname=CANCELLED_NICKNAME, real_name_masked=None, real_name_digest=None, id_number_masked=None,
        id_number_digest=None, phone_verified=False, updated_at=now, cancelled_at=now))
    if not done.rowcount:  # type: ignore[attr-defined]  # cancelled meanwhile
        return Outcome(False, "already_cancelled")
    uow.session.execute(update(ADDRESSES).where(ADDRESSES.c.user_id == user_id).values(
        name=PLACEHOLDER, phone=PLACEHOLDER, region=PLACEHOLDER, city=PLACEHOLDER, detail=PLACEHOLDER,
        is_default=False))
    uow.session.execute(update(CARDS).where(CARDS.c.user_id == user_id).values(masked=CARD_PLACEHOLDER, digest=None))
    for table in (DEVICES, FAILURES, CHALLENGES, OUTBOX, TAGS, ORDER_FACTS):
        uow.session.execute(delete(table).where(table.c.user_id == user_id))
    events.emit(uow, "user.cancelled", user_id, {"user": user_id}, now)
    uow.commit()
    return Outcome(True)


def set_level(uow: UnitOfWork, user_id: str, level: int, *, now: datetime) -> None:
    """The member tier (会员等级): 0 ordinary, 1-5 member tiers. Commits once."""
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 5:
        raise validation.InvalidField("level", f"{level!r} is not a tier from 0 to 5")
    live_account(uow, user_id)
    uow.session.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == user_id).values(level=level, updated_at=utc(now)))
    uow.commit()


def live_account(uow: UnitOfWork, user_id: str) -> Any:
    """The account, refusing a cancelled one (its data is gone and stays gone)."""
    row = require_account(uow, user_id)
    if row.status == CANCELLED:
        raise Conflict(f"user {user_id!r} has cancelled their account", code="users.account.cancelled")
    return row


def get_user(uow: UnitOfWork, user_id: str) -> UserView | None:
    row = account(uow, user_id) if isinstance(user_id, str) else None
    if row is None:
        return None
    registered_at = as_utc(row.registered_at)
    assert registered_at is not None
    phone = PLACEHOLDER if row.status == CANCELLED else validation.mask_phone(row.phone)
    return UserView(row.id, phone, row.status, row.nickname, row.real_name_masked, row.id_number_masked,
                    row.level, bool(row.phone_verified), registered_at, as_utc(row.last_login_at),
                    as_utc(row.cancelled_at))
