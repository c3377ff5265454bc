"""Limits on what one caller may ask: a request rate per API key, and bounded lists.

The rate is a token bucket per key: it holds up to `burst` tokens, refills at `rate` per
second, and each request takes one; an empty bucket is a 429 problem with `Retry-After`.
With Redis the bucket lives there (one Lua script: refill, take, expire — atomic, shared by
every process, timed by the Redis clock); without it, in the process. When Redis fails, the
request is let through and the failure counted: a limiter outage must not stop the service.

A process does not ask Redis for every request: it takes a small lease of tokens at once
(`lease_size`: about 50 ms of the rate, at most `LEASE_MAX`, 1 for small rates) and spends it
locally, and when Redis says the bucket is empty it refuses locally until the wait Redis gave
is over. Every token spent was taken from the shared bucket, so all processes together never
admit more than the bucket allows; a lease not spent within `LEASE_TTL_S` is dropped (those
tokens are lost, never reused later as a burst). `RateLimiter.admit_now` is the part without
I/O, for the event loop; `enforce` may ask Redis, so it is run in a thread.

The list bounds are the `MAX_*` constants the request schemas use.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from arbiter.api.errors import ApiProblem

log = logging.getLogger("arbiter.api")

# Bounds on lists in request bodies (the body size is bounded as a whole by the middleware).
MAX_CART_LINES = 200
MAX_COUPONS = 50
MAX_TAGS_PER_LINE = 50
MAX_CODES = 10_000
# Numbers stored in integer columns (version numbers, counts): PostgreSQL's `integer` and
# what SQLite binds; a larger one would fail in the driver as a 500 instead of a 422.
MAX_INT = 2**31 - 1

BUCKETS_LIMIT = 100_000  # in-memory buckets; past it, full (idle) buckets are dropped


LEASE_S = 0.05  # a lease holds about this many seconds of the rate
LEASE_MAX = 100  # tokens
LEASE_TTL_S = 1.0  # a lease not spent by then is dropped


class Bucket(Protocol):
    def take(self, subject: str) -> float | None:
        """None when a token was taken, else the seconds until one will be there."""


class LocalBucket(Bucket, Protocol):
    def take_local(self, subject: str) -> float | None | bool:
        """Without I/O: None when a token was taken, the seconds to wait when the bucket is
        known to be empty, False when only `take` can tell."""


class RateLimiter:
    def __init__(self, bucket: Bucket | None) -> None:
        self.bucket = bucket
        self._local = getattr(bucket, "take_local", None)

    def admit_now(self, subject: str) -> bool:
        """True when the request is admitted (or refused, as a 429 problem) without I/O;
        False when `enforce` must decide."""
        if self.bucket is None:
            return True
        if self._local is None:
            return False
        wait = self._local(subject)
        if wait is False:
            return False
        if wait is not None:
            raise _refusal(float(wait))
        return True

    def enforce(self, subject: str) -> None:
        if self.bucket is None:
            return
        wait = self.bucket.take(subject)
        if wait is not None:
            raise _refusal(wait)


def _refusal(wait: float) -> ApiProblem:
    seconds = max(1, math.ceil(wait))
    return ApiProblem(
        429, "rate-limited", "Too many requests",
        f"this key's request rate is exhausted; retry in {seconds} s",
        headers={"Retry-After": str(seconds)}, retry_after=seconds,
    )


def lease_size(rate: float, burst: int) -> int:
    return max(1, min(LEASE_MAX, burst, int(rate * LEASE_S)))


class MemoryBuckets:
    def __init__(self, rate: float, burst: int, timer: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.timer = timer
        self._buckets: dict[str, tuple[float, float]] = {}  # subject -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, subject: str) -> float | None:
        with self._lock:
            now = self.timer()
            tokens, at = self._buckets.get(subject, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.rate)
            if len(self._buckets) >= BUCKETS_LIMIT and subject not in self._buckets:
                self._buckets.clear()
            if tokens >= 1:
                self._buckets[subject] = (tokens - 1, now)
                return None
            self._buckets[subject] = (tokens, now)
            return (1 - tokens) / self.rate

    def take_local(self, subject: str) -> float | None | bool:
        return self.take(subject)  # in memory: never any I/O


# KEYS[1] the bucket; ARGV rate per second, burst, tokens wanted. Returns {tokens taken, "0"}
# when at least one was there (up to the number wanted), else {0, seconds to wait} (as a
# string: Lua numbers come back as integers otherwise).
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3]) or 1
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local taken = 0
local wait = 0
if tokens >= 1 then
  taken = math.min(wanted, math.floor(tokens))
  tokens = tokens - taken
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {taken, tostring(wait)}
"""


class RedisBuckets:
    """The shared buckets in Redis, spent through per-process leases (see the module)."""

    def __init__(self, client: Any, rate: float, burst: int, prefix: str = "arbiter",
                 timer: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.rate = rate
        self.burst = burst
        self.prefix = prefix
        self.lease = lease_size(rate, burst)
        self.timer = timer
        self.failures = 0
        self._script = client.register_script(_TAKE)
        # subject -> [tokens leased and not spent, lease ends, refused until]
        self._leases: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def take_local(self, subject: str) -> float | None | bool:
        with self._lock:
            held = self._leases.get(subject)
            if held is None:
                return False
            now = self.timer()
            if held[2] > now:
                return held[2] - now
            if held[0] >= 1 and held[1] > now:
                held[0] -= 1
                return None
            return False

    def take(self, subject: str) -> float | None:
        local = self.take_local(subject)
        if local is not False:
            return None if local is None else float(local)
        try:
            taken, wait = self._script(keys=[f"{self.prefix}:{{rate}}:{subject}"],
                                       args=[self.rate, self.burst, self.lease])
        except Exception as exc:  # Redis away: let the request through rather than fail it
            self.failures += 1
            if self.failures == 1 or self.failures % 1000 == 0:
                log.warning("rate limit not enforced: Redis failed (%s); %d failure(s)", exc, self.failures)
            return None
        taken = int(taken)
        now = self.timer()
        with self._lock:
            if len(self._leases) >= BUCKETS_LIMIT and subject not in self._leases:
                self._leases.clear()
            held = self._leases.setdefault(subject, [0.0, 0.0, 0.0])
            if taken >= 1:
                if held[1] <= now:
                    held[0] = 0.0  # what was left of an old lease is dropped, not saved up
                held[0] += taken - 1
                held[1] = now + LEASE_TTL_S
                held[2] = 0.0
                return None
            held[2] = now + float(wait)
            return float(wait)


def rate_limiter(rate: int, burst: int, redis: Any | None, prefix: str = "arbiter") -> RateLimiter:
    """No limit when `rate` is 0; in Redis when a client is given; else in memory."""
    if rate <= 0:
        return RateLimiter(None)
    if redis is not None:
        return RateLimiter(RedisBuckets(redis, rate, burst, prefix))
    return RateLimiter(MemoryBuckets(rate, burst))
