"""The revolving line: deductions and restores move it exactly, once per key, never over the
limit nor below zero; limit changes, special-purpose lines, statuses and the credit facts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine as Database

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.platform.credit import limits, lines, quotes
from arbiter.platform.db import UnitOfWork

from .support import T0, cny, with_line


def deduct(db: Database, user: str, order: str, amount: str, key: str | None = None, **kw: object) -> lines.LineMove:
    with UnitOfWork(db) as uow:
        moved = lines.deduct(uow, user, order, cny(amount), key or f"k-{order}", now=T0, **kw)  # type: ignore[arg-type]
        uow.commit()
        return moved


def restore(db: Database, user: str, order: str, amount: str, key: str) -> lines.LineMove:
    with UnitOfWork(db) as uow:
        moved = lines.restore(uow, user, order, cny(amount), key, now=T0)
        uow.commit()
        return moved


def state(db: Database, user: str) -> lines.LineState:
    with UnitOfWork(db) as uow:
        found = lines.line(uow, user)
        assert found is not None
        return found


def test_a_purchase_deducts_and_each_restore_gives_back(db: Database) -> None:
    with_line(db, "u1", "5000.00")
    moved = deduct(db, "u1", "o1", "3000.00")
    assert moved.ok and moved.available == cny("2000.00")
    assert deduct(db, "u1", "o1", "3000.00").replayed  # the same key again moves nothing
    assert state(db, "u1").available == cny("2000.00")
    assert restore(db, "u1", "o1", "1000.00", "r1").available == cny("3000.00")
    assert restore(db, "u1", "o1", "1000.00", "r1").replayed
    assert restore(db, "u1", "o1", "2000.00", "r2").available == cny("5000.00")
    with pytest.raises(Conflict):
        restore(db, "u1", "o1", "0.01", "r3")  # nothing outstanding any more
    assert state(db, "u1").used == cny("0")


def test_refusals_move_nothing_and_leave_the_order_free(db: Database) -> None:
    assert deduct(db, "nobody", "o0", "10.00").reason == lines.NO_LINE
    with_line(db, "u2", "1000.00")
    assert deduct(db, "u2", "o1", "1000.01").reason == lines.INSUFFICIENT
    assert deduct(db, "u2", "o1", "1000.00", key="k-o1-again").ok  # a new key after a refusal
    assert state(db, "u2").available == cny("0.00")
    with pytest.raises(Conflict):
        deduct(db, "u2", "o1", "1000.00", key="another")  # one draw per order
    with UnitOfWork(db) as uow:
        limits.set_status(uow, "u2", lines.FROZEN, now=T0)
    assert restore(db, "u2", "o1", "400.00", "r1").available == cny("400.00")  # restores reach a frozen line
    assert deduct(db, "u2", "o2", "1.00").reason == lines.NOT_ACTIVE


@pytest.mark.parametrize("amount", ["0", "-1", "0.001"])
def test_bad_amounts_are_refused(db: Database, amount: str) -> None:
    with_line(db, "u3", "100.00")
    with pytest.raises(InvalidInput, match="principal"):
        deduct(db, "u3", "o1", amount)
    assert state(db, "u3").used == cny("0")


def test_limit_increase_and_decrease_down_to_what_is_used(db: Database) -> None:
    with_line(db, "u4", "5000.00")
    deduct(db, "u4", "o1", "3000.00")
    with UnitOfWork(db) as uow:
        raised = limits.change_limit(uow, "u4", cny("8000.00"), key="c1", reason="good repayments", now=T0)
    assert (raised.ok, raised.before, raised.after) == (True, cny("5000.00"), cny("8000.00"))
    with UnitOfWork(db) as uow:
        assert limits.change_limit(uow, "u4", cny("8000.00"), key="c1", reason="again", now=T0).replayed
    with UnitOfWork(db) as uow:
        assert limits.change_limit(uow, "u4", cny("2999.99"), key="c2", reason="risk", now=T0).reason == limits.BELOW_USED
    assert state(db, "u4").available == cny("5000.00")
    # a later grant never lowers the limit, but sets the tier
    with UnitOfWork(db) as uow:
        limits.grant(uow, "u4", cny("2000.00"), "C", now=T0)
        uow.commit()
    assert (state(db, "u4").limit, state(db, "u4").tier) == (cny("8000.00"), "C")
    with UnitOfWork(db) as uow, pytest.raises(NotFound):
        limits.change_limit(uow, "nobody", cny("1.00"), key="c3", reason="x", now=T0)


def test_a_special_purpose_line_serves_only_its_category_and_scene(db: Database) -> None:
    with_line(db, "u5", "1000.00")
    with UnitOfWork(db) as uow:
        special = limits.grant_special_line(uow, "u5", scope_kind="category", scope_value="phone",
                                            limit=cny("6000.00"), now=T0, expires_at=T0 + timedelta(days=30))
        limits.grant_special_line(uow, "u5", scope_kind="scene", scope_value="double11", limit=cny("500.00"), now=T0)
    phone = deduct(db, "u5", "o1", "4000.00", categories=["phone"])
    assert phone.ok and phone.special_line_id == special.id and phone.available == cny("2000.00")
    assert state(db, "u5").available == cny("1000.00")  # the general line is untouched
    assert deduct(db, "u5", "o2", "4000.00", categories=["dress"]).reason == lines.INSUFFICIENT
    assert deduct(db, "u5", "o3", "1200.00", scene="double11").reason == lines.INSUFFICIENT  # 500 + 1000, one line each
    assert deduct(db, "u5", "o4", "1000.00", categories=["phone"]).special_line_id == special.id
    with UnitOfWork(db) as uow:
        assert quotes.credit_facts(uow, "u5", now=T0, categories=["phone"])["credit_available"] == cny("1000.00")
        assert lines.usable_available(uow, "u5", T0 + timedelta(days=31), categories=["phone"]) == cny("1000.00")
    assert restore(db, "u5", "o1", "4000.00", "r1").available == cny("5000.00")  # back to the special line
    with UnitOfWork(db) as uow, pytest.raises(InvalidInput, match="below"):
        limits.grant_special_line(uow, "u5", scope_kind="category", scope_value="phone", limit=cny("500.00"), now=T0)


def test_credit_facts_for_the_rules(db: Database) -> None:
    with UnitOfWork(db) as uow:
        assert quotes.credit_facts(uow, "u6") == {
            "credit_status": "none", "credit_limit": cny("0"), "credit_available": cny("0"), "credit_tier": "D",
            "overdue_days": 0}
    with_line(db, "u6", "5000.00", "B")
    deduct(db, "u6", "o1", "1200.00")
    with UnitOfWork(db) as uow:
        lines.set_overdue(uow, "u6", 4, now=T0)
        uow.commit()
        assert quotes.credit_facts(uow, "u6") == {
            "credit_status": "active", "credit_limit": cny("5000.00"), "credit_available": cny("3800.00"),
            "credit_tier": "B", "overdue_days": 4}
