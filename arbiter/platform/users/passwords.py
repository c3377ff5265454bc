"""Password hashing: scrypt with a random salt per password, the parameters stored with the
hash so that stronger ones can be adopted later without breaking old accounts.

Stored form: `scrypt$<n>$<r>$<p>$<salt, base64>$<key, base64>`. Verification recomputes
with the stored parameters and compares in constant time. The password itself is never
stored, logged or put in a message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

N, R, P = 2**14, 8, 1  # about 16 MiB and tens of milliseconds per hash
KEY_BYTES = 32
SALT_BYTES = 16
UNUSABLE = "!"  # what a cancelled account keeps: no password verifies against it
_MAX_N = 2**20  # refuse stored parameters that would ask for absurd memory


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    salt = os.urandom(SALT_BYTES)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=N, r=R, p=P, dklen=KEY_BYTES,
                         maxmem=2 * 128 * R * N)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` is the one `stored` was made from; False for anything else,
    including an unusable or malformed stored hash."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = base64.b64decode(parts[4]), base64.b64decode(parts[5])
    except ValueError:
        return False
    if not (1 < n <= _MAX_N and 0 < r <= 32 and 0 < p <= 16 and expected):
        return False
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(expected),
                         maxmem=2 * 128 * r * n + 1024 * 1024)
    return hmac.compare_digest(key, expected)


def burn_time(password: str) -> None:
    """Spend what a verification costs when there is no account, so that timing does not
    tell which phones are registered."""
    hashlib.scrypt(password.encode("utf-8"), salt=b"\0" * SALT_BYTES, n=N, r=R, p=P, dklen=KEY_BYTES,
                   maxmem=2 * 128 * R * N)
