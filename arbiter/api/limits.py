"""Limits on what one caller may ask: a request rate per API key, and bounded lists.

The rate is a token bucket per key: it holds up to `burst` tokens, refills at `rate` per
second, and each request takes one; an empty bucket is a 429 problem with `Retry-After`.
With Redis the bucket lives there (one Lua script: refill, take, expire — atomic, shared by
every process, timed by the Redis clock); without it, in the process. When Redis fails, the
request is let through and the failure counted: a limiter outage must not stop the service.

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


class Bucket(Protocol):
    def take(self, subject: str) -> float | None:
        """None when a token was taken, else the seconds until one will be there."""


class RateLimiter:
    def __init__(self, bucket: Bucket | None) -> None:
        self.bucket = bucket

    def enforce(self, subject: str) -> None:
        if self.bucket is None:
            return
        wait = self.bucket.take(subject)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise ApiProblem(
                429, "rate-limited", "Too many requests",
                f"this key's request rate is exhausted; retry in {seconds} s",
                headers={"Retry-After": str(seconds)}, retry_after=seconds,
            )


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


# KEYS[1] the bucket; ARGV rate per second, burst. Returns {1, "0"} when a token was taken,
# else {0, seconds to wait} (as a string: Lua numbers come back as integers otherwise).
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local taken = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {taken, tostring(wait)}
"""


class RedisBuckets:
    def __init__(self, client: Any, rate: float, burst: int, prefix: str = "arbiter") -> None:
        self.client = client
        self.rate = rate
        self.burst = burst
        self.prefix = prefix
        self.failures = 0
        self._script = client.register_script(_TAKE)

    def take(self, subject: str) -> float | None:
        try:
            taken, wait = self._script(keys=[f"{self.prefix}:rate:{{{subject}}}"], args=[self.rate, self.burst])
        except Exception as exc:  # Redis away: let the request through rather than fail it
            self.failures += 1
            if self.failures == 1 or self.failures % 1000 == 0:
                log.warning("rate limit not enforced: Redis failed (%s); %d failure(s)", exc, self.failures)
            return None
        return None if int(taken) == 1 else float(wait)


def rate_limiter(rate: int, burst: int, redis: Any | None, prefix: str = "arbiter") -> RateLimiter:
    """No limit when `rate` is 0; in Redis when a client is given; else in memory."""
    if rate <= 0:
        return RateLimiter(None)
    if redis is not None:
        return RateLimiter(RedisBuckets(redis, rate, burst, prefix))
    return RateLimiter(MemoryBuckets(rate, burst))
