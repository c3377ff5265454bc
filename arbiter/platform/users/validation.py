"""Checking and masking what users type in: mainland mobile numbers, passwords, resident ID
numbers (the 18-digit ISO 7064 MOD 11-2 check digit), bank card numbers (Luhn), real names;
the masked forms kept at rest and the keyed digests that recognise a number again.

Pure functions: no database. A bad value raises `InvalidField`, an `InvalidInput` that names
the field.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date
from typing import Any

from arbiter.errors import InvalidInput

PHONE = re.compile(r"1[0-9]{10}")
MIN_PASSWORD = 8
MAX_PASSWORD = 128  # bounds the work one scrypt call is handed
MIN_KEY = 16  # bytes of the digest key
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"  # the check character for (weighted sum mod 11)
MAX_TEXT = 200


class InvalidField(InvalidInput):
    """Bad input in one named field; nothing was changed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", code=f"users.invalid.{field}")
        self.field = field


def text(value: Any, field: str, *, max_length: int = MAX_TEXT, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidField(field, f"expected text, got {type(value).__name__}")
    cleaned = value.strip()
    if not cleaned and not allow_empty:
        raise InvalidField(field, "must not be empty")
    if len(cleaned) > max_length:
        raise InvalidField(field, f"at most {max_length} characters")
    return cleaned


def phone(value: Any, field: str = "phone") -> str:
    """A mainland mobile number: 11 digits starting with 1 (spaces around it are dropped)."""
    if not isinstance(value, str) or not PHONE.fullmatch(value.strip()):
        raise InvalidField(field, f"{value!r} is not a mobile number (11 digits starting with 1)")
    return value.strip()


def password(value: Any, field: str = "password") -> str:
    """Never echoed back in the message."""
    if not isinstance(value, str):
        raise InvalidField(field, "expected text")
    if len(value) < MIN_PASSWORD:
        raise InvalidField(field, f"too weak: at least {MIN_PASSWORD} characters")
    if len(value) > MAX_PASSWORD:
        raise InvalidField(field, f"at most {MAX_PASSWORD} characters")
    return value


def id_check_character(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def id_number(value: Any, field: str = "id_number") -> str:
    """An 18-character resident ID number (居民身份证号): 17 digits, a valid birth date at
    positions 7-14 and the check character (a digit or X) the others give. Returned with an
    upper-case X."""
    if not isinstance(value, str):
        raise InvalidField(field, "expected text")
    number = value.strip().upper()
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidField(field, "must be 17 digits and a check digit (0-9 or X)")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidField(field, "the birth date in it is not a date") from None
    if born.year < 1900:
        raise InvalidField(field, "the birth date in it is before 1900")
    if id_check_character(number[:17]) != number[17]:
        raise InvalidField(field, "the check digit does not match")
    return number


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        n = int(char)
        if index % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def card_number(value: Any, field: str = "card_number") -> str:
    """12 to 19 digits (spaces and hyphens allowed between them) passing the Luhn check."""
    if not isinstance(value, str):
        raise InvalidField(field, "expected text")
    digits = re.sub(r"[\s-]", "", value)
    if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise InvalidField(field, "must be 12 to 19 digits")
    if not luhn_ok(digits):
        raise InvalidField(field, "fails the Luhn check: a digit is wrong")
    return digits


def real_name(value: Any, field: str = "real_name") -> str:
    name = text(value, field, max_length=64)
    if any(c.isdigit() for c in name):
        raise InvalidField(field, "a name has no digits")
    return name


# ---------------------------------------------------------------- masking and digests


def mask_id_number(number: str) -> str:
    """110***********002X: the first three and the last four; the birth date is hidden."""
    return number[:3] + "*" * 11 + number[-4:]


def mask_card(digits: str) -> str:
    """6222 **** **** 0123 whatever the length: the issuer prefix and the last four."""
    return f"{digits[:4]} **** **** {digits[-4:]}"


def mask_name(name: str) -> str:
    """张** : the first character only (a one-character name shows nothing)."""
    return "*" if len(name) == 1 else name[0] + "*" * (len(name) - 1)


def mask_phone(number: str) -> str:
    return number[:3] + "****" + number[-4:] if len(number) == 11 else "*" * len(number)


def digest_key(key: Any) -> bytes:
    if not isinstance(key, bytes) or len(key) < MIN_KEY:
        raise InvalidField("key", f"the digest key must be at least {MIN_KEY} bytes")
    return key


def digest(key: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 of `value`, separated by `kind` so that an ID number and a card number
    never share a digest."""
    return hmac.new(digest_key(key), f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()


def device_digest(device_id: str) -> str:
    return hashlib.sha256(device_id.encode("utf-8")).hexdigest()
