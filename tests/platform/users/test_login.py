"""Login driven by the demo `login_guard` rules: pass, verification by SMS or face, the
challenge's limits, lockouts on a controlled clock (in-process counters and Redis), and the
events fed to the velocity counters."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine as Database

from arbiter.clock import FixedClock
from arbiter.dsl.compiler import Ruleset
from arbiter.dsl.model import Feature
from arbiter.engine.engine import Engine
from arbiter.engine.velocity import InMemoryVelocity, VelocityStore
from arbiter.platform.db import UnitOfWork
from arbiter.platform.users import service as users

from .support import HOME, PASSWORD, PHONE, T0, account_row, at, code_of, login, register

TABLET = {"device_id": "dev-tablet", "ip": "10.0.0.9", "ip_region": "广东"}
WRONG = "not the password"


class Recording(InMemoryVelocity):
    """In-process counters that also remember which events reached which features."""

    def __init__(self) -> None:
        super().__init__()
        self.fed: list[tuple[str | None, str]] = []

    def add(self, feature: Feature, key: str, at: datetime, value: Any, event_id: str) -> None:
        if feature.kind == "count":
            self.fed.append((feature.event, key))
        super().add(feature, key, at, value, event_id)


def complete(db: Database, engine: Engine | None, result: users.Login, now: datetime, code: str | None = None) -> users.Login:
    assert result.challenge_id is not None
    with UnitOfWork(db) as uow:
        return users.complete_login(uow, result.challenge_id, code or code_of(db, result.challenge_id), now=now,
                                    engine=engine)


def test_a_known_device_logs_in_and_feeds_the_login_counters(db: Database, ruleset: Ruleset, clock: FixedClock) -> None:
    velocity = Recording()
    engine = Engine(ruleset, clock, velocity=velocity)
    user_id = register(db, engine)
    result = login(db, engine, clock)
    assert result == users.Login(True, user_id, None, None, None)
    assert account_row(db, user_id)["last_login_at"] is not None
    logins = {key for event, key in velocity.fed if event == "login"}
    assert {user_id, f"{user_id}|dev-home", f"{user_id}|上海"} <= logins
    assert not any(event == "login_failed" for event, _ in velocity.fed)


def test_a_wrong_password_and_an_unknown_phone_are_refused_alike(db: Database, ruleset: Ruleset,
                                                                clock: FixedClock) -> None:
    velocity = Recording()
    engine = Engine(ruleset, clock, velocity=velocity)
    user_id = register(db, engine)
    refused = users.Login(False, None, None, None, "invalid_credentials")
    assert login(db, engine, clock, password=WRONG) == refused
    assert login(db, engine, clock, phone="13999999999") == refused
    assert velocity.fed == [("login_failed", user_id)]
    with UnitOfWork(db) as uow:
        assert users.failed_logins(uow, user_id, clock.now()) == 1


def test_a_new_device_needs_the_sms_code_then_is_known(db: Database, engine: Engine, clock: FixedClock) -> None:
    user_id = register(db, engine)
    assert login(db, engine, clock).ok  # the registration device
    first = login(db, engine, clock, context=TABLET)
    assert (first.ok, first.user_id, first.verification, first.reason) == (False, user_id, "sms", "verification_required")
    assert account_row(db, user_id)["phone_verified"] is False
    at(clock, T0 + timedelta(minutes=1))
    assert complete(db, engine, first, clock.now()) == users.Login(True, user_id, None, None, None)
    row = account_row(db, user_id)
    assert row["phone_verified"] is True and row["last_login_at"] is not None
    assert login(db, engine, clock, context=TABLET).ok  # now a known device
    assert login(db, engine, clock, context={**HOME, "ip_region": "北京"}).ok  # known device, new region
    # A device and a region never logged in from: a stolen password? (unfamiliar_login)
    assert login(db, engine, clock, context={"device_id": "dev-x", "ip_region": "黑龙江"}).verification == "sms"


def test_a_risky_account_on_a_new_device_shows_its_face(db: Database, engine: Engine, clock: FixedClock) -> None:
    user_id = register(db, engine)
    risky = {"user": {"risk_score": 60}, "passthrough": TABLET}
    result = login(db, engine, clock, context=risky)
    assert (result.verification, result.reason) == ("face", "verification_required")
    assert complete(db, engine, result, clock.now()).ok
    assert account_row(db, user_id)["phone_verified"] is False  # a face check says nothing of the phone
    # Facts the module owns replace what the caller sends: no device given is not a new device.
    assert login(db, engine, clock, context={"user": {"is_new_device": True, "failed_logins_1h": 9}}).ok


def test_a_challenge_takes_five_wrong_codes_and_five_minutes(db: Database, engine: Engine, clock: FixedClock) -> None:
    register(db, engine)
    first = login(db, engine, clock, context=TABLET)
    code = code_of(db, first.challenge_id)
    wrong = "000000" if code != "000000" else "111111"
    reasons = [complete(db, engine, first, clock.now(), wrong).reason for _ in range(5)]
    assert reasons == ["wrong_code"] * 4 + ["too_many_attempts"]
    assert complete(db, engine, first, clock.now(), code).reason == "challenge_closed"
    second = login(db, engine, clock, context=TABLET)
    assert complete(db, engine, second, clock.now() + timedelta(minutes=5)).reason == "challenge_expired"
    third = login(db, engine, clock, context=TABLET)
    assert complete(db, engine, third, clock.now() + timedelta(minutes=4, seconds=59)).ok
    assert complete(db, engine, third, clock.now()).reason == "challenge_closed"  # a code works once
    with UnitOfWork(db) as uow:
        assert users.complete_login(uow, "ch-nope", code, now=clock.now()).reason == "unknown_challenge"


@pytest.fixture(params=["memory", "redis"])
def velocity(request: pytest.FixtureRequest) -> Iterator[VelocityStore]:
    if request.param == "memory":
        yield InMemoryVelocity()
        return
    import redis

    from arbiter.platform.risk.velocity import RedisVelocity

    client = redis.Redis.from_url(request.getfixturevalue("redis_url"), socket_timeout=10)
    prefix = f"test-users-{uuid.uuid4().hex[:12]}"
    yield RedisVelocity(client, prefix)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_three_wrong_passwords_lock_for_ten_minutes(db: Database, ruleset: Ruleset, clock: FixedClock,
                                                    velocity: VelocityStore) -> None:
    engine = Engine(ruleset, clock, velocity=velocity)
    register(db, engine)
    assert login(db, engine, clock).ok
    outcomes = [login(db, engine, at(clock, T0 + timedelta(minutes=m)), password=WRONG).reason for m in (1, 3, 5)]
    assert outcomes == ["invalid_credentials"] * 3
    # Locked even with the right password, until the first failure is ten minutes old; the
    # refused attempts record nothing and do not extend the lock.
    assert login(db, engine, at(clock, T0 + timedelta(minutes=6))).reason == "temporarily_locked"
    assert login(db, engine, at(clock, T0 + timedelta(minutes=10, seconds=59))).reason == "temporarily_locked"
    assert login(db, engine, at(clock, T0 + timedelta(minutes=11))).ok


def test_five_wrong_passwords_in_an_hour_lock_until_the_first_is_an_hour_old(db: Database, engine: Engine,
                                                                            clock: FixedClock) -> None:
    user_id = register(db, engine)
    for minutes in (0, 11, 22, 33, 44):  # never three within ten minutes
        assert login(db, engine, at(clock, T0 + timedelta(minutes=minutes)), password=WRONG).reason == "invalid_credentials"
    with UnitOfWork(db) as uow:
        assert users.failed_logins(uow, user_id, T0 + timedelta(minutes=50)) == 5
    assert login(db, engine, at(clock, T0 + timedelta(minutes=50))).reason == "too_many_failed_logins"
    assert login(db, engine, at(clock, T0 + timedelta(minutes=59, seconds=59))).reason == "too_many_failed_logins"
    assert login(db, engine, at(clock, T0 + timedelta(minutes=60))).ok  # four left in the hour


def test_logins_are_refused_while_the_rules_cannot_decide(db: Database, engine: Engine, clock: FixedClock) -> None:
    register(db, engine)

    class Down(InMemoryVelocity):
        def read(self, feature: Feature, key: str, now: datetime) -> int:
            from arbiter.engine.stores import StoreUnavailable

            raise StoreUnavailable("velocity: connection refused")

    broken = Engine(engine.ruleset, clock, velocity=Down())
    assert login(db, broken, clock).reason == "risk_check_unavailable"


def test_a_malformed_phone_or_context_names_the_field(db: Database, engine: Engine, clock: FixedClock) -> None:
    register(db, engine)
    for phone, context, field in (("1380013800", HOME, "phone"), (PHONE, {"order": {}, "user": {}}, "context"),
                                  (PHONE, {"passthrough": "dev-1"}, "context.passthrough")):
        with UnitOfWork(db) as uow, pytest.raises(users.InvalidField) as caught:
            users.login(uow, engine, phone=phone, password=PASSWORD, context=context, now=clock.now())
        assert caught.value.field == field
