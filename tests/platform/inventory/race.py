"""One side of the stock race: `python -m tests.platform.inventory.race DB_URL REGION`. It
connects, prints `ready`, then runs one JSON command per line from stdin: lock each of
`orders` (one unit of `sku` each, in a unit of work of its own) from the `start_at`
wall-clock time on, so that both processes start together, and prints one JSON line: how
many locks were granted, refused (with their reasons) or replayed, and the least free stock
(on hand less locked) it saw in any warehouse along the way."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from arbiter.platform.db import UnitOfWork, make_engine
from arbiter.platform.inventory import service as inventory


def main(db_url: str, region: str) -> None:
    engine = make_engine(db_url)
    with UnitOfWork(engine) as uow:
        inventory.serving(uow, region)  # connect before the start
    print("ready", flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        time.sleep(max(0.0, command["start_at"] - time.time()))
        granted, replayed, reasons, least = 0, 0, [], None
        for order_id in command["orders"]:
            with UnitOfWork(engine) as uow:
                result = inventory.lock(uow, order_id, [("l1", command["sku"], 1)], region)
                uow.commit()
            with UnitOfWork(engine) as uow:
                free = [on_hand - locked for on_hand, locked in inventory.stock_of(uow, command["sku"]).values()]
            least = min([*free, *([] if least is None else [least])])
            if result.ok and result.replayed:
                replayed += 1
            elif result.ok:
                granted += 1
            else:
                reasons.append(result.reason)
        outcome: dict[str, Any] = {"granted": granted, "replayed": replayed, "refused": reasons, "least_free": least}
        print(json.dumps(outcome), flush=True)
    engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:3])
