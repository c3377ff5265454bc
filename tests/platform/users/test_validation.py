"""The pure checks and masks, with properties over generated numbers: every valid ID number
and card is accepted and masked without its middle digits, every single-digit error is
caught, every password verifies against its own hash only."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbiter.platform.users import validation as v
from arbiter.platform.users.passwords import hash_password, verify_password

births = st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31))
regions = st.integers(110000, 659999).map(str)
sequences = st.integers(0, 999).map(lambda n: f"{n:03d}")


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    first17 = draw(regions) + draw(births).strftime("%Y%m%d") + draw(sequences)
    return first17 + v.id_check_character(first17)


@st.composite
def cards(draw: st.DrawFn) -> str:
    body = draw(st.text("0123456789", min_size=11, max_size=18))
    return body + next(d for d in "0123456789" if v.luhn_ok(body + d))


@given(id_numbers())
def test_every_valid_id_number_is_accepted_and_masked(number: str) -> None:
    assert v.id_number(number.lower()) == number
    masked = v.mask_id_number(number)
    assert masked == number[:3] + "*" * 11 + number[-4:] and len(masked) == 18


@given(id_numbers(), st.integers(0, 16), st.integers(1, 9))
def test_a_changed_digit_of_an_id_number_fails_its_check(number: str, position: int, shift: int) -> None:
    digit = str((int(number[position]) + shift) % 10)
    changed = number[:position] + digit + number[position + 1:]
    with pytest.raises(v.InvalidField) as caught:
        v.id_number(changed)
    assert caught.value.field == "id_number"


@given(cards())
def test_every_luhn_card_is_accepted_and_masked_to_its_ends(digits: str) -> None:
    spaced = " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))
    assert v.card_number(spaced) == digits
    masked = v.mask_card(digits)
    assert masked == f"{digits[:4]} **** **** {digits[-4:]}"
    assert sum(c.isdigit() for c in masked) == 8


@given(cards(), st.data())
def test_a_changed_digit_of_a_card_fails_luhn(digits: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(digits) - 1))
    digit = str((int(digits[position]) + data.draw(st.integers(1, 9))) % 10)
    with pytest.raises(v.InvalidField, match="Luhn"):
        v.card_number(digits[:position] + digit + digits[position + 1:])


def test_the_documented_examples() -> None:
    assert v.id_number("11010519491231002x") == "11010519491231002X"
    assert v.mask_card("6222020000090123") == "6222 **** **** 0123"
    assert v.mask_name("欧阳娜娜") == "欧***" and v.mask_name("张") == "*"
    assert v.mask_phone("13800138000") == "138****8000"
    assert v.phone(" 19912345678 ") == "19912345678"
    assert v.digest(b"k" * 16, "bank_card", "1") != v.digest(b"k" * 16, "id_number", "1")


@settings(max_examples=8, deadline=None)
@given(st.text(min_size=8, max_size=40))
def test_a_password_verifies_against_its_own_hash_only(password: str) -> None:
    stored = hash_password(password)
    assert verify_password(password, stored)
    assert not verify_password(password + "x", stored)
    assert password not in stored.split("$")[4:] and stored != hash_password(password)  # salted


@pytest.mark.parametrize("stored", ["", "!", "bcrypt$1$2$3$a$b", "scrypt$x$8$1$AA==$AA==",
                                    "scrypt$4194304$8$1$AA==$AA==", "scrypt$16384$8$1$%%$AA=="])
def test_a_malformed_stored_hash_verifies_nothing(stored: str) -> None:
    assert not verify_password("whatever it is", stored)
