"""A demo world for the end-to-end flows: the demo rules compiled once, a database (SQLite,
or a private PostgreSQL schema) with the world built in it, and a Platform on simulated
channels, on Singles' Day 2026 when the demo promotions run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Engine

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_paths
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.platform.compose import simulated_platform
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import world
from arbiter.platform.runtime import Platform

NOW = datetime(2026, 11, 11, 10, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture(scope="session")
def demo_rules() -> Ruleset:
    return compile_program(check_paths(["rules"]))


def build_platform(db: Engine, rules: Ruleset) -> Platform:
    platform = simulated_platform(db, rules, FixedClock(NOW))
    with UnitOfWork(db) as uow:
        world.build(uow, platform, NOW)
    return platform


@pytest.fixture
def platform(sqlite_engine: Engine, demo_rules: Ruleset) -> Platform:
    return build_platform(sqlite_engine, demo_rules)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_platform(request: pytest.FixtureRequest, demo_rules: Ruleset) -> Platform:
    engine: Engine = request.getfixturevalue(f"{request.param}_engine")
    return build_platform(engine, demo_rules)
