"""Events commit with the change they report, are recorded once per key, and read in order."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events

AT = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)


def test_events_are_recorded_once_per_key_and_read_in_order(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        events.emit(uow, "order.paid", "o-1", {"amount": "278.00"}, AT)
        events.emit(uow, "order.paid", "o-1", {"amount": "999.00"}, AT)  # a repeat: ignored
        events.emit(uow, "order.shipped", "o-1", {"tracking": "SF1"}, AT)
        events.emit(uow, "order.paid", "o-2", {"amount": "10.00"}, AT)
        uow.commit()
    with UnitOfWork(db) as uow:
        paid = events.read(uow, ("order.paid",))
        assert [(e.subject, e.payload) for e in paid] == [("o-1", {"amount": "278.00"}), ("o-2", {"amount": "10.00"})]
        assert [e.kind for e in events.about(uow, "o-1")] == ["order.paid", "order.shipped"]
        assert events.read(uow, after=paid[0].id, limit=1)[0].kind == "order.shipped"
        assert paid[0].at == AT


def test_an_event_rolls_back_with_its_unit_of_work(db: Engine) -> None:
    with UnitOfWork(db) as uow:
        events.emit(uow, "order.paid", "o-1", {}, AT)  # no commit
    with UnitOfWork(db) as uow:
        assert events.read(uow) == []
