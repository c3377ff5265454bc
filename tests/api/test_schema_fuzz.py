"""The OpenAPI document against the service itself: schemathesis generates requests for every
operation (valid ones and invalid ones) and each answer must not be a 5xx and must match what
the document says about its status, media type and body.

The app runs on a temp SQLite database with the demo rules, no rate limit, and an admin key
(admitted everywhere). Examples per operation are few, so the whole run stays well under a
minute; CI runs it on every change, so the document cannot drift from the routes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks
from schemathesis.python import asgi

from arbiter.api.app import create_app
from arbiter.clock import FixedClock
from arbiter.platform.db import UnitOfWork, create_schema, make_engine
from arbiter.platform.keys import service as keys

from .conftest import NOW, base_settings

EXAMPLES_PER_OPERATION = 30
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]

@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    """The loaded document, bound to a started app, and the headers of an admin key."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'arbiter.db'}"
    database = make_engine(url)
    create_schema(database)
    clock = FixedClock(NOW)
    with UnitOfWork(database) as uow:
        token = keys.create(uow, role="admin", shop=None, by="tests", clock=clock).token
    database.dispose()
    app = create_app(base_settings(database_url=url), clock=clock)
    # Loading the document starts the app's lifespan (schemathesis keeps it for the process):
    # stopped below so its threads and connections do not outlive the module.
    yield schemathesis.openapi.from_asgi("/openapi.json", app), {"Authorization": f"Bearer {token}"}
    asgi.shutdown_lifespans()


def _summary(exc: BaseException) -> str:
    """The failures' headlines, without the (long) generated bodies."""
    parts = getattr(exc, "exceptions", None) or [exc]
    lines = []
    for part in parts:
        text = [line for line in str(part).splitlines() if line.strip()]
        lines.append(f"{type(part).__name__}: " + " | ".join(text[:2])[:300])
        answer = [line for line in text if line.strip().startswith("`{")]
        if answer:
            lines.append("  answer: " + answer[0].strip()[:300])
        value = str(part).split("Value:", 1)
        if len(value) == 2:
            lines.append("  value: " + " ".join(value[1].split())[:400])
    return "\n".join(lines)


def test_every_operation_answers_as_documented(api_schema: tuple[Any, dict[str, str]]) -> None:
    schema, headers = api_schema
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                              operation.as_strategy(GenerationMode.NEGATIVE)))
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers=dict(headers), checks=CHECKS)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # one operation's failure; keep fuzzing the others
            failures.append(f"{operation.method.upper()} {operation.path}: {_summary(exc)}")
    assert operations > 20
    assert not failures, "\n\n".join(failures)
