"""One side of the refund race: `python -m tests.platform.payments.race DB_URL`. It connects,
prints `ready`, then runs one JSON command per line from stdin: from the `start_at`
wall-clock time on (so that both processes start together), refund each of `requests`
([key, amount]) of order `order_id`, each in a unit of work of its own, and print one JSON
line: the refunds granted (new), replayed and refused, and the most refunded it ever saw."""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal
from typing import Any

from arbiter.money import Money
from arbiter.platform.db import UnitOfWork, make_engine
from arbiter.platform.payments import service as payments

from .support import SECRET, T0, router_of


def main(db_url: str) -> None:
    engine = make_engine(db_url)
    router = router_of(SECRET)
    with UnitOfWork(engine) as uow:
        payments.payment_of(uow, "warm-up")  # connect before the start
    print("ready", flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        time.sleep(max(0.0, command["start_at"] - time.time()))
        granted: list[str] = []
        replayed, refused, most = 0, 0, Decimal(0)
        for key, amount in command["requests"]:
            with UnitOfWork(engine) as uow:
                result = payments.refund(uow, router, order_id=command["order_id"], amount=Money.of(amount), key=key,
                                         reason="race", now=T0)
                uow.commit()
            with UnitOfWork(engine) as uow:
                seen = payments.payment_of(uow, command["order_id"])
            assert seen is not None
            most = max(most, seen.refunded.amount)
            if result.ok and result.replayed:
                replayed += 1
            elif result.ok:
                granted.append(key)
            else:
                refused += 1
        outcome: dict[str, Any] = {"granted": granted, "replayed": replayed, "refused": refused, "most": str(most)}
        print(json.dumps(outcome), flush=True)
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
