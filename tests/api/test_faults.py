"""The service when its stores fail: Redis killed mid-run and started again, the database
unreachable and reachable again, and a worker killed during an idempotent POST.

Nothing here touches the shared services' processes: Redis is a private `redis-server` on a
free port, and the database outage is a private TCP relay in front of PostgreSQL that the
test stops and starts (the shared server itself stays up). Every call is timed: a store that
is away must give a prompt answer, never a hanging request.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.engine import make_url

from arbiter.clock import SystemClock
from arbiter.platform.db import UnitOfWork, create_schema, make_engine
from arbiter.platform.idempotency.models import PENDING
from arbiter.platform.idempotency.store import RECORDS
from arbiter.platform.keys import service as keys
from tests.conftest import in_ci

from .conftest import Api, assert_problem, base_settings, postgres_schema, start_api, unique

PROMPT_S = 5.0  # no call may take longer while a store is away
ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed(call: Any, *args: Any, **kwargs: Any) -> httpx.Response:
    started = time.monotonic()
    response: httpx.Response = call(*args, **kwargs)
    elapsed = time.monotonic() - started
    assert elapsed < PROMPT_S, f"{args} took {elapsed:.1f} s"
    return response


def wait_for(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the service did not recover in time"
        time.sleep(0.2)


# ----------------------------------------------------------------------------- private Redis

class PrivateRedis:
    """A `redis-server` of this test's own, on a free port, that can be killed and restarted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if REDIS_SERVER is None:
        message = "redis-server is not installed: the Redis fault tests need a private server"
        if in_ci():
            pytest.fail(message, pytrace=False)  # under CI a missing server is a failure, never a skip
        pytest.skip(message)
    redis = PrivateRedis()
    redis.start()
    try:
        yield redis
    finally:
        redis.kill()


def scene_policy(api: Api, scene: str) -> tuple[str, list[dict[str, Any]]]:
    """The scene's declared failure policy and its fallback effects, as the API shows them."""
    ruleset = api.services.engine.ruleset
    policy = ruleset.program.scenes[scene].on_failure
    fallback = [effect.evaluate({}).to_json() for effect in ruleset.fallbacks[scene]]
    return policy, fallback


def assert_follows_policy(api: Api, response: httpx.Response, scene: str) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    if body["failed"]:
        policy, fallback = scene_policy(api, scene)
        assert body["failure_policy"] == policy
        assert body["effects"] == fallback
    return body


DECISIONS = {
    # fail-open targeting: the page must render
    "home_popup": {"user": {"id": "u-fault", "registered_days": 2}},
    # fail-closed: a claim is refused rather than let through unchecked
    "coupon_claim": {"user": {"id": "u-fault", "registered_days": 2}, "passthrough": {"device_id": "d-1"}},
}


def test_redis_killed_mid_run_then_restarted(private_redis: PrivateRedis, tmp_path: Path) -> None:
    settings = base_settings(database_url=f"sqlite:///{tmp_path / 'arbiter.db'}", redis_url=private_redis.url,
                             redis_prefix=unique("faults"), rate_limit_per_second=1000, rate_limit_burst=1000)
    with start_api(settings) as api:
        promotion = unique("budget")
        assert api.put("operator", f"/v1/budgets/{promotion}", json={"total": "50.00"}).status_code == 200
        reserve = {"order_id": "o-1", "amount": "10.00", "user": "u-1"}
        assert api.post("service", f"/v1/budgets/{promotion}/reserve", json=reserve).status_code == 200
        before = {scene: assert_follows_policy(api, api.post("service", f"/v1/decisions/{scene}",
                                                             json={"context": ctx}), scene)
                  for scene, ctx in DECISIONS.items()}

        private_redis.kill()

        # Decisions do not need Redis to answer: the experiment split falls back to hashing
        # (the same variant as before), and a failing evaluation answers by the scene's policy.
        for scene, ctx in DECISIONS.items():
            body = assert_follows_policy(api, timed(api.post, "service", f"/v1/decisions/{scene}",
                                                    json={"context": ctx}), scene)
            assert body["effects"] == before[scene]["effects"]
            assert body["variant"] == before[scene]["variant"]
        for scene, expected in (("home_popup", "open"), ("coupon_claim", "closed")):
            # A context the rules cannot evaluate (a required tag missing) fails the decision.
            failed = timed(api.post, "service", f"/v1/decisions/{scene}", json={"context": {"user": {"id": "x"}}})
            body = assert_follows_policy(api, failed, scene)
            assert body["failed"] and body["failure_policy"] == expected
        # Calls whose state lives in Redis are refused promptly, as a problem to retry.
        down = timed(api.post, "service", f"/v1/budgets/{promotion}/reserve",
                     json={**reserve, "order_id": "o-2"}, headers={"Idempotency-Key": unique("k")})
        assert_problem(down, 503)
        assert "retry-after" in down.headers
        assert_problem(timed(api.get, "analyst", f"/v1/budgets/{promotion}"), 503)
        ready = timed(api.client.get, "/ready")
        assert assert_problem(ready, 503, "not-ready")["failures"] == ["redis unreachable (ConnectionError)"]
        # Read-only calls on the database still answer.
        assert timed(api.get, "analyst", "/v1/rules/versions").status_code == 200

        private_redis.start()  # same port, empty: it kept nothing (no persistence)

        wait_for(lambda: api.client.get("/ready").status_code == 200)
        assert api.put("operator", f"/v1/budgets/{promotion}", json={"total": "50.00"}).status_code == 200
        again = api.post("service", f"/v1/budgets/{promotion}/reserve", json={**reserve, "order_id": "o-3"},
                         headers={"Idempotency-Key": unique("k")})
        assert again.status_code == 200, again.text
        assert again.json()["ok"] is True
        for scene, ctx in DECISIONS.items():
            body = assert_follows_policy(api, api.post("service", f"/v1/decisions/{scene}", json={"context": ctx}),
                                         scene)
            assert not body["failed"]


