"""Identity and bank cards masked at rest (read back from the raw rows), and addresses a user
can only use when they are their own."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine as Database

from arbiter.engine.engine import Engine
from arbiter.errors import Conflict
from arbiter.platform.db import UnitOfWork
from arbiter.platform.users import service as users

from .support import CARD, ID_NUMBER, KEY, T0, account_row, raw_rows, register, stored_text


def test_the_identity_is_kept_masked_with_a_keyed_digest(db: Database, engine: Engine) -> None:
    user_id = register(db, engine)
    with UnitOfWork(db) as uow:
        view = users.set_identity(uow, user_id, real_name=" 张三丰 ", id_number=ID_NUMBER, key=KEY, now=T0)
    assert (view.real_name_masked, view.id_number_masked) == ("张**", "110***********1239")
    row = account_row(db, user_id)
    assert row["id_number_digest"] == hmac.new(KEY, b"id_number\0" + ID_NUMBER.encode(), hashlib.sha256).hexdigest()
    stored = stored_text(db)
    assert ID_NUMBER not in stored and "19900307" not in stored and "张三丰" not in stored
    with UnitOfWork(db) as uow:
        assert users.users_with_id_number(uow, ID_NUMBER, key=KEY) == [user_id]
        assert users.users_with_id_number(uow, ID_NUMBER, key=b"another key of 16+ bytes") == []
    # The same number again may correct the name; another number is refused.
    with UnitOfWork(db) as uow:
        assert users.set_identity(uow, user_id, real_name="张三", id_number=ID_NUMBER.lower(), key=KEY,
                                  now=T0).real_name_masked == "张*"
    with UnitOfWork(db) as uow, pytest.raises(Conflict):
        users.set_identity(uow, user_id, real_name="李四", id_number="11010519491231002X", key=KEY, now=T0)


@pytest.mark.parametrize(("real_name", "id_number", "key", "field"), [
    ("张三", "110105199003071238", KEY, "id_number"),  # the check digit is 9
    ("张三", "110105199002301234", KEY, "id_number"),  # 30 February
    ("张三", "11010519900307123", KEY, "id_number"),  # 17 characters
    ("张三", "11010519900307123Y", KEY, "id_number"),
    ("", ID_NUMBER, KEY, "real_name"),
    ("张3", ID_NUMBER, KEY, "real_name"),
    ("张三", ID_NUMBER, b"short", "key"),
])
def test_a_bad_identity_names_the_field_and_changes_nothing(db: Database, engine: Engine, real_name: str,
                                                            id_number: str, key: bytes, field: str) -> None:
    user_id = register(db, engine)
    before = raw_rows(db)
    with UnitOfWork(db) as uow, pytest.raises(users.InvalidField) as caught:
        users.set_identity(uow, user_id, real_name=real_name, id_number=id_number, key=key, now=T0)
    assert caught.value.field == field
    assert raw_rows(db) == before


def test_bank_cards_are_masked_recognised_again_and_luhn_checked(db: Database, engine: Engine) -> None:
    user_id = register(db, engine)
    with UnitOfWork(db) as uow:
        first = users.add_bank_card(uow, user_id, CARD, key=KEY, now=T0)
        again = users.add_bank_card(uow, user_id, "6222 0200 0009 0123", key=KEY, now=T0)
        visa = users.add_bank_card(uow, user_id, "4111-1111-1111-1111", key=KEY, now=T0 + timedelta(seconds=1))
        cards = users.list_bank_cards(uow, user_id)
    assert first == again != visa
    assert [(c.id, c.masked) for c in cards] == [(first, "6222 **** **** 0123"), (visa, "4111 **** **** 1111")]
    assert cards[0].fingerprint == users.card_fingerprint(CARD, key=KEY)
    stored = stored_text(db)
    assert CARD not in stored and "4111111111111111" not in stored and "020000090" not in stored
    before = raw_rows(db)
    for bad in ("6222020000090124", "6222", "6222 0200 0009 012a"):
        with UnitOfWork(db) as uow, pytest.raises(users.InvalidField) as caught:
            users.add_bank_card(uow, user_id, bad, key=KEY, now=T0)
        assert caught.value.field == "card_number"
    assert raw_rows(db) == before


def test_addresses_have_one_default_and_belong_to_their_user(db: Database, engine: Engine) -> None:
    alice, bob = register(db, engine, "13800138000"), register(db, engine, "13900139000")
    with UnitOfWork(db) as uow:
        home = users.add_address(uow, alice, name="王小明", phone="13800138000", region="上海", city="上海市",
                                 detail="浦东新区世纪大道100号")
        office = users.add_address(uow, alice, name="王小明", phone="13800138000", region="北京", city="北京市",
                                   detail="海淀区中关村大街1号")
        theirs = users.add_address(uow, bob, name="李雷", phone="13900139000", region="广东", city="深圳市",
                                   detail="南山区科技园")
        assert users.get_address(uow, home) == users.AddressView(
            home, alice, "王小明", "13800138000", "上海", "上海市", "浦东新区世纪大道100号", True)
        assert [a.id for a in users.list_addresses(uow, alice)] == [home, office]
        assert users.address_of(uow, alice, office).city == "北京市"
        with pytest.raises(users.AddressNotOwned, match="is not one of user"):
            users.address_of(uow, alice, theirs)
        with pytest.raises(users.AddressNotOwned):
            users.address_of(uow, alice, "addr-missing")
        assert users.get_address(uow, "addr-missing") is None
        assert users.user_facts(uow, alice, T0)["region"] == "上海"
        users.set_default_address(uow, alice, office)
        assert [(a.id, a.is_default) for a in users.list_addresses(uow, alice)] == [(office, True), (home, False)]
        assert users.user_facts(uow, alice, T0)["city"] == "北京市"
        users.remove_address(uow, alice, office)
        assert [(a.id, a.is_default) for a in users.list_addresses(uow, alice)] == [(home, True)]
        third = users.add_address(uow, alice, name="王小明", phone="13800138000", region="江苏", city="南京市",
                                  detail="玄武区", default=True)
        assert [a.id for a in users.list_addresses(uow, alice)] == [third, home]


@pytest.mark.parametrize(("field", "value"), [("phone", "0210000000"), ("name", "  "), ("detail", "x" * 201)])
def test_a_bad_address_names_the_field_and_changes_nothing(db: Database, engine: Engine, field: str, value: str) -> None:
    user_id = register(db, engine)
    fields = {"name": "王小明", "phone": "13800138000", "region": "上海", "city": "上海市", "detail": "世纪大道100号"}
    with UnitOfWork(db) as uow, pytest.raises(users.InvalidField) as caught:
        users.add_address(uow, user_id, **{**fields, field: value})
    assert caught.value.field == field
    with UnitOfWork(db) as uow:
        assert users.list_addresses(uow, user_id) == []
    with UnitOfWork(db) as uow, pytest.raises(users.UserNotFound):
        users.add_address(uow, "u-nobody", **fields)
