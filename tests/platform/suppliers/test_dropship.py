"""Dropship: an order pushed once per supplier, the phone masked at rest, the supplier's
tracking upload marks it shipped, records its cost and tells fulfilment by an event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.suppliers import service as suppliers
from arbiter.platform.suppliers.service import DropshipLine

from ..catalog.support import T0, build, cny, run
from .support import onboarded

ADDRESS = {"name": "Li Lei", "phone": "13812345678", "region": "SH", "street": "1 Century Avenue"}


def push(db: Engine, order_id: str, lines: list[tuple[object, ...]]) -> str:
    with UnitOfWork(db) as uow:
        request = suppliers.push_dropship(uow, "sup-sofa", order_id, lines, ADDRESS, T0)
        uow.commit()
    return request


def test_a_dropship_request_is_pushed_once_and_shipped_once(db: Engine) -> None:
    build(db)
    onboarded(db)
    request = push(db, "o1", [("l1", "SKU-SOFA-3", 2)])
    assert push(db, "o1", [("l1", "SKU-SOFA-3", 2)]) == request  # pushed again: the same request
    found = run(db, suppliers.get_dropship, request)
    assert found.lines == (DropshipLine("l1", "SKU-SOFA-3", 2, cny("1800.00")),)  # the catalog's cost
    assert found.address == {**ADDRESS, "phone": "138****5678"}
    assert (found.status, found.carrier, found.tracking_no) == ("pushed", None, None)

    later = T0 + timedelta(days=1)
    shipped = run(db, suppliers.upload_tracking, request, "SF", "SF1234567890", later)
    assert (shipped.status, shipped.carrier, shipped.tracking_no) == ("shipped", "SF", "SF1234567890")
    assert run(db, suppliers.upload_tracking, request, "SF", "SF1234567890", later).status == "shipped"
    with pytest.raises(Conflict, match="shipped already with SF SF1234567890"):
        run(db, suppliers.upload_tracking, request, "YTO", "YT1", later)
    told = run(db, events.about, "o1")
    assert [(e.kind, e.payload) for e in told] == [("supplier.dropship_shipped", {
        "carrier": "SF", "tracking_no": "SF1234567890", "supplier": "sup-sofa", "request_id": request,
        "lines": ["l1"]})]
    statement = run(db, suppliers.statement, "sup-sofa", later.date(), later.date())
    assert [(line.kind, line.reference, line.amount) for line in statement.lines] == [
        ("dropship", "o1", cny("3600.00"))]
    assert (statement.total, statement.due) == (cny("3600.00"), later.date() + timedelta(days=15))
    assert [r.id for r in run(db, suppliers.dropships_of, "o1")] == [request]


def test_an_agreed_cost_and_bad_requests(db: Engine) -> None:
    build(db)
    onboarded(db)
    request = push(db, "o2", [("l1", "SKU-SOFA-3", 1, cny("1750.50")), ("l2", "SKU-SOFA-3", 1)])
    run(db, suppliers.upload_tracking, request, "SF", "SF1", T0)
    assert run(db, suppliers.statement, "sup-sofa", T0.date(), T0.date()).total == cny("3550.50")
    with UnitOfWork(db) as uow:
        with pytest.raises(InvalidInput, match="supplier 'sup-phones' is a stock_purchase supplier, not dropship"):
            suppliers.push_dropship(uow, "sup-phones", "o3", [("l1", "SKU-SOFA-3", 1)], ADDRESS, T0)
        with pytest.raises(NotFound, match=r"lines\[0\] sku: 'SKU-NONE' does not exist"):
            suppliers.push_dropship(uow, "sup-sofa", "o3", [("l1", "SKU-NONE", 1)], ADDRESS, T0)
        with pytest.raises(InvalidInput, match="address: expected the delivery address"):
            suppliers.push_dropship(uow, "sup-sofa", "o3", [("l1", "SKU-SOFA-3", 1)], {}, T0)
        with pytest.raises(InvalidInput, match="lines: each line id may appear once"):
            suppliers.push_dropship(uow, "sup-sofa", "o3", [("l1", "SKU-SOFA-3", 1)] * 2, ADDRESS, T0)
    with pytest.raises(NotFound, match="dropship request 'DS-99' does not exist"):
        run(db, suppliers.upload_tracking, "DS-99", "SF", "SF1", T0)
    assert run(db, suppliers.dropships_of, "o3") == []