# ----------------------------------------------------------------------------- database relay

class Relay:
    """A TCP relay on a free port to `target`; `stop()` refuses new connections and cuts the
    open ones, as a database host going away does; `start()` brings it back on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            try:  # wakes the accepting thread: closing alone leaves the socket listening under it
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by stop()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass


@pytest.mark.services
def test_database_unreachable_then_reachable(postgres_url: str, tmp_path: Path) -> None:
    target = make_url(postgres_url)
    relay = Relay((target.host or "127.0.0.1", target.port or 5432))
    relay.start()
    try:
        with postgres_schema(postgres_url) as direct:
            url = make_url(direct).set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
            with start_api(base_settings(database_url=url, rules_dir=str(tmp_path))) as api:
                assert api.get("analyst", "/v1/rules/versions").status_code == 200

                relay.stop()

                for _ in range(3):  # the pooled connections are cut: each call notices, none hangs
                    assert_problem(timed(api.get, "analyst", "/v1/rules/versions"), 503, "store-unavailable")
                assert_problem(timed(api.put, "operator", "/v1/budgets/p-1", json={"total": "5.00"}), 503)
                problem = assert_problem(timed(api.client.get, "/ready"), 503, "not-ready")
                assert problem["failures"] == ["database unreachable (OperationalError)"]
                assert timed(api.client.get, "/health").status_code == 200

                relay.start()

                wait_for(lambda: api.client.get("/ready").status_code == 200)
                assert api.get("analyst", "/v1/rules/versions").status_code == 200
                assert api.put("operator", "/v1/budgets/p-1", json={"total": "5.00"}).status_code == 200
    finally:
        relay.stop()


def test_an_unreachable_database_at_start_is_503_promptly(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed}/test"
    from fastapi.testclient import TestClient

    from arbiter.api.app import create_app

    with TestClient(create_app(base_settings(database_url=url, rules_dir=str(tmp_path))),
                    raise_server_exceptions=False) as client:
        token = "ak_000000000000_" + "x" * 43
        for path in ("/v1/rules/versions", "/v1/decisions/home_popup"):
            method = client.get if path.endswith("versions") else client.post
            response = timed(method, path, headers={"X-API-Key": token})
            assert_problem(response, 503, "store-unavailable")


# ----------------------------------------------------------------------------- a killed worker

def _serve(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "arbiter.api.app:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        assert server.poll() is None, "the server exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(0.2)


def test_a_worker_killed_during_an_idempotent_post_moves_budget_once(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'arbiter.db'}"
    engine = make_engine(database)
    create_schema(engine)
    with UnitOfWork(engine) as uow:
        service_key = keys.create(uow, role="service", by="tests", clock=SystemClock()).token
        operator_key = keys.create(uow, role="operator", by="tests", clock=SystemClock()).token
    engine.dispose()
    env = {**os.environ, "ARBITER_DATABASE_URL": database, "ARBITER_RATE_LIMIT_PER_SECOND": "0",
           "ARBITER_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    env.pop("ARBITER_REDIS_URL", None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    promotion = f"budget-{uuid.uuid4().hex[:8]}"
    key = f"kill-{uuid.uuid4().hex[:8]}"
    body = {"order_id": "o-kill", "amount": "7.00", "user": "u-1"}
    service = {"Authorization": f"Bearer {service_key}", "Idempotency-Key": key}
    operator = {"Authorization": f"Bearer {operator_key}"}

    server = _serve(port, env)
    try:
        assert httpx.put(f"{base}/v1/budgets/{promotion}", json={"total": "50.00"}, headers=operator).status_code == 200
        # Killed while the reservation is in flight, or just after it: the caller never learns.
        sent = threading.Thread(target=lambda: _quietly(httpx.post, f"{base}/v1/budgets/{promotion}/reserve",
                                                       json=body, headers=service, timeout=5))
        sent.start()
        time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        sent.join(10)

        server = _serve(port, env)
        first = _replay(base, promotion, body, service)
        if first.status_code == 409:
            # Killed between the claim and the stored response: the claim stays pending until
            # its lease runs out (a minute), then a replay runs the reservation again. Let the
            # lease run out now instead of waiting for it.
            assert first.json()["type"] == "urn:arbiter:problem:idempotency-key-in-progress"
            expire_pending_claims(database)
            first = _replay(base, promotion, body, service)
        assert first.status_code == 200, first.text
        again = _replay(base, promotion, body, service)
        assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        state = httpx.get(f"{base}/v1/budgets/{promotion}", headers=operator, timeout=5).json()
        assert state["used"]["amount"] == "7.00"  # moved exactly once
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _replay(base: str, promotion: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    # Longer than the wait for a pending claim (10 s), after which the answer is a 409.
    return httpx.post(f"{base}/v1/budgets/{promotion}/reserve", json=body, headers=headers, timeout=30)


def expire_pending_claims(database: str) -> None:
    engine = make_engine(database)
    with engine.begin() as connection:
        connection.execute(update(RECORDS).where(RECORDS.c.status == PENDING)
                           .values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
    engine.dispose()


def _quietly(call: Any, *args: Any, **kwargs: Any) -> None:
    try:
        call(*args, **kwargs)
    except httpx.HTTPError:
        pass  # the server died under it: expected
