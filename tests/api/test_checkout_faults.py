"""A worker killed in the middle of checkout, on PostgreSQL and Redis: the storefront's
checkout, its payment and the channel's callback are each cut off by SIGKILL while in flight,
the worker is started again, and the caller retries with the same `Idempotency-Key`.

After it all, exactly one order exists, it is paid once (one `order.paid` event, one payment
that succeeded), and the warehouse gave exactly one phone: no order is lost or paid twice.
The callback is signed here with the channels' secret, as the channel would sign it: the
simulated channel's memory died with the worker that charged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import update

from arbiter.api.settings import Settings
from arbiter.clock import SystemClock
from arbiter.platform.db import UnitOfWork, create_schema, make_engine
from arbiter.platform.demo import world
from arbiter.platform.events import service as events
from arbiter.platform.inventory import service as inventory
from arbiter.platform.keys import service as keys
from arbiter.platform.promotions.holds import PLACING
from arbiter.platform.promotions.models import ORDERS as PLACEMENTS

from .conftest import postgres_schema, unique
from .test_faults import ROOT, _quietly, _serve, free_port

DEVICE = {"device_id": "dev-kill-1", "ip_region": "上海"}


class Worker:
    """One uvicorn worker of the service on a fixed port, killed and started at will."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env, self.port = env, free_port()
        self.prefix = env["ARBITER_REDIS_PREFIX"]
        self.base = f"http://127.0.0.1:{self.port}"
        self.server: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.server = _serve(self.port, self.env)

    def kill_during(self, send: Callable[[], Any], after_s: float) -> None:
        """Send a request and kill the worker `after_s` into it: the caller never learns."""
        assert self.server is not None
        sent = threading.Thread(target=lambda: _quietly(send))
        sent.start()
        time.sleep(after_s)
        self.server.send_signal(signal.SIGKILL)
        self.server.wait(10)
        sent.join(10)
        self.start()

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()


