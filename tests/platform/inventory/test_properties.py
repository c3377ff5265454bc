"""Random sequences of receive, lock, release, deduct and restock (each sometimes sent twice)
keep 0 <= locked <= on_hand in every warehouse, agree with a plain model of where each lock
goes, and keep on_hand equal to receipts - deductions + restocks, in the model and in the
movement journal alike."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from arbiter.errors import ArbiterError
from arbiter.platform.db import UnitOfWork
from arbiter.platform.inventory import service as inventory

from .support import run, warehouses

SERVING = ["WH-SH1", "WH-SH2"]  # in priority order for region SH; WH-GZ does not serve it
WAREHOUSES = [*SERVING, "WH-GZ"]
RUNS = itertools.count()

operation = st.one_of(
    st.tuples(st.just("receive"), st.integers(0, 2), st.integers(1, 5)),
    st.tuples(st.just("lock"), st.integers(1, 6), st.integers(0, 0)),
    st.tuples(st.just("lock"), st.integers(1, 3), st.integers(0, 0)),
    st.tuples(st.just("release"), st.integers(0, 9), st.integers(0, 0)),
    st.tuples(st.just("deduct"), st.integers(0, 9), st.integers(0, 0)),
    st.tuples(st.just("deduct"), st.integers(0, 9), st.integers(0, 0)),
    st.tuples(st.just("restock"), st.integers(0, 9), st.integers(1, 3)),
    st.tuples(st.just("restock"), st.integers(0, 9), st.integers(1, 2)),
)
steps = st.tuples(
    st.tuples(st.integers(0, 8), st.integers(0, 8)),  # first stock at WH-SH1 and WH-SH2
    st.lists(st.tuples(operation, st.booleans()), min_size=5, max_size=20),
)
Steps = tuple[tuple[int, int], list[tuple[tuple[str, int, int], bool]]]


@dataclass
class Held:
    warehouse: str
    quantity: int
    state: str = "locked"
    returned: int = 0


@dataclass
class Model:
    stock: dict[str, list[int]] = field(default_factory=lambda: {w: [0, 0] for w in WAREHOUSES})
    orders: list[Held | None] = field(default_factory=list)  # None: the lock was refused
    received: int = 0
    deducted: int = 0
    restocked: int = 0


def apply(db: Engine, model: Model, sku: str, step: int, op: tuple[str, int, int], twice: bool) -> None:
    kind, a, b = op
    orders = [i for i, held in enumerate(model.orders) if held is not None]
    allowed = False  # whether a restock may go through, decided on its first attempt
    for attempt in range(2 if twice else 1):
        first = attempt == 0
        if kind == "receive":
            warehouse = WAREHOUSES[a]
            assert run(db, inventory.receive, sku, warehouse, b, f"{sku}:r{step}") is first
            if first:
                model.stock[warehouse][0] += b
                model.received += b
        elif kind == "lock":
            order_id = f"{sku}:o{len(model.orders) - (0 if first else 1)}"
            result = run(db, inventory.lock, order_id, [("l1", sku, a)], "SH")
            if not first:
                held = model.orders[-1]
                assert result.ok == (held is not None)
                continue
            chosen = next((w for w in SERVING if model.stock[w][0] - model.stock[w][1] >= a), None)
            assert result.ok == (chosen is not None), (result, model.stock)
            if chosen is None:
                model.orders.append(None)
                continue
            assert result.warehouses == {"l1": chosen}
            model.stock[chosen][1] += a
            model.orders.append(Held(chosen, a))
        elif orders:
            index = orders[a % len(orders)]
            held = model.orders[index]
            assert held is not None
            order_id = f"{sku}:o{index}"
            if kind == "release":
                moved = run(db, inventory.release, order_id)
                assert moved == (["l1"] if held.state == "locked" else [])
                if held.state == "locked":
                    held.state = "released"
                    model.stock[held.warehouse][1] -= held.quantity
            elif kind == "deduct":
                if held.state == "released":
                    try:
                        run(db, inventory.deduct, order_id)
                    except ArbiterError as exc:
                        assert exc.code == "inventory.lock.released"
                    else:
                        raise AssertionError("a released line was deducted")
                    continue
                moved = run(db, inventory.deduct, order_id)
                assert moved == (["l1"] if held.state == "locked" else [])
                if held.state == "locked":
                    held.state = "deducted"
                    model.stock[held.warehouse][0] -= held.quantity
                    model.stock[held.warehouse][1] -= held.quantity
                    model.deducted += held.quantity
            else:
                if first:
                    allowed = held.state in ("deducted", "returned") and held.returned + b <= held.quantity
                key = f"{sku}:ret{step}"
                try:
                    done = run(db, inventory.restock, order_id, "l1", b, key)
                except ArbiterError:
                    assert not allowed
                    continue
                assert allowed and done is first
                if first:
                    held.returned += b
                    held.state = "returned" if held.returned == held.quantity else "deducted"
                    model.stock[held.warehouse][0] += b
                    model.restocked += b


def check(db: Engine, model: Model, sku: str) -> None:
    stock = run(db, inventory.stock_of, sku)
    for warehouse, (on_hand, locked) in stock.items():
        assert 0 <= locked <= on_hand
        assert [on_hand, locked] == model.stock[warehouse]
    on_hand = sum(on for on, _ in stock.values())
    assert on_hand == model.received - model.deducted + model.restocked
    journal = run(db, inventory.movements, sku=sku)
    total = {k: sum(m.quantity for m in journal if m.kind == k) for k in ("receive", "deduct", "restock")}
    assert on_hand == total["receive"] - total["deduct"] + total["restock"]
    locked_now = sum(h.quantity for h in model.orders if h is not None and h.state == "locked")
    assert sum(locked for _, locked in stock.values()) == locked_now


def scenario(db: Engine, sequence: Steps) -> None:
    with UnitOfWork(db) as uow:
        if not inventory.serving(uow, "SH"):
            warehouses(db)
    sku = f"SKU-P{next(RUNS)}"
    model = Model()
    first, ops = sequence
    for index, quantity in enumerate(first):
        if quantity:
            apply(db, model, sku, -1 - index, ("receive", index, quantity), False)
    for step, (op, twice) in enumerate(ops):
        apply(db, model, sku, step, op, twice)
        check(db, model, sku)
    event(f"locked: {any(model.orders)}, deducted: {model.deducted > 0}, restocked: {model.restocked > 0}")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=steps)
def test_random_movements_keep_the_stock_exact_on_sqlite(sqlite_engine: Engine,
                                                         sequence: Steps) -> None:
    scenario(sqlite_engine, sequence)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=steps)
def test_random_movements_keep_the_stock_exact_on_postgresql(postgresql_engine: Engine,
                                                             sequence: Steps) -> None:
    scenario(postgresql_engine, sequence)
