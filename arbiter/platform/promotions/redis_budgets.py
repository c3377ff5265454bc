"""`RedisBudgets`: the `BudgetStore` in Redis, each move one Lua script (atomic on the server).

Three keys per promotion, hash-tagged so that Redis Cluster keeps them in one slot:
`arbiter:{promo:NAME}:budget` (currency, total, used, uses_total, uses_used),
`arbiter:{promo:NAME}:orders` (order id -> the reservation as JSON) and
`arbiter:{promo:NAME}:usage` (`u:USER`, `d:DAY:USER`, `v:DEVICE` -> active reservations; a
field is deleted when it falls to zero). Amounts are whole ten-thousandths kept as integer
strings: Lua numbers are doubles, exact only for integers, so no fraction ever enters a script
and every amount stays below 10^11 (checked before the call).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from arbiter.clock import Clock
from arbiter.errors import CurrencyMismatch
from arbiter.money import Money
from arbiter.platform.columns import from_units, to_units, utc
from arbiter.platform.promotions.budgets import (
    ALREADY_CONFIRMED,
    ALREADY_RELEASED,
    NO_RESERVATION,
    REFUSED,
    RELEASED,
    STRICT,
    BudgetState,
    BudgetTerms,
    BudgetUnavailable,
    Reservation,
    UnknownBudget,
    Usage,
    check_amount,
    check_total,
    previewed,
)

DEFINE = """
local current = redis.call('HGET', KEYS[1], 'currency')
if current and current ~= ARGV[1] then return {'currency', current} end
redis.call('HSET', KEYS[1], 'currency', ARGV[1], 'total', ARGV[2], 'uses_total', ARGV[3])
redis.call('HSETNX', KEYS[1], 'used', '0')
redis.call('HSETNX', KEYS[1], 'uses_used', '0')
return {'ok', ''}
"""

# ARGV: order, units, currency, policy, user, device, day, per_user, per_user_per_day,
# per_device (each '' when absent), at
RESERVE = """
local order = ARGV[1]
local existing = redis.call('HGET', KEYS[2], order)
if existing then return {'replay', existing} end
local b = redis.call('HMGET', KEYS[1], 'currency', 'total', 'used', 'uses_total', 'uses_used')
if not b[1] then return {'unknown', ''} end
if b[1] ~= ARGV[3] then return {'currency', b[1]} end
local amount = tonumber(ARGV[2])
local fields = {'u:' .. ARGV[5], 'd:' .. ARGV[7] .. ':' .. ARGV[5]}
local limits = {ARGV[8], ARGV[9]}
local reasons = {'per-user limit', 'per-user daily limit'}
if ARGV[6] ~= '' then
  fields[3] = 'v:' .. ARGV[6]; limits[3] = ARGV[10]; reasons[3] = 'per-device limit'
end
for i, field in ipairs(fields) do
  if limits[i] ~= '' then
    local n = tonumber(redis.call('HGET', KEYS[3], field) or '0')
    if n >= tonumber(limits[i]) then return {'refused', reasons[i]} end
  end
end
if b[4] and b[4] ~= '' and tonumber(b[5]) >= tonumber(b[4]) then
  return {'refused', 'uses exhausted'}
end
local left = tonumber(b[2]) - tonumber(b[3])
local grant = amount
if left < amount then
  if ARGV[4] == 'partial' and left > 0 then grant = left else return {'refused', 'budget exhausted'} end
end
local granted = string.format('%d', grant)
redis.call('HINCRBY', KEYS[1], 'used', granted)
redis.call('HINCRBY', KEYS[1], 'uses_used', 1)
for _, field in ipairs(fields) do redis.call('HINCRBY', KEYS[3], field, 1) end
local record = cjson.encode({status = 'reserved', user = ARGV[5], device = ARGV[6], day = ARGV[7],
  currency = ARGV[3], requested = ARGV[2], granted = granted, reserved_at = ARGV[11]})
redis.call('HSET', KEYS[2], order, record)
return {'reserved', record}
"""

CONFIRM = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {'missing', ''} end
local r = cjson.decode(raw)
if r.status ~= 'reserved' then return {r.status, raw} end
r.status = 'confirmed'
r.confirmed_at = ARGV[2]
local record = cjson.encode(r)
redis.call('HSET', KEYS[1], ARGV[1], record)
return {'moved', record}
"""

