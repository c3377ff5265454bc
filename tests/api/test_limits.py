"""The rate limiter's leases: a process spends tokens it took from the shared Redis bucket in
small leases, decides on the event loop when it can, and all processes together never admit
more than the bucket holds (raced across real OS processes)."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from arbiter.api.errors import ApiProblem
from arbiter.api.limits import LEASE_TTL_S, MemoryBuckets, RateLimiter, RedisBuckets, lease_size

pytestmark = pytest.mark.services


@pytest.fixture
def client(redis_url: str) -> Iterator[Any]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


class Counting:
    """A Redis client that counts the scripts it runs."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = 0

    def register_script(self, text: str) -> Any:
        script = self.client.register_script(text)

        def run(**kwargs: Any) -> Any:
            self.calls += 1
            return script(**kwargs)

        return run


MADE: list[str] = []


def prefix() -> str:
    made = f"arbiter-test-limits-{uuid.uuid4().hex[:10]}"
    MADE.append(made)
    return made


@pytest.fixture(autouse=True)
def _forget_buckets(redis_url: str) -> Iterator[None]:
    yield
    connection = redis.Redis.from_url(redis_url)
    while MADE:
        for key in connection.scan_iter(f"{MADE.pop()}:*"):
            connection.delete(key)
    connection.close()


def test_the_lease_is_50_ms_of_the_rate_within_bounds() -> None:
    assert [lease_size(rate, 200) for rate in (1, 10, 100, 1000, 10**6)] == [1, 1, 5, 50, 100]
    assert lease_size(1000, 20) == 20  # never more than the bucket holds


def test_two_processes_share_one_bucket_through_leases(client: Any) -> None:
    now = [0.0]
    counting = Counting(client)
    shared = prefix()
    a = RedisBuckets(counting, rate=100, burst=10, prefix=shared, timer=lambda: now[0])
    b = RedisBuckets(counting, rate=100, burst=10, prefix=shared, timer=lambda: now[0])
    assert a.lease == 5
    assert a.take_local("k") is False  # nothing leased yet: only Redis can tell
    assert a.take("k") is None and b.take("k") is None  # a lease of 5 each: the bucket is empty
    assert counting.calls == 2
    admitted = sum(1 for bucket in (a, b) for _ in range(4) if bucket.take_local("k") is None)
    assert admitted == 8 and counting.calls == 2  # spent locally
    wait = a.take("k")
    assert wait is not None and 0 < wait <= 0.01  # 1 token at 100/s
    assert counting.calls == 3
    assert a.take_local("k") == pytest.approx(wait)  # refused locally until then
    assert counting.calls == 3


def test_an_unspent_lease_is_dropped_not_saved_up(client: Any) -> None:
    now = [0.0]
    bucket = RedisBuckets(Counting(client), rate=100, burst=200, prefix=prefix(), timer=lambda: now[0])
    assert bucket.take("k") is None
    assert bucket.take_local("k") is None  # 3 left of the lease
    now[0] += LEASE_TTL_S + 0.01
    assert bucket.take_local("k") is False


def test_the_limiter_decides_on_the_loop_when_it_can(client: Any) -> None:
    assert RateLimiter(None).admit_now("k") is True
    memory = RateLimiter(MemoryBuckets(rate=1, burst=1))
    assert memory.admit_now("k") is True
    with pytest.raises(ApiProblem) as refused:
        memory.admit_now("k")
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "1"}
    shared = RateLimiter(RedisBuckets(client, rate=100, burst=200, prefix=prefix()))
    assert shared.admit_now("k") is False  # no lease yet
    shared.enforce("k")
    assert shared.admit_now("k") is True


def _spend(redis_url: str, shared: str, tries: int, out: Any) -> None:
    connection = redis.Redis.from_url(redis_url)
    bucket = RedisBuckets(connection, rate=0.001, burst=60, prefix=shared)  # no refill to speak of
    bucket.lease = 7  # leases that do not divide the bucket evenly
    out.put(sum(1 for _ in range(tries) if bucket.take("k") is None))
    connection.close()


def test_processes_racing_never_admit_more_than_the_bucket(redis_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    shared = prefix()
    racers = [context.Process(target=_spend, args=(redis_url, shared, 40, out)) for _ in range(4)]
    for racer in racers:
        racer.start()
    admitted = [out.get(timeout=60) for _ in racers]
    for racer in racers:
        racer.join(30)
    assert sum(admitted) <= 60
    assert sum(admitted) >= 60 - 4 * 6  # at most a partial lease left unspent per process
