"""One side of the velocity race: `python -m tests.platform.risk.race URL PREFIX SIDE COUNT`
connects, prints `ready`, waits for a line on stdin (so that both sides start together), then
records COUNT payments of 0.01 CNY on one card: the first half under ids both sides share,
the second half under ids of its own. It prints how many were new to the store."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import redis

from arbiter.platform.risk.velocity import RedisVelocity
from tests.platform.risk.support import RULES, ruleset

T0 = datetime(2026, 11, 11, 20, 0, tzinfo=UTC)


def main(url: str, prefix: str, side: str, count: int) -> None:
    features = ruleset(RULES).program.features
    payments = features["count(payment by payment.card within 1d)"]
    amounts = features["sum(payment.amount by payment.card within 1d)"]
    store = RedisVelocity(redis.Redis.from_url(url), prefix)
    store.read(payments, "warm-up", T0)  # connect and load the scripts before the start
    print("ready", flush=True)
    sys.stdin.readline()
    new = 0
    for i in range(count):
        event_id = f"shared-{i}" if i < count // 2 else f"{side}-{i}"
        at = T0 + timedelta(seconds=i)
        new += store.add_new(payments, "card-1", at, 1, event_id)
        store.add(amounts, "card-1", at, "0.01", event_id)
    print(new, flush=True)


if __name__ == "__main__":
    url, prefix, side, count = sys.argv[1:5]
    main(url, prefix, side, int(count))
