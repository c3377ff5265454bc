"""What the users module's use cases return: results with a reason for expected outcomes,
and read-only views of accounts, addresses, cards and tags (never a clear personal number)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from arbiter.errors import NotFound


class AddressNotOwned(NotFound):
    """The address does not exist or is another user's: answered alike, so that nobody learns
    which address ids exist."""

    code = "users.address.not_owned"


class UserNotFound(NotFound):
    code = "users.user.not_found"


@dataclass(frozen=True, slots=True)
class Registration:
    """ok: an account was created (status active, or review when the register scene held it
    for a person); otherwise `reason` says why not. `verification` is the method of the code
    sent to confirm the phone, completed with `confirm_phone(challenge_id, code)`."""

    ok: bool
    user_id: str | None
    status: str | None
    reason: str | None
    verification: str | None
    challenge_id: str | None = None


@dataclass(frozen=True, slots=True)
class Login:
    """ok: logged in. Not ok with `verification` set: the login scene asked for that
    verification first (complete it with `complete_login(challenge_id, code)`). Not ok
    without: refused, `reason` says why."""

    ok: bool
    user_id: str | None
    verification: str | None
    challenge_id: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """An action that may be refused: cancelling an account, confirming a phone."""

    ok: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class UserView:
    id: str
    phone_masked: str
    status: str
    nickname: str
    real_name_masked: str | None
    id_number_masked: str | None
    level: int
    phone_verified: bool
    registered_at: datetime
    last_login_at: datetime | None
    cancelled_at: datetime | None


@dataclass(frozen=True, slots=True)
class AddressView:
    id: str
    user_id: str
    name: str
    phone: str
    region: str
    city: str
    detail: str
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class BankCardView:
    """`fingerprint` is the keyed digest: what `payment.card` carries, never the number."""

    id: str
    user_id: str
    masked: str
    fingerprint: str | None


@dataclass(frozen=True, slots=True)
class TagView:
    user_id: str
    tag: str
    value: str
    source: str
    computed_at: datetime
    expires_at: datetime | None
