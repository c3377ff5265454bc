"""The users tests: the demo rules compiled once, an engine on a controlled clock per test
(in-process velocity counters), and the databases of tests/platform/conftest.py."""

from __future__ import annotations

import pytest

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_paths
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.engine.engine import Engine

from .support import RULES, T0


@pytest.fixture(scope="session")
def ruleset() -> Ruleset:
    result = check_paths([RULES])
    assert result.ok, [d.message for d in result.errors]
    return compile_program(result)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def engine(ruleset: Ruleset, clock: FixedClock) -> Engine:
    return Engine(ruleset, clock, version=1)
