"""Registration driven by the demo `register_guard` rules, the stored password hash, phone
confirmation, review, and cancellation (注销)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine as Database

from arbiter.clock import FixedClock
from arbiter.engine.engine import Engine
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.users import service as users
from arbiter.platform.users.passwords import verify_password

from .support import (
    CARD,
    HOME,
    ID_NUMBER,
    KEY,
    PASSWORD,
    PHONE,
    T0,
    account_row,
    code_of,
    login,
    raw_rows,
    register,
    stored_text,
)


def test_a_welcome_registration_is_active_tagged_new_and_keeps_only_a_hash(db: Database, engine: Engine) -> None:
    with UnitOfWork(db) as uow:
        result = users.register(uow, engine, phone=" 13800138000 ", password=PASSWORD, context=HOME, now=T0)
    assert (result.ok, result.status, result.reason, result.verification) == (True, "active", None, "sms")
    assert result.user_id is not None and result.user_id.startswith("u-")
    row = account_row(db, result.user_id)
    assert row["phone"] == PHONE and row["status"] == "active" and row["phone_verified"] is False
    stored = row["password_hash"]
    assert PASSWORD not in stored_text(db)
    algorithm, n, r, p, salt, key = stored.split("$")
    assert (algorithm, n, r, p) == ("scrypt", "16384", "8", "1")
    assert verify_password(PASSWORD, stored) and not verify_password(PASSWORD + "!", stored)
    with UnitOfWork(db) as uow:
        tags = users.tags_of(uow, result.user_id, T0)
    assert [(t.tag, t.value, t.source, t.expires_at) for t in tags] == [
        ("new_user", "true", "decision:register", T0 + timedelta(days=7))]


def test_two_accounts_never_share_a_salt(db: Database, engine: Engine) -> None:
    first, second = register(db, engine, "13800138000"), register(db, engine, "13900139000")
    assert account_row(db, first)["password_hash"].split("$")[4] != account_row(db, second)["password_hash"].split("$")[4]


@pytest.mark.parametrize("context", [
    {"device_id": "dev-a", "is_emulator": True},
    {"passthrough": {"device_id": "dev-ring-0002"}},
])
def test_an_untrusted_device_is_refused_and_no_account_exists(db: Database, engine: Engine, context: dict) -> None:
    with UnitOfWork(db) as uow:
        result = users.register(uow, engine, phone=PHONE, password=PASSWORD, context=context, now=T0)
    assert (result.ok, result.user_id, result.status, result.reason) == (False, None, None, "untrusted_device")
    assert raw_rows(db) == []


def test_a_high_risk_registration_waits_for_review(db: Database, engine: Engine, clock: FixedClock) -> None:
    with UnitOfWork(db) as uow:
        result = users.register(uow, engine, phone=PHONE, password=PASSWORD,
                                context={"user": {"risk_score": 85}, "passthrough": HOME}, now=T0)
    assert (result.ok, result.status, result.reason) == (True, "review", "high_risk_score")
    assert result.user_id is not None
    assert login(db, engine, clock).reason == "account_under_review"
    with UnitOfWork(db) as uow:
        assert users.resolve_review(uow, result.user_id, approved=True, reason="checked by ops", now=T0).ok
    with UnitOfWork(db) as uow:
        assert not users.resolve_review(uow, result.user_id, approved=False, reason="again", now=T0).ok
    assert login(db, engine, clock).ok


def test_a_phone_registers_once(db: Database, engine: Engine) -> None:
    first = register(db, engine)
    with UnitOfWork(db) as uow:
        again = users.register(uow, engine, phone=PHONE, password="another password", context={}, now=T0)
    assert (again.ok, again.user_id, again.reason) == (False, None, "phone_already_registered")
    assert [r["id"] for r in raw_rows(db) if r["table"] == "user_account"] == [first]


@pytest.mark.parametrize(("phone", "password", "field"), [
    ("1380013800", PASSWORD, "phone"),  # 10 digits
    ("23800138000", PASSWORD, "phone"),  # does not start with 1
    ("1380013800a", PASSWORD, "phone"),
    (13800138000, PASSWORD, "phone"),
    (PHONE, "short", "password"),
    (PHONE, "x" * 129, "password"),
])
def test_bad_input_names_the_field_and_changes_nothing(db: Database, engine: Engine, phone: object,
                                                       password: str, field: str) -> None:
    with UnitOfWork(db) as uow, pytest.raises(users.InvalidField) as caught:
        users.register(uow, engine, phone=phone, password=password, context=HOME, now=T0)  # type: ignore[arg-type]
    assert caught.value.field == field and str(caught.value).startswith(f"{field}: ")
    assert password not in str(caught.value) or field != "password"
    assert raw_rows(db) == []


def test_the_code_sent_at_registration_confirms_the_phone(db: Database, engine: Engine) -> None:
    with UnitOfWork(db) as uow:
        result = users.register(uow, engine, phone=PHONE, password=PASSWORD, context=HOME, now=T0)
    assert result.user_id is not None and result.challenge_id is not None
    code = code_of(db, result.challenge_id)
    with UnitOfWork(db) as uow:
        wrong = "000000" if code != "000000" else "111111"
        assert users.confirm_phone(uow, result.challenge_id, wrong, now=T0) == users.Outcome(False, "wrong_code")
    with UnitOfWork(db) as uow:
        assert users.confirm_phone(uow, result.challenge_id, code, now=T0 + timedelta(minutes=1)).ok
    with UnitOfWork(db) as uow:
        assert users.confirm_phone(uow, result.challenge_id, code, now=T0) == users.Outcome(False, "challenge_closed")
        view = users.get_user(uow, result.user_id)
    assert view is not None and view.phone_verified and view.phone_masked == "138****8000"


def test_cancellation_anonymises_blocks_login_and_keeps_the_id(db: Database, engine: Engine, clock: FixedClock) -> None:
    user_id = register(db, engine)
    with UnitOfWork(db) as uow:
        users.set_identity(uow, user_id, real_name="张三丰", id_number=ID_NUMBER, key=KEY, now=T0)
        users.add_bank_card(uow, user_id, CARD, key=KEY, now=T0)
        address = users.add_address(uow, user_id, name="张三丰", phone="13912345678", region="北京",
                                    city="北京市", detail="朝阳区建国路88号")
        users.set_nickname(uow, user_id, "三丰", now=T0)
        events.emit(uow, "order.paid", "o-1", {"user": user_id, "amount": "10.00"}, T0)
        uow.commit()
    assert login(db, engine, clock).ok
    with UnitOfWork(db) as uow:
        assert users.cancel_account(uow, user_id, password="not it at all", now=T0) == users.Outcome(False, "wrong_password")
    with UnitOfWork(db) as uow:
        assert users.cancel_account(uow, user_id, password=PASSWORD, now=T0 + timedelta(hours=1)).ok

    stored = stored_text(db)
    for personal in (PHONE, "张三丰", "三丰", ID_NUMBER, CARD, "13912345678", "建国路", "北京"):
        assert personal not in stored, personal
    row = account_row(db, user_id)
    assert row["status"] == "cancelled" and row["phone"].startswith("cancelled-") and row["password_hash"] == "!"
    assert row["id_number_digest"] is None and row["nickname"] == "已注销用户"
    with UnitOfWork(db) as uow:
        assert users.get_address(uow, address) == users.AddressView(address, user_id, "***", "***", "***", "***", "***")
        assert [c.masked for c in users.list_bank_cards(uow, user_id)] == ["**** **** **** ****"]
        assert users.tags_of(uow, user_id, T0, include_expired=True) == []
        view = users.get_user(uow, user_id)
        assert view is not None and view.status == "cancelled" and view.cancelled_at == T0 + timedelta(hours=1)
        assert [e.kind for e in events.about(uow, user_id)] == ["user.cancelled"]
        assert [e.subject for e in events.read(uow, ("order.paid",))] == ["o-1"]  # orders untouched
        assert users.cancel_account(uow, user_id, password=PASSWORD, now=T0) == users.Outcome(False, "already_cancelled")
    assert login(db, engine, clock) == users.Login(False, None, None, None, "invalid_credentials")
    # The phone is free again, for a new account with a new id.
    assert register(db, engine) != user_id
