"""`user_facts`: the exact `user.*` values, and the demo targeting rules deciding on them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine as Database

from arbiter.clock import FixedClock
from arbiter.engine.engine import Engine
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.users import service as users

from .support import T0, at, code_of

ORDERED = T0 + timedelta(days=2)


def popup(db: Database, engine: Engine, clock: FixedClock, user_id: str) -> list[str]:
    with UnitOfWork(db) as uow:
        facts = users.user_facts(uow, user_id, clock.now())
    decision = engine.decide("home_popup", {"user": facts, "passthrough": {"client": "ios"}}, strategy="home_popup_v1")
    return [str(e) for e in decision.effects]


def test_user_facts_and_the_rules_that_read_them(db: Database, engine: Engine, clock: FixedClock) -> None:
    with UnitOfWork(db) as uow:
        registration = users.register(uow, engine, phone="13800138000", password="correct horse battery",
                                      context={"device_id": "dev-1"}, now=T0)
    user_id = registration.user_id
    assert user_id is not None
    with UnitOfWork(db) as uow:
        users.confirm_phone(uow, registration.challenge_id or "", code_of(db, registration.challenge_id), now=T0)
        users.set_level(uow, user_id, 3, now=T0)
        users.add_address(uow, user_id, name="王小明", phone="13800138000", region="浙江", city="杭州市",
                          detail="西湖区文三路1号")
    with UnitOfWork(db) as uow:
        assert users.user_facts(uow, user_id, T0 + timedelta(hours=1)) == {
            "id": user_id, "registered_at": T0, "registered_days": 0, "level": 3, "phone_verified": True,
            "tags": frozenset({"new_user"}), "region": "浙江", "city": "杭州市",
        }
    assert popup(db, engine, at(clock, T0 + timedelta(hours=1)), user_id)[0] == \
        'show(content: "newbie_gift_pack", slot: "home_popup")'

    with UnitOfWork(db) as uow:
        events.emit(uow, "order.paid", "o-1", {"user": user_id, "amount": "3999.00", "currency": "CNY",
                                               "lines": [{"sku": "p1", "category": "phone", "quantity": 1,
                                                          "amount": "3999.00"}]}, ORDERED)
        uow.commit()
    now = T0 + timedelta(days=10, hours=5)
    with UnitOfWork(db) as uow:
        assert users.refresh_tags(uow, now) == 1
    with UnitOfWork(db) as uow:
        assert users.user_facts(uow, user_id, now) == {
            "id": user_id, "registered_at": T0, "registered_days": 10, "level": 3, "phone_verified": True,
            "tags": frozenset({"trade_count", "orders_30d", "last_order_at", "total_spent", "preferred_categories",
                               "active"}),
            "region": "浙江", "city": "杭州市", "orders_30d": 1, "last_order_at": ORDERED,
        }
    assert popup(db, engine, at(clock, now), user_id) == []  # neither new nor dormant

    dormant = ORDERED + timedelta(days=30)
    with UnitOfWork(db) as uow:
        users.refresh_tags(uow, dormant)
    with UnitOfWork(db) as uow:
        facts = users.user_facts(uow, user_id, dormant)
    assert (facts["orders_30d"], facts["last_order_at"], "active" in facts["tags"]) == (0, ORDERED, False)
    assert popup(db, engine, at(clock, dormant), user_id) == ['show(content: "welcome_back", slot: "home_popup")']


def test_an_unknown_user_has_no_facts(db: Database) -> None:
    with UnitOfWork(db) as uow, pytest.raises(users.UserNotFound):
        users.user_facts(uow, "u-nobody", T0)