# ARGV: order, at, '1' to release a confirmed reservation too
RELEASE = """
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return {'missing', ''} end
local r = cjson.decode(raw)
if r.status == 'released' or (r.status == 'confirmed' and ARGV[3] ~= '1') then
  return {r.status, raw}
end
redis.call('HINCRBY', KEYS[1], 'used', '-' .. r.granted)
redis.call('HINCRBY', KEYS[1], 'uses_used', -1)
local fields = {'u:' .. r.user, 'd:' .. r.day .. ':' .. r.user}
if r.device ~= '' then fields[3] = 'v:' .. r.device end
for _, field in ipairs(fields) do
  if redis.call('HINCRBY', KEYS[3], field, -1) <= 0 then redis.call('HDEL', KEYS[3], field) end
end
r.status = 'released'
r.released_at = ARGV[2]
local record = cjson.encode(r)
redis.call('HSET', KEYS[2], ARGV[1], record)
return {'moved', record}
"""


def budget_keys(promotion: str, prefix: str = "arbiter") -> tuple[str, str, str]:
    """The budget, orders and usage keys of a promotion, in one Redis Cluster slot."""
    tag = f"{prefix}:{{promo:{promotion}}}"
    return f"{tag}:budget", f"{tag}:orders", f"{tag}:usage"


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _limit(limit: int | None) -> str:
    return "" if limit is None else str(limit)


