"""Decisions made on the event loop when they need no I/O, in a worker thread otherwise:
the same answers either way, on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

from arbiter.api.routes.decisions import DecisionRequest, decide_on_loop
from arbiter.platform.experiments.stores import CachedAssignments

from .conftest import Api, unique


def test_a_returning_unit_is_decided_on_the_loop_with_the_same_answer(api: Api) -> None:
    services = api.services
    assert isinstance(services.assignments, CachedAssignments)
    user = unique("loop")
    request = DecisionRequest(context={"user": {"id": user, "registered_days": 3}})
    assert decide_on_loop(services.engine, "home_popup", request) is None  # a new unit: the store
    answers = [api.post("service", "/v1/decisions/home_popup", json=request.model_dump()).json()
               for _ in range(3)]  # assigned, then read back and remembered, then from memory
    on_loop = decide_on_loop(services.engine, "home_popup", request)
    assert on_loop is not None
    assert on_loop.variant is not None and on_loop.experiment == "home_popup_ab"
    for answer in answers:
        assert (answer["variant"], answer["effects"], answer["fired"]) == (
            on_loop.variant, [e.to_json() for e in on_loop.effects], list(on_loop.fired))


def test_an_engine_with_a_store_that_does_io_is_decided_in_a_thread(api: Api) -> None:
    engine = api.services.engine
    request = DecisionRequest(context={"user": {"id": unique("io")}})
    api.post("service", "/v1/decisions/home_popup", json=request.model_dump())
    api.post("service", "/v1/decisions/home_popup", json=request.model_dump())
    assert decide_on_loop(engine, "home_popup", request) is not None  # remembered
    saved = engine.velocity
    engine.velocity = RemoteVelocity()  # type: ignore[assignment]
    try:
        assert decide_on_loop(engine, "home_popup", request) is None
    finally:
        engine.velocity = saved


class RemoteVelocity:
    """A velocity store the route does not know to be in memory (one over the network)."""
