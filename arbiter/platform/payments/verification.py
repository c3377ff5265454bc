"""Payment verification (交易鉴权): proving it is the account holder who pays.

The risk decision picks the method (an SMS code, the payment password, the face or a
fingerprint); a `Verifier` checks the proof. `challenge` starts a verification that needs
something sent first (the SMS code); `check` answers whether a proof is right.

`SimulatedVerifier` keeps everything in memory for the demo and the tests: it issues a fresh
six-digit SMS code per payment (readable with `sms_code`, as the phone would show it; used
once, and a newer code for the same user replaces the older), checks payment passwords
hashed with scrypt and a salt of their own, and compares face and fingerprint tokens the
test enrolled (kept as SHA-256 digests).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from typing import Protocol

from arbiter.errors import InvalidInput

N, R, P = 2**14, 8, 1  # about 16 MiB and tens of milliseconds per check
SALT_BYTES = 16
PROOF_LENGTH = 200


class Verifier(Protocol):
    def challenge(self, user_id: str, method: str, payment_id: str) -> None: ...

    def check(self, user_id: str, method: str, proof: str) -> bool: ...


def _scrypt(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=N, r=R, p=P, dklen=32, maxmem=2 * 128 * R * N)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class SimulatedVerifier:
    def __init__(self) -> None:
        self._passwords: dict[str, tuple[bytes, bytes]] = {}  # user -> salt, scrypt key
        self._tokens: dict[tuple[str, str], bytes] = {}  # (user, face|fingerprint) -> digest
        self._codes: dict[str, tuple[str, str]] = {}  # payment -> user, code
        self._current: dict[str, str] = {}  # user -> the payment whose code is outstanding

    def set_password(self, user_id: str, password: str) -> None:
        """A payment password (支付密码) is six digits."""
        if not (isinstance(password, str) and len(password) == 6 and password.isdigit()):
            raise InvalidInput("password: a payment password is six digits")
        salt = os.urandom(SALT_BYTES)
        self._passwords[user_id] = (salt, _scrypt(password, salt))

    def enroll(self, user_id: str, method: str, token: str) -> None:
        """Remember the face or fingerprint token the device will present for `user_id`."""
        if method not in ("face", "fingerprint"):
            raise InvalidInput(f"method: only face and fingerprint tokens are enrolled, not {method!r}")
        if not token:
            raise InvalidInput("token: must not be empty")
        self._tokens[(user_id, method)] = _digest(token)

    def challenge(self, user_id: str, method: str, payment_id: str) -> None:
        if method != "sms":
            return  # the password, face and fingerprint need nothing sent
        code = f"{secrets.randbelow(10**6):06d}"
        previous = self._current.get(user_id)
        if previous is not None:
            self._codes.pop(previous, None)
        self._codes[payment_id] = (user_id, code)
        self._current[user_id] = payment_id

    def sms_code(self, payment_id: str) -> str | None:
        """The code sent for `payment_id`, as the user's phone shows it; None when none is
        outstanding."""
        found = self._codes.get(payment_id)
        return found[1] if found is not None else None

    def check(self, user_id: str, method: str, proof: str) -> bool:
        if not isinstance(proof, str) or not proof or len(proof) > PROOF_LENGTH:
            return False
        if method == "sms":
            payment_id = self._current.get(user_id)
            sent = self._codes.get(payment_id) if payment_id is not None else None
            if payment_id is None or sent is None or not hmac.compare_digest(sent[1], proof):
                return False
            del self._codes[payment_id]  # a code is used once
            del self._current[user_id]
            return True
        if method == "password":
            stored = self._passwords.get(user_id)
            if stored is None:
                return False
            return hmac.compare_digest(_scrypt(proof, stored[0]), stored[1])
        if method in ("face", "fingerprint"):
            token = self._tokens.get((user_id, method))
            return token is not None and hmac.compare_digest(token, _digest(proof))
        return False
