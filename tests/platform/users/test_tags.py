"""User tags from order events: a generated event stream with exact figures, each event
counted once however often the job runs, and expiry on a controlled clock."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine as Database

from arbiter.engine.engine import Engine
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.users import service as users

from .support import T0, register

NOW = T0 + timedelta(days=60)
CATEGORIES = ("phone", "audio", "book", "clothing")


def live(db: Database, user_id: str, now: datetime) -> dict[str, str]:
    with UnitOfWork(db) as uow:
        return users.live_tags(uow, user_id, now)


def refresh(db: Database, now: datetime) -> int:
    with UnitOfWork(db) as uow:
        return users.refresh_tags(uow, now)


def emit(db: Database, stream: list[tuple[str, str, dict[str, Any], datetime, str]]) -> None:
    with UnitOfWork(db) as uow:
        for kind, subject, payload, at, key in stream:
            events.emit(uow, kind, subject, payload, at, key=key)
        uow.commit()


def paid(user_id: str, order_id: str, lines: list[tuple[str, int, str]], at: datetime,
         kind: str = "order.paid") -> tuple[str, str, dict[str, Any], datetime, str]:
    amount = sum((Decimal(a) for _, _, a in lines), Decimal(0))
    payload = {"user": user_id, "amount": str(amount), "currency": "CNY", "shop": "arbiter-self",
               "lines": [{"sku": f"sku-{c}", "category": c, "quantity": q, "amount": a} for c, q, a in lines]}
    return kind, order_id, payload, at, f"{kind}:{order_id}"


def refund(user_id: str, order_id: str, amount: str, at: datetime, n: int = 1) -> tuple[str, str, dict[str, Any], datetime, str]:
    return ("aftersales.refunded", f"as-{order_id}-{n}", {"user": user_id, "order": order_id, "amount": amount},
            at, f"refund:{order_id}:{n}")


def test_a_hand_written_history_gives_exact_tags(db: Database, engine: Engine) -> None:
    user_id = register(db, engine)
    emit(db, [
        paid(user_id, "o-1", [("phone", 1, "199.00"), ("audio", 1, "79.00")], NOW - timedelta(days=40)),
        paid(user_id, "o-1", [("phone", 1, "199.00"), ("audio", 1, "79.00")], NOW - timedelta(days=37),
             kind="order.completed"),
        paid(user_id, "o-2", [("book", 2, "59.90")], NOW - timedelta(days=3)),
        refund(user_id, "o-2", "59.90", NOW - timedelta(days=1)),
        paid(user_id, "o-3", [("audio", 3, "45.00")], NOW - timedelta(days=2)),
        refund(user_id, "o-3", "5.00", NOW - timedelta(days=1)),
    ])
    assert refresh(db, NOW) == 6
    assert live(db, user_id, NOW) == {
        "trade_count": "2",  # o-1 and o-3; o-2 was refunded in full
        "orders_30d": "2",  # o-2 and o-3 were placed in the window
        "last_order_at": (NOW - timedelta(days=2)).isoformat(),
        "total_spent": "318.00 CNY",  # 278.00 + 59.90 + 45.00 - 59.90 - 5.00
        "preferred_categories": "phone,audio",  # phone 199.00, audio 79.00 + 45.00 = 124.00
        "active": "true",
    }


def test_a_generated_stream_is_counted_exactly_and_once(db: Database, engine: Engine) -> None:
    rng = random.Random(20261111)
    people = [register(db, engine, f"1380000000{k}") for k in range(5)]
    per_order: list[list[tuple[str, str, dict[str, Any], datetime, str]]] = []
    expected: dict[str, dict[str, Any]] = {}
    for k, user_id in enumerate(people):
        spent, times, by_category, trades = Decimal(0), [], {}, 0
        ages = [timedelta(days=rng.randrange(1, 29), hours=rng.randrange(24)) for _ in range(k)]
        ages += [timedelta(days=rng.randrange(31, 59)) for _ in range(2)]  # outside the window
        for n, age in enumerate(ages):
            at, order_id = NOW - age, f"o-{k}-{n}"
            lines = [(rng.choice(CATEGORIES), rng.randrange(1, 4), f"{rng.randrange(100, 99999) / 100:.2f}")
                     for _ in range(rng.randrange(1, 3))]
            history = [paid(user_id, order_id, lines, at)]
            if at + timedelta(days=3) <= NOW and rng.random() < 0.5:
                history.append(paid(user_id, order_id, lines, at + timedelta(days=3), kind="order.completed"))
            amount = sum((Decimal(a) for _, _, a in lines), Decimal(0))
            if n == len(ages) - 1 and k % 2 == 1:  # odd users had their oldest order refunded in full
                history += [refund(user_id, order_id, "1.00", at + timedelta(days=4), 1),
                            refund(user_id, order_id, str(amount - 1), at + timedelta(days=5), 2)]
                amount = Decimal(0)
            else:
                trades += 1
                for category, quantity, line_amount in lines:
                    total, units = by_category.get(category, (Decimal(0), 0))
                    by_category[category] = (total + Decimal(line_amount), units + quantity)
            spent += amount
            times.append(at)
            per_order.append(history)
        ranked = sorted(by_category.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))
        expected[user_id] = {"trade_count": str(trades), "orders_30d": str(k), "last_order_at": max(times).isoformat(),
                             "total_spent": f"{spent:.2f} CNY",
                             "preferred_categories": ",".join(c for c, _ in ranked[:3])}
        if k:
            expected[user_id]["active"] = "true"
    noise = [[("order.created", f"o-x{i}", {"user": people[0], "amount": "1.00"}, NOW, f"created:{i}"),
              ("order.paid", f"o-ghost{i}", {"user": "u-ghost", "amount": "9.00"}, NOW, f"ghost:{i}"),
              ("order.paid", f"o-bad{i}", {"user": people[1], "amount": 9.5}, NOW, f"bad:{i}")] for i in range(3)]
    merged: list[tuple[str, str, dict[str, Any], datetime, str]] = []
    queues = [list(h) for h in per_order + noise]
    while queues:  # interleave at random, keeping each order's own events in order
        queue = rng.choice(queues)
        merged.append(queue.pop(0))
        if not queue:
            queues.remove(queue)
    counted_kinds = [e for e in merged if e[0] != "order.created"]
    emit(db, merged[: len(merged) // 2])
    first = refresh(db, NOW)
    emit(db, merged[len(merged) // 2:])
    assert first + refresh(db, NOW) == len(counted_kinds)
    assert refresh(db, NOW) == 0
    for user_id in people:
        assert live(db, user_id, NOW) == expected[user_id]
    assert [expected[u]["trade_count"] for u in people] == ["2", "2", "4", "4", "6"]


def test_tags_expire_and_are_recomputed(db: Database, engine: Engine) -> None:
    user_id = register(db, engine, now=NOW - timedelta(days=6))
    emit(db, [paid(user_id, "o-1", [("phone", 1, "100.00")], NOW - timedelta(days=29, hours=12)),
              paid(user_id, "o-2", [("book", 1, "50.00")], NOW - timedelta(days=10))])
    assert refresh(db, NOW) == 2
    with UnitOfWork(db) as uow:
        expiry = {t.tag: t.expires_at for t in users.tags_of(uow, user_id, NOW)}
    assert expiry == {"active": NOW + timedelta(days=1), "last_order_at": NOW + timedelta(days=1),
                      "new_user": NOW + timedelta(days=1), "orders_30d": NOW + timedelta(hours=12),
                      "preferred_categories": NOW + timedelta(days=1), "total_spent": NOW + timedelta(days=1),
                      "trade_count": NOW + timedelta(days=1)}
    with UnitOfWork(db) as uow:
        assert users.user_facts(uow, user_id, NOW)["orders_30d"] == 2
    # Twelve hours on, o-1 has left the window and its count has expired: not read any more.
    later = NOW + timedelta(hours=12)
    with UnitOfWork(db) as uow:
        facts = users.user_facts(uow, user_id, later)
    assert "orders_30d" not in facts and "orders_30d" not in facts["tags"]
    assert refresh(db, later) == 0  # no new event, but the expired tag is computed again
    assert live(db, user_id, later)["orders_30d"] == "1"
    # A day on, the user is no longer new, and the job drops the tag for good.
    day = NOW + timedelta(days=1)
    assert "new_user" not in live(db, user_id, day)
    refresh(db, day)
    with UnitOfWork(db) as uow:
        assert "new_user" not in {t.tag for t in users.tags_of(uow, user_id, day, include_expired=True)}
    assert live(db, user_id, day)["active"] == "true"
    # Forty days on nothing is recent: no orders in the window, not active.
    gone = NOW + timedelta(days=40)
    refresh(db, gone)
    assert live(db, user_id, gone) == {"trade_count": "2", "orders_30d": "0",
                                       "last_order_at": (NOW - timedelta(days=10)).isoformat(),
                                       "total_spent": "150.00 CNY", "preferred_categories": "phone,book"}


def test_the_job_leaves_rule_and_operator_tags_alone(db: Database, engine: Engine) -> None:
    user_id = register(db, engine)
    with UnitOfWork(db) as uow:
        users.tag_user(uow, user_id, "risk_watch", source="decision:payment", now=NOW,
                       expires_at=NOW + timedelta(days=30))
        users.tag_user(uow, user_id, "student", source="operator:ops", now=NOW)
        uow.commit()
    refresh(db, NOW)
    assert live(db, user_id, NOW) == {"risk_watch": "true", "student": "true", "trade_count": "0", "orders_30d": "0"}
    assert "risk_watch" not in live(db, user_id, NOW + timedelta(days=30))
