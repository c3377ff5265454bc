"""Login (登录): the password, the `login` scene's answer and what is recorded after.

The scene is asked first, with the user's facts, `is_new_device` (no registration or login
from this device id before), `failed_logins_1h` (wrong passwords in the last hour) and what
the client passed through (device, IP region, emulator), so that a locked account stays
locked even with the right password:

- reject: refused with the rule's reason (`too_many_failed_logins`, `temporarily_locked`,
  `blocked`, ...); nothing is recorded, so refused attempts never extend a lock;
- otherwise a wrong password is a failure: counted in `user_login_failure` and fed to the
  velocity counters as a `login_failed` event;
- a right password with `verify(method)`: a challenge is opened and its code sent; the login
  is done when `complete_login` gets the code back;
- a right password with `pass`: logged in.

A login that is done marks the device as known and feeds a `login` event (user id, device,
IP region) to the velocity counters — the history the `unfamiliar_login` rule reads. The
decision is taken at the engine clock's time: pass `now` from the same clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, insert, select, update

from arbiter.engine.engine import Engine
from arbiter.platform.columns import utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.users import validation
from arbiter.platform.users.accounts import remember_device
from arbiter.platform.users.facts import user_facts
from arbiter.platform.users.guard import decide, device_of, record, split_context
from arbiter.platform.users.passwords import burn_time, verify_password
from arbiter.platform.users.store import (
    ACCOUNTS,
    ACTIVE,
    DEVICES,
    FAILURES,
    REFUSED,
    REVIEW,
    account,
    account_by_phone,
    new_id,
)
from arbiter.platform.users.verification import (
    SimulatedVerifier,
    Verifier,
    check_code,
    open_challenge,
)
from arbiter.platform.users.views import Login

FAILURE_WINDOW = timedelta(hours=1)
FAILURE_KEPT = timedelta(days=1)
INVALID = "invalid_credentials"  # the same for an unknown phone and a wrong password


def _refused(reason: str | None) -> Login:
    return Login(False, None, None, None, reason or "refused")


def failed_logins(uow: UnitOfWork, user_id: str, now: datetime) -> int:
    """Wrong passwords in the hour before `now`."""
    since = utc(now) - FAILURE_WINDOW
    count: int = uow.session.execute(select(func.count()).select_from(FAILURES).where(
        FAILURES.c.user_id == user_id, FAILURES.c.at > since, FAILURES.c.at <= utc(now))).scalar_one()
    return count


def is_new_device(uow: UnitOfWork, user_id: str, device_id: str) -> bool:
    """No device id sent: not new (nothing to compare)."""
    if not device_id:
        return False
    digest = validation.device_digest(device_id)
    known = uow.session.execute(select(exists().where(DEVICES.c.user_id == user_id, DEVICES.c.device == digest))).scalar()
    return not known


def login_context(uow: UnitOfWork, user_id: str, caller_facts: dict[str, Any], passthrough: dict[str, Any],
                  now: datetime) -> dict[str, Any]:
    """What the `login` scene reads: the caller's user facts, overridden by the module's."""
    facts = {**caller_facts, **user_facts(uow, user_id, now),
             "is_new_device": is_new_device(uow, user_id, device_of(passthrough)),
             "failed_logins_1h": failed_logins(uow, user_id, now)}
    return {"user": facts, "passthrough": passthrough}


def login(uow: UnitOfWork, engine: Engine, *, phone: str, password: str, context: dict[str, Any] | None,
          now: datetime, verifier: Verifier | None = None) -> Login:
    """Log in by phone and password. Commits once (the failure, the challenge or the login)."""
    number = validation.phone(phone)
    if not isinstance(password, str):
        raise validation.InvalidField("password", "expected text")
    caller_facts, passthrough = split_context(context)
    now = utc(now)
    row = account_by_phone(uow, number)  # a cancelled account's phone is a placeholder: never found
    if row is None:
        burn_time(password)
        return _refused(INVALID)
    ctx = login_context(uow, row.id, caller_facts, passthrough, now)
    verdict = decide(engine, "login", ctx)
    if verdict.action == "reject":
        return _refused(verdict.reason)
    if not verify_password(password, row.password_hash):
        uow.session.execute(insert(FAILURES).values(user_id=row.id, at=now))
        uow.session.execute(delete(FAILURES).where(FAILURES.c.user_id == row.id, FAILURES.c.at <= now - FAILURE_KEPT))
        record(engine, "login_failed", ctx, now, new_id(f"login_failed:{row.id}"))
        uow.commit()
        return _refused(INVALID)
    if row.status == REVIEW:
        return _refused("account_under_review")
    if row.status == REFUSED:
        return _refused("account_refused")
    if row.status != ACTIVE:
        return _refused(INVALID)
    if verdict.action == "verify" and verdict.method != "password":  # the password was just checked
        method = str(verdict.method or "sms")
        challenge = open_challenge(uow, row.id, purpose="login", method=method, phone=number,
                                   context={"passthrough": passthrough}, now=now, verifier=verifier or SimulatedVerifier())
        uow.commit()
        return Login(False, row.id, method, challenge, "verification_required")
    if verdict.action not in ("pass", "verify"):  # review is not a login answer: refuse
        return _refused(verdict.reason)
    _logged_in(uow, engine, row.id, ctx, now)
    uow.commit()
    return Login(True, row.id, None, None, None)


def complete_login(uow: UnitOfWork, challenge_id: str, code: str, *, now: datetime,
                   engine: Engine | None = None) -> Login:
    """Finish a login the scene asked to verify, with the code the user received. Pass the
    `engine` so that the login reaches its velocity counters (without it, the next login from
    this region is asked to verify again). Commits once."""
    now = utc(now)
    checked = check_code(uow, challenge_id, code, purpose="login", now=now)
    if not checked.ok or checked.user_id is None:
        uow.commit()  # keep the wrong attempt or the expiry
        return _refused(checked.reason)
    row = account(uow, checked.user_id)
    if row is None or row.status != ACTIVE:
        uow.commit()
        return _refused(INVALID)
    if checked.method == "sms":  # the code reached the phone: the number is the user's
        uow.session.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == row.id).values(phone_verified=True))
    passthrough = checked.context.get("passthrough") or {}
    ctx = {"user": user_facts(uow, row.id, now), "passthrough": passthrough}
    _logged_in(uow, engine, row.id, ctx, now)
    uow.commit()
    return Login(True, row.id, None, None, None)


def _logged_in(uow: UnitOfWork, engine: Engine | None, user_id: str, ctx: dict[str, Any], now: datetime) -> None:
    device = device_of(ctx["passthrough"])
    if device:
        remember_device(uow, user_id, device, now)
    uow.session.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == user_id).values(last_login_at=now))
    record(engine, "login", ctx, now, new_id(f"login:{user_id}"))