@pytest.fixture
def service(postgres_url: str, redis_url: str) -> Iterator[tuple[Worker, str, str]]:
    """A worker on a fresh PostgreSQL schema with the demo world, Redis for its stores:
    (worker, database URL, service key)."""
    with postgres_schema(postgres_url) as database:
        engine = make_engine(database)
        create_schema(engine)
        with UnitOfWork(engine) as uow:
            token = keys.create(uow, role="service", by="tests", clock=SystemClock()).token
        engine.dispose()
        env = {**os.environ, "ARBITER_DATABASE_URL": database, "ARBITER_REDIS_URL": redis_url,
               "ARBITER_REDIS_PREFIX": unique("arbiter-kill"), "ARBITER_RATE_LIMIT_PER_SECOND": "0",
               "ARBITER_DEMO_DATA": "1", "ARBITER_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        worker = Worker(env)
        worker.start()
        try:
            yield worker, database, token
        finally:
            worker.stop()


def leases_run_out(worker: Worker) -> None:
    """What a dead worker left half-way is taken over once its lease (a minute) runs out: the
    Idempotency-Key claim still pending, the order still being placed. Here they run out now."""
    client = redis.Redis.from_url(worker.env["ARBITER_REDIS_URL"])
    try:
        for name in client.scan_iter(f"{worker.prefix}:idem:*"):
            raw = client.get(name)
            if raw is not None and not json.loads(raw)["done"]:
                client.delete(name)
    finally:
        client.close()
    engine = make_engine(worker.env["ARBITER_DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(update(PLACEMENTS).where(PLACEMENTS.c.status == PLACING)
                           .values(lease_until=datetime(2000, 1, 1, tzinfo=UTC)))
    engine.dispose()


def retried(worker: Worker, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The caller's retry after the kill, once the dead worker's leases ran out: the same
    request runs, or its first response is replayed."""
    leases_run_out(worker)
    answer = httpx.request(method, f"{worker.base}{path}", timeout=30, **kwargs)
    assert answer.status_code == 200, answer.text
    return answer


# Killed early in each request, half-way through it, or just after it answered.
@pytest.mark.parametrize("after_s", [0.03, 0.1, 0.4])
def test_a_worker_killed_in_checkout_payment_and_callback_loses_nothing_and_pays_once(
        service: tuple[Worker, str, str], after_s: float) -> None:
    worker, database, token = service
    auth = {"Authorization": f"Bearer {token}"}
    registered = httpx.post(f"{worker.base}/v1/users", headers=auth, timeout=30, json={
        "phone": "13800138501", "password": "s3cret-pass", "passthrough": DEVICE}).json()
    user = registered["user_id"]
    address = httpx.post(f"{worker.base}/v1/users/{user}/addresses", headers=auth, timeout=30, json={
        "name": "张三", "phone": "13800138501", "region": "上海", "city": "上海市", "detail": "世纪大道100号"}).json()["id"]
    engine = make_engine(database)
    with UnitOfWork(engine) as uow:
        stock_before = inventory.stock_of(uow, world.PHONE)[world.WAREHOUSE]

    order = {"user_id": user, "key": "kill-checkout", "items": [{"sku": world.PHONE, "quantity": 1}],
             "address_id": address, "payment_method": "alipay", "passthrough": DEVICE}
    checkout = {**auth, "Idempotency-Key": "kill-checkout-1"}
    worker.kill_during(lambda: httpx.post(f"{worker.base}/v1/orders", json=order, headers=checkout, timeout=10),
                       after_s=after_s)
    placed = retried(worker, "POST", "/v1/orders", json=order, headers=checkout).json()
    assert placed["ok"] is True, placed
    parent = placed["order"]["id"]

    pay = {"user_id": user, "key": "kill-pay", "passthrough": DEVICE}
    paying = {**auth, "Idempotency-Key": "kill-pay-1"}
    path = f"/v1/orders/{parent}/payment"
    worker.kill_during(lambda: httpx.post(f"{worker.base}{path}", json=pay, headers=paying, timeout=10),
                       after_s=after_s)
    step = retried(worker, "POST", path, json=pay, headers=paying).json()
    assert (step["ok"], step["status"]) == (True, "pending"), step
    payment = httpx.get(f"{worker.base}{path}", headers=auth, timeout=30).json()
    assert payment["amount"] == placed["order"]["payable"]

    body = json.dumps({"payment_id": payment["payment_id"], "status": "succeeded",
                       "amount": payment["amount"]["amount"], "currency": "CNY", "channel_ref": "sim-kill-1"},
                      sort_keys=True).encode()
    signed = {**auth, "X-Signature": hmac.new(Settings().channel_secret.encode(), body, hashlib.sha256).hexdigest(),
              "Content-Type": "application/json"}
    callbacks = f"/v1/payments/callbacks/{payment['channel']}"
    worker.kill_during(lambda: httpx.post(f"{worker.base}{callbacks}", content=body, headers=signed, timeout=10),
                       after_s=after_s)
    for _ in range(2):  # the channel sends its notice again until it is answered, and once more
        assert retried(worker, "POST", callbacks, content=body, headers=signed).json()["status"] == "succeeded"

    orders = httpx.get(f"{worker.base}/v1/users/{user}/orders", headers=auth, timeout=30).json()
    assert len(orders) == 1 and orders[0]["status"] in ("paid", "fulfilling"), orders
    assert httpx.get(f"{worker.base}{path}", headers=auth, timeout=30).json()["status"] == "succeeded"
    with UnitOfWork(engine) as uow:
        paid = [e for e in events.about(uow, orders[0]["id"]) if e.kind == "order.paid"]
        on_hand, locked = inventory.stock_of(uow, world.PHONE)[world.WAREHOUSE]
    engine.dispose()
    assert len(paid) == 1
    assert (on_hand, locked) == (stock_before[0], stock_before[1] + 1)  # one phone, locked for its shipment
