"""One side of the stock race: `python -m tests.platform.flows.race DB_URL COUNT OFFSET`.
It registers COUNT users with addresses, prints `ready`, waits for a JSON line with a
`start_at` wall-clock time, then has each user buy one X1 phone — checkout, cashier, the
channel's callback — and prints one JSON line: how many orders were paid and why the others
were refused."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_paths
from arbiter.dsl.compiler import compile_program
from arbiter.platform.cart.pricing import Wanted
from arbiter.platform.compose import simulated_platform
from arbiter.platform.db import UnitOfWork, make_engine
from arbiter.platform.demo import world
from arbiter.platform.orders import checkout, paying
from arbiter.platform.payments import service as payments
from arbiter.platform.users import service as users

from .conftest import NOW


def main(url: str, count: int, offset: int) -> None:
    db = make_engine(url)
    platform = simulated_platform(db, compile_program(check_paths(["rules"])), FixedClock(NOW))
    buyers = []
    with UnitOfWork(db) as uow:
        for n in range(offset, offset + count):
            phone = f"139{n:08d}"
            device = {"device_id": f"dev-race-{n}", "ip_region": "上海", "client": "ios"}
            registered = users.register(uow, platform.decisions, phone=phone, password="s3cret-pass",
                                        context={"passthrough": device}, now=NOW)
            assert registered.ok and registered.user_id is not None, registered.reason
            address = users.add_address(uow, registered.user_id, name="李四", phone=phone, region="上海",
                                        city="上海市", detail=f"静安区{n}号")
            buyers.append((registered.user_id, address, device))
    print("ready", flush=True)
    command = json.loads(sys.stdin.readline())
    time.sleep(max(0.0, command["start_at"] - time.time()))
    outcomes: Counter[str] = Counter()
    with UnitOfWork(db) as uow:
        for user_id, address, device in buyers:
            placed = checkout.checkout(uow, platform, user_id=user_id, items=[Wanted(world.PHONE, 1)],
                                       address_id=address, payment_method="wechat", passthrough=device,
                                       key="race", now=NOW)
            if not placed.ok or placed.parent_id is None:
                outcomes[f"checkout: {placed.reason}"] += 1
                continue
            step = paying.start_payment(uow, platform, placed.parent_id, user_id=user_id, passthrough=device,
                                        key="race-pay", now=NOW)
            if step.reason is not None:
                outcomes[step.reason] += 1
                continue
            if step.status == "verifying":
                code = platform.verifier.sms_code(step.payment_id)
                step = paying.verify_payment(uow, platform, placed.parent_id, user_id=user_id, proof=code or "",
                                             now=NOW)
            payment = payments.payment_of(uow, placed.parent_id)
            assert payment is not None and payment.channel is not None
            body, signature = platform.router.channel(payment.channel).callback(payment.payment_id)
            paying.payment_callback(uow, platform, payment.channel, body, signature, NOW)
            parent = paying.records.require_parent(uow, placed.parent_id)
            outcomes[parent.status] += 1
    print(json.dumps(dict(outcomes)), flush=True)
    db.dispose()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