class RedisBudgets:
    """`BudgetStore` in Redis; `client` is a `redis.Redis` built by the composition root.
    Scripts are registered on first use (EVALSHA, loaded again if the server forgot them)."""

    def __init__(self, client: Any, clock: Clock, prefix: str = "arbiter") -> None:
        self.client = client
        self.clock = clock
        self.prefix = prefix
        self._scripts: dict[str, Any] = {}

    def _run(self, name: str, keys: list[str], args: list[str]) -> tuple[str, str]:
        from redis.exceptions import RedisError

        try:
            script = self._scripts.get(name)
            if script is None:
                source = {"define": DEFINE, "reserve": RESERVE, "confirm": CONFIRM, "release": RELEASE}[name]
                script = self._scripts[name] = self.client.register_script(source)
            outcome, detail = script(keys=keys, args=args)
        except RedisError as exc:
            raise BudgetUnavailable(f"budgets: {type(exc).__name__}: {exc}") from exc
        return _text(outcome), _text(detail)

    def _read(self, method: str, *args: Any) -> Any:
        from redis.exceptions import RedisError

        try:
            return getattr(self.client, method)(*args)
        except RedisError as exc:
            raise BudgetUnavailable(f"budgets: {type(exc).__name__}: {exc}") from exc

    def _at(self) -> str:
        return utc(self.clock.now()).isoformat()

    def define(self, promotion: str, total: Money, uses: int | None = None) -> BudgetState:
        check_total(total, uses)
        budget, _, _ = budget_keys(promotion, self.prefix)
        outcome, detail = self._run(
            "define", [budget], [total.currency, str(to_units(total.amount)), _limit(uses)])
        if outcome == "currency":
            raise CurrencyMismatch(f"promotion {promotion!r} has a budget in {detail}, not {total.currency}")
        return self.state(promotion)

    def reserve(
        self, promotion: str, order_id: str, amount: Money, *, user: str, device: str | None = None,
        policy: str = STRICT, per_user: int | None = None, per_user_per_day: int | None = None,
        per_device: int | None = None, day: date,
    ) -> Reservation:
        amount = check_amount(amount)
        terms = BudgetTerms(policy, per_user, per_user_per_day, per_device)
        outcome, detail = self._run("reserve", list(budget_keys(promotion, self.prefix)), [
            order_id, str(to_units(amount.amount)), amount.currency, terms.policy, user, device or "",
            day.isoformat(), _limit(terms.per_user), _limit(terms.per_user_per_day),
            _limit(terms.per_device), self._at(),
        ])
        if outcome == "unknown":
            raise UnknownBudget(f"promotion {promotion!r} has no budget defined")
        if outcome == "currency":
            raise CurrencyMismatch(f"promotion {promotion!r} budgets in {detail}, not {amount.currency}")
        if outcome == "refused":
            zero = Money(from_units(0), amount.currency)
            return Reservation(promotion, order_id, amount, zero, REFUSED, detail)
        return self._reservation(promotion, order_id, detail, replayed=outcome == "replay")

    def _reservation(self, promotion: str, order_id: str, record: str, *, replayed: bool = False,
                     reason: str | None = None) -> Reservation:
        r = json.loads(record)
        currency = r["currency"]
        return Reservation(
            promotion, order_id, Money(from_units(r["requested"]), currency),
            Money(from_units(r["granted"]), currency), r["status"], reason, replayed,
        )

    def _settle(self, promotion: str, order_id: str, wanted: str, outcome: str, detail: str) -> Reservation:
        if outcome == "missing":
            currency = self._read("hget", budget_keys(promotion, self.prefix)[0], "currency")
            zero = Money(from_units(0), _text(currency) if currency else Money.zero().currency)
            return Reservation(promotion, order_id, zero, zero, REFUSED, NO_RESERVATION)
        if outcome == "moved":
            return self._reservation(promotion, order_id, detail)
        if outcome == wanted:
            return self._reservation(promotion, order_id, detail, replayed=True)
        reason = ALREADY_RELEASED if outcome == RELEASED else ALREADY_CONFIRMED
        return self._reservation(promotion, order_id, detail, reason=reason)

    def confirm(self, promotion: str, order_id: str) -> Reservation:
        _, orders, _ = budget_keys(promotion, self.prefix)
        outcome, detail = self._run("confirm", [orders], [order_id, self._at()])
        return self._settle(promotion, order_id, "confirmed", outcome, detail)

    def release(self, promotion: str, order_id: str, *, after_confirm: bool = False) -> Reservation:
        outcome, detail = self._run("release", list(budget_keys(promotion, self.prefix)),
                                    [order_id, self._at(), "1" if after_confirm else "0"])
        return self._settle(promotion, order_id, RELEASED, outcome, detail)

    def state(self, promotion: str) -> BudgetState:
        values = self._read("hmget", budget_keys(promotion, self.prefix)[0],
                            ["currency", "total", "used", "uses_total", "uses_used"])
        return self._state(promotion, values)

    def _state(self, promotion: str, values: list[Any]) -> BudgetState:
        currency, total, used, uses_total, uses_used = (None if v is None else _text(v) for v in values)
        if currency is None or total is None:
            raise UnknownBudget(f"promotion {promotion!r} has no budget defined")
        return BudgetState(
            promotion, Money(from_units(total), currency), Money(from_units(used or 0), currency),
            int(uses_total) if uses_total else None, int(uses_used or 0),
        )

    def remaining(self, promotion: str) -> Money:
        return self.state(promotion).remaining

    def reservation(self, promotion: str, order_id: str) -> Reservation | None:
        raw = self._read("hget", budget_keys(promotion, self.prefix)[1], order_id)
        return None if raw is None else self._reservation(promotion, order_id, _text(raw))

    def preview(
        self, promotion: str, amount: Money, *, user: str | None = None, device: str | None = None,
        policy: str = STRICT, per_user: int | None = None, per_user_per_day: int | None = None,
        per_device: int | None = None, day: date | None = None,
    ) -> Reservation:
        """What `reserve` would grant now; reads only (the trial), from one snapshot."""
        from redis.exceptions import RedisError

        amount = check_amount(amount)
        terms = BudgetTerms(policy, per_user, per_user_per_day, per_device)
        budget, _, usage = budget_keys(promotion, self.prefix)
        fields = [
            f"u:{user}" if user is not None else "-",
            f"d:{day.isoformat()}:{user}" if user is not None and day is not None else "-",
            f"v:{device}" if device is not None else "-",
        ]
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.hmget(budget, ["currency", "total", "used", "uses_total", "uses_used"])
            pipe.hmget(usage, fields)
            values, counts = pipe.execute()
        except RedisError as exc:
            raise BudgetUnavailable(f"budgets: {type(exc).__name__}: {exc}") from exc
        state = self._state(promotion, values)
        used = Usage(*(0 if c is None else int(c) for c in counts))
        return previewed(promotion, amount, state, terms, used, has_device=device is not None)
