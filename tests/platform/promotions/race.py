"""One side of worked example 2's races: `python -m tests.platform.promotions.race KIND DB_URL
REDIS_URL PREFIX`. It connects, prints `ready`, then runs one JSON command per line from stdin
(`checkout` or `cancel`, with a `start_at` wall-clock time so that both processes start
together) and prints each command's outcomes as one JSON line."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from arbiter.clock import FixedClock
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork, make_engine
from arbiter.platform.promotions import service
from arbiter.platform.promotions.budgets import BudgetStore, BudgetTerms, SqlBudgets
from arbiter.platform.promotions.service import CouponUse

AT = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)


def outcome(use: CouponUse) -> dict[str, Any]:
    return {
        "ok": use.ok, "reason": use.reason, "granted": None if use.granted is None else str(use.granted.amount),
        "replayed": use.coupon.replayed, "status": use.coupon.status,
    }


def main(kind: str, db_url: str, redis_url: str, prefix: str) -> None:
    engine = make_engine(db_url)
    clock = FixedClock(AT)
    budgets: BudgetStore
    if kind == "redis":
        import redis

        from arbiter.platform.promotions.redis_budgets import RedisBudgets

        budgets = RedisBudgets(redis.Redis.from_url(redis_url), clock, prefix=prefix)
    else:
        budgets = SqlBudgets(engine, clock)
    budgets.remaining("new_user_99_20")  # connect before the start
    print("ready", flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        time.sleep(max(0.0, command["start_at"] - time.time()))
        results = []
        for coupon_id, order_id, user in command["orders"]:
            with UnitOfWork(engine) as uow:
                if command["op"] == "checkout":
                    use = service.reserve_with_budget(
                        uow, budgets, coupon_id, order_id, user, Money.of(command["discount"]), AT,
                        terms=BudgetTerms(command["policy"], per_user=1))
                else:
                    use = service.return_with_budget(uow, budgets, coupon_id, order_id, AT)
            results.append(outcome(use))
        print(json.dumps(results), flush=True)
    engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:5])
