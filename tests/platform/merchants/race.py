"""One side of the onboarding races: `python -m tests.platform.merchants.race DB_URL ACTION ID`.
ACTION `apply` applies as merchant ID for the shop `shop-race`; `deposit` pays the deposit of
the approved merchant `m-race`. It prints `ready`, waits for a JSON line with a `start_at`
wall-clock time, acts, and prints one JSON line: {"ok": ...} or {"conflict": message}."""

from __future__ import annotations

import json
import sys
import time

from arbiter.errors import Conflict
from arbiter.money import Money
from arbiter.platform.db import UnitOfWork, make_engine
from arbiter.platform.merchants import service as merchants

from .support import LICENCE, T0


def main(url: str, action: str, merchant_id: str) -> None:
    db = make_engine(url)
    print("ready", flush=True)
    command = json.loads(sys.stdin.readline())
    time.sleep(max(0.0, command["start_at"] - time.time()))
    try:
        with UnitOfWork(db) as uow:
            if action == "apply":
                done = merchants.apply(uow, merchant_id, name=merchant_id, type="enterprise", shop="shop-race",
                                       shop_name="race", categories=["dress"], qualifications=LICENCE, now=T0)
            else:
                done = merchants.pay_deposit(uow, "m-race", amount=Money.of("10000.00"), reference=merchant_id,
                                             now=T0)
        print(json.dumps({"ok": done.status}), flush=True)
    except Conflict as exc:
        print(json.dumps({"conflict": exc.code}), flush=True)
    finally:
        db.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
