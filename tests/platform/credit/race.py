"""One side of the credit-line race: `python -m tests.platform.credit.race DB_URL THREADS`. It
connects and compiles the rules, prints `ready`, then runs one JSON command per line from
stdin (`orders`: [user, order id, amount] to pay in 3 terms, with a `start_at` wall-clock time
so that both processes start together), spread over its threads, and prints the outcomes as
one JSON line."""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from arbiter.money import Money
from arbiter.platform.credit import approval
from arbiter.platform.db import UnitOfWork, make_engine

from .support import T0, context, engine


def main(db_url: str, threads: int) -> None:
    database = make_engine(db_url)
    decisions = engine()
    with UnitOfWork(database) as uow:
        uow.session.connection()  # connect before the start
    print("ready", flush=True)

    def one(orders: list[list[str]], start: threading.Barrier, start_at: float) -> list[dict[str, Any]]:
        start.wait()
        time.sleep(max(0.0, start_at - time.time()))
        results = []
        for user, order_id, amount in orders:
            with UnitOfWork(database) as uow:
                paid = approval.approve_and_deduct(
                    uow, decisions, user_id=user, order_id=order_id, amount=Money.of(amount), term=3,
                    context=context(), key=f"pay-{order_id}", now=T0, verified="face")
                uow.commit()
            results.append({"order": order_id, "user": user, "amount": amount, "ok": paid.ok, "reason": paid.reason})
        return results

    for line in sys.stdin:
        command = json.loads(line)
        orders = command["orders"]
        parts = [orders[i::threads] for i in range(threads)]
        barrier = threading.Barrier(threads)
        with ThreadPoolExecutor(threads) as pool:
            futures = [pool.submit(one, part, barrier, command["start_at"]) for part in parts]
            done = [f.result(timeout=300) for f in futures]
        print(json.dumps([r for part in done for r in part]), flush=True)
    database.dispose()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
