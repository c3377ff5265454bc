"""Velocity features in Redis: the `VelocityStore` the engine reads counts, distinct counts and
sums through when several processes share the counters.

Per (feature, key) a sorted set holds the event ids scored by event time (microseconds since
the epoch, exact in a double until the year 2255), and, for `distinct` and `sum`, a hash holds
each event's value. Both keys carry the same hash tag (`{vel:<sha1 of the feature id>:<key>}`),
so they live in one Redis Cluster slot and one Lua script can touch both.

`add` and `read` are each ONE Lua script, so concurrent writers never interleave a
read-then-write: `add` trims what left the window, inserts the event id only if absent
(`ZADD NX`: a retried event counts once) and refreshes the keys' expiry; `read` trims, then
counts, counts distinct values or sums. Amounts are kept as integer ten-thousandths in
strings and summed in Lua in two integer halves (below and above 10^9), never as floats:
a sum is exact to the ten-thousandth for any realistic volume.

Expiry is housekeeping in the server's time (a key left alone for one window goes away);
which events count is decided by event time only, so a controlled clock gives exact windows.
Every Redis failure becomes `StoreUnavailable`: the scene's failure policy answers.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from arbiter.dsl import types as t
from arbiter.dsl.model import Feature
from arbiter.engine.stores import StoreUnavailable

SUM_PLACES = 4  # sums keep ten-thousandths; finer values are rounded half-even when recorded
_QUANTUM = Decimal(1).scaleb(-SUM_PLACES)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# Shared by both scripts: remove the entries at or before ARGV[1] (and their values).
_TRIM = """
local function trim(start, with_values)
  local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', start)
  if #old == 0 then return end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', start)
  if with_values then
    for i = 1, #old, 500 do  -- unpack in chunks: Lua's stack is bounded
      redis.call('HDEL', KEYS[2], unpack(old, i, math.min(i + 499, #old)))
    end
  end
end
"""

# KEYS: events, values. ARGV: start, at, event id, value ('' for count), expiry in ms.
ADD_SCRIPT = _TRIM + """
local with_values = ARGV[4] ~= ''
trim(ARGV[1], with_values)
local added = redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if with_values then
  if added == 1 then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) end
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
return added
"""

# KEYS: events, values. ARGV: start, now, kind (count | distinct | sum).
# A sum comes back as {high, low}: the total is high * 10^9 + low, each half an exact integer.
READ_SCRIPT = _TRIM + """
local kind = ARGV[3]
trim(ARGV[1], kind ~= 'count')
if kind == 'count' then
  return redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], ARGV[2])
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], ARGV[2])
local distinct, seen = 0, {}
local high, low = 0, 0
for i = 1, #ids, 500 do
  local values = redis.call('HMGET', KEYS[2], unpack(ids, i, math.min(i + 499, #ids)))
  for _, v in ipairs(values) do
    if v then
      if kind == 'distinct' then
        if not seen[v] then seen[v] = true; distinct = distinct + 1 end
      else
        local sign = 1
        if string.sub(v, 1, 1) == '-' then sign = -1; v = string.sub(v, 2) end
        local n = #v
        low = low + sign * tonumber(string.sub(v, math.max(1, n - 8)))
        if n > 9 then high = high + sign * tonumber(string.sub(v, 1, n - 9)) end
        if low >= 1e9 or low <= -1e9 then  -- carry, so that both halves stay small
          local carry = (low - math.fmod(low, 1e9)) / 1e9
          high = high + carry
          low = low - carry * 1e9
        end
      end
    end
  end
end
if kind == 'distinct' then return distinct end
return {high, low}
"""


def feature_slot(feature_id: str, key: str, prefix: str = "arbiter") -> str:
    """The hash tag shared by a (feature, key)'s keys; the sha1 keeps feature texts (spaces,
    parentheses) out of key names and bounds their length."""
    digest = hashlib.sha1(feature_id.encode("utf-8")).hexdigest()
    return f"{prefix}:{{vel:{digest}:{key}}}"


def velocity_keys(feature_id: str, key: str, prefix: str = "arbiter") -> tuple[str, str]:
    slot = feature_slot(feature_id, key, prefix)
    return f"{slot}:events", f"{slot}:values"


def score(at: datetime) -> int:
    """Microseconds since the epoch, computed without floats; a naive time is taken as UTC."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return (aware - _EPOCH) // _MICROSECOND


def encode_value(feature: Feature, value: Any) -> str:
    """What the hash keeps for one event: '' for a count, a canonical text for a distinct
    value, integer units (ten-thousandths unless the feature sums ints) for a sum."""
    if feature.kind == "count":
        return ""
    if feature.kind == "distinct":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, Decimal):  # 1.0 and 1.00 are one value
            return format(value.normalize(), "f")
        return str(value)
    if feature.type == t.INT:
        return str(int(value))
    amount = getattr(value, "amount", value)  # a Money carries its Decimal in `amount`
    return str(int(Decimal(amount).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN).scaleb(SUM_PLACES)))


def decode_sum(feature: Feature, high: int, low: int) -> int | Decimal:
    units = int(high) * 10**9 + int(low)
    if feature.type == t.INT:
        return units
    return Decimal(units).scaleb(-SUM_PLACES)


def _milliseconds(window: timedelta) -> int:
    return max(1, -(-window // timedelta(milliseconds=1)))  # rounded up: never expire early


class RedisVelocity:
    """`VelocityStore` in Redis, shared by every process that records or decides.

    `client` is a `redis.Redis` built by the composition root. Failures are counted in
    `failures`, the last one kept in `last_error`.
    """

    def __init__(self, client: Any, prefix: str = "arbiter") -> None:
        self.client = client
        self.prefix = prefix
        self.failures = 0
        self.last_error: str | None = None
        self._add = client.register_script(ADD_SCRIPT)
        self._read = client.register_script(READ_SCRIPT)

    def add(self, feature: Feature, key: str, at: datetime, value: Any, event_id: str) -> None:
        self.add_new(feature, key, at, value, event_id)

    def add_new(self, feature: Feature, key: str, at: datetime, value: Any, event_id: str) -> bool:
        """`add`, saying whether the event was new (False: already recorded)."""
        start = score(at - feature.window)
        args = [start, score(at), event_id, encode_value(feature, value), _milliseconds(feature.window)]
        try:
            added = self._add(keys=list(velocity_keys(feature.id, key, self.prefix)), args=args)
        except Exception as exc:
            raise self._translate(exc) from exc
        return bool(added)

    def read(self, feature: Feature, key: str, now: datetime) -> int | Decimal:
        args = [score(now - feature.window), score(now), feature.kind]
        try:
            result = self._read(keys=list(velocity_keys(feature.id, key, self.prefix)), args=args)
        except Exception as exc:
            raise self._translate(exc) from exc
        if feature.kind == "sum":
            high, low = result
            return decode_sum(feature, high, low)
        return int(result)

    def _translate(self, exc: Exception) -> Exception:
        from redis.exceptions import RedisError

        if not isinstance(exc, RedisError):
            return exc
        self.failures += 1
        self.last_error = f"{exc.__class__.__name__}: {exc}"
        return StoreUnavailable(f"velocity: {self.last_error}")
