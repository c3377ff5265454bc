"""Verification challenges (身份验证): the code a user must give back to finish a login the
rules asked to verify, or to confirm their phone.

A challenge keeps a salted SHA-256 of a random six-digit code, lives five minutes and takes
five wrong codes; completing it is one conditional UPDATE (`WHERE status = 'open'`), so a code
is used once even when two requests race. The code reaches the user through a `Verifier`:
`SimulatedVerifier` (the embedded default, tests, demos) writes it to the `user_sms_outbox`
table, where `simulated_code` reads it; a deployment passes its SMS or face gateway instead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import case, insert, select, update

from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.users.store import CHALLENGES, OUTBOX, new_id
from arbiter.platform.users.validation import mask_phone

CODE_DIGITS = 6
CHALLENGE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
METHODS = ("sms", "face", "fingerprint")


class Verifier(Protocol):
    def send(self, uow: UnitOfWork, *, challenge_id: str, user_id: str, method: str, phone: str,
             code: str, now: datetime) -> None:
        """Deliver `code` by `method` (an SMS to `phone`, a face check's pass token, ...)."""


class SimulatedVerifier:
    """Delivers nothing: keeps the code in `user_sms_outbox`, in the caller's transaction."""

    def send(self, uow: UnitOfWork, *, challenge_id: str, user_id: str, method: str, phone: str,
             code: str, now: datetime) -> None:
        uow.session.execute(insert(OUTBOX).values(challenge_id=challenge_id, user_id=user_id, method=method,
                                                  phone_masked=mask_phone(phone), code=code, sent_at=utc(now)))


def simulated_code(uow: UnitOfWork, challenge_id: str) -> str | None:
    """The code the simulated verifier "sent" for this challenge."""
    code: str | None = uow.session.execute(
        select(OUTBOX.c.code).where(OUTBOX.c.challenge_id == challenge_id)).scalar()
    return code


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}\0{code}".encode()).hexdigest()


def open_challenge(uow: UnitOfWork, user_id: str, *, purpose: str, method: str, phone: str,
                   context: dict[str, Any], now: datetime, verifier: Verifier) -> str:
    """Create a challenge and send its code; returns the challenge id. Does not commit."""
    challenge_id = new_id("ch")
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    salt = secrets.token_hex(16)
    uow.session.execute(insert(CHALLENGES).values(
        id=challenge_id, user_id=user_id, purpose=purpose, method=method, code_salt=salt,
        code_digest=_digest(salt, code), context=json.dumps(context, ensure_ascii=False, default=str),
        attempts=0, status="open", created_at=utc(now), expires_at=utc(now) + CHALLENGE_TTL))
    verifier.send(uow, challenge_id=challenge_id, user_id=user_id, method=method, phone=phone, code=code, now=now)
    return challenge_id


@dataclass(frozen=True, slots=True)
class Checked:
    ok: bool
    reason: str | None = None
    user_id: str | None = None
    method: str | None = None
    context: dict[str, Any] = field(default_factory=dict)


def check_code(uow: UnitOfWork, challenge_id: Any, code: Any, *, purpose: str, now: datetime) -> Checked:
    """Try `code` on the challenge. Does not commit: the caller commits whatever the outcome,
    so that wrong codes and expiry are kept."""
    now = utc(now)
    row = None
    if isinstance(challenge_id, str):
        row = uow.session.execute(select(CHALLENGES).where(CHALLENGES.c.id == challenge_id)).first()
    if row is None or row.purpose != purpose:
        return Checked(False, "unknown_challenge")
    is_open = (CHALLENGES.c.id == challenge_id, CHALLENGES.c.status == "open")
    if row.status != "open":
        return Checked(False, "challenge_closed")
    expires_at = as_utc(row.expires_at)
    assert expires_at is not None
    if expires_at <= now:
        uow.session.execute(update(CHALLENGES).where(*is_open).values(status="expired"))
        return Checked(False, "challenge_expired")
    given = code if isinstance(code, str) else ""
    if not hmac.compare_digest(_digest(row.code_salt, given.strip()), row.code_digest):
        uow.session.execute(update(CHALLENGES).where(*is_open).values(
            attempts=CHALLENGES.c.attempts + 1,
            status=case((CHALLENGES.c.attempts + 1 >= MAX_ATTEMPTS, "failed"), else_="open")))
        return Checked(False, "too_many_attempts" if row.attempts + 1 >= MAX_ATTEMPTS else "wrong_code")
    done = uow.session.execute(update(CHALLENGES).where(*is_open).values(status="done", context="{}"))
    if not done.rowcount:  # type: ignore[attr-defined]  # another request used it first
        return Checked(False, "challenge_closed")
    return Checked(True, None, row.user_id, row.method, json.loads(row.context))
