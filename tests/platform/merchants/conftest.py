"""The golden-flow fixtures (a demo world on SQLite, or on SQLite and PostgreSQL) for the
merchant tests, shared with tests/platform/flows."""

from __future__ import annotations

from tests.platform.flows.conftest import any_platform, demo_rules, platform

__all__ = ["any_platform", "demo_rules", "platform"]
