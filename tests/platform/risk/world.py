"""The platform around the engine in the risk control tests: it decides, then records what
happened, on a controlled clock.

What the platform records (the event kinds of `docs/dsl.md`): `register` after an account is
created, `login` after a successful login, `login_failed` after a wrong password, `order` after
an order is placed, `payment` after a payment goes through (and `credit_draw` when it was paid
with the credit line), `refund` after a refund, `coupon_claim` after a coupon is handed out and
`withdrawal` after money left (with the account and device only). Refused attempts, and those
held for review, record nothing.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from arbiter.clock import FixedClock
from arbiter.dsl.compiler import Ruleset
from arbiter.engine.engine import Engine
from arbiter.engine.lists import InMemoryLists
from arbiter.engine.velocity import VelocityStore, record_event

T0 = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
PASS = ["pass()"]
PASSWORD = ['verify(method: "password")']
SMS = ['verify(method: "sms")']
FACE = ['verify(method: "face")']
LOCKED = ['reject(reason: "temporarily_locked")']
NEWBIE = ['grant_coupon(template: "newbie_30", amount: 30 CNY, valid_for: 7d)']
ABUSE = ['reject(reason: "coupon_abuse")']


class World:
    """The platform around the engine: decides, then records what happened."""

    def __init__(self, ruleset: Ruleset, velocity: VelocityStore, seed: int) -> None:
        self.ruleset = ruleset
        self.velocity = velocity
        self.lists = InMemoryLists()
        self.clock = FixedClock(T0)
        self.engine = Engine(ruleset, self.clock, velocity=velocity, lists=self.lists)
        self.random = random.Random(seed)
        self.events = 0

    def at(self, moment: datetime) -> World:
        self.clock.advance(moment - self.clock.now())
        return self

    def decide(self, scene: str, context: dict[str, Any]) -> list[str]:
        return [str(effect) for effect in self.engine.decide(scene, context).effects]

    def record(self, kind: str, context: dict[str, Any]) -> None:
        self.events += 1
        record_event(self.ruleset, self.velocity, kind, context, self.clock.now(), f"{kind}-{self.events}")

    # ------------------------------------------------------------ business steps

    def register(self, user: str, device: str) -> list[str]:
        context = {"user": {"id": user}, "passthrough": {"device_id": device}}
        effects = self.decide("register", context)
        if effects[0] == "pass()":
            self.record("register", context)
        return effects

    def login(self, user: str, device: str, region: str, *, password_ok: bool = True, home: str = "") -> list[str]:
        context = {"user": {"id": user, "region": home}, "passthrough": {"device_id": device, "ip_region": region}}
        effects = self.decide("login", context)
        if not effects[0].startswith("reject"):
            self.record("login" if password_ok else "login_failed", context)
        return effects

    def pay(self, user: str, amount: str, *, method: str = "alipay", level: int = 0, device: str = "",
            shop: str = "", address: str = "", owner_of: str = "", credit: str = "50000",
            home: str = "", region: str = "") -> list[str]:
        context = {
            "user": {"id": user, "level": level, "shop_id": owner_of, "credit_available": credit, "region": home},
            "order": {"amount": amount, "subtotal": amount, "item_count": 1, "shop": shop,
                      "address": address},
            "payment": {"method": method, "amount": amount},
            "passthrough": {"device_id": device, "ip_region": region},
        }
        effects = self.decide("payment", context)
        if effects == PASS or effects[-1].startswith("verify"):  # verified, then paid
            self.record("payment", context)
            if method == "credit":
                self.record("credit_draw", {"user": {"id": user}})
        return effects

    def order(self, user: str, amount: str = "59", *, device: str = "", shop: str = "", address: str = "",
              owner_of: str = "", recharge: str = "") -> list[str]:
        context = {
            "user": {"id": user, "shop_id": owner_of},
            "order": {"amount": amount, "subtotal": amount, "item_count": 1, "shop": shop, "address": address,
                      "recharge_account": recharge},
            "passthrough": {"device_id": device},
        }
        effects = self.decide("order", context)
        if effects == PASS:
            self.record("order", context)
        return effects

    def withdraw(self, user: str, amount: str, *, device: str = "", region: str = "", home: str = "",
                 card: str = "card-1") -> list[str]:
        context = {"user": {"id": user, "region": home}, "payment": {"amount": amount, "card": card},
                   "passthrough": {"device_id": device, "ip_region": region}}
        effects = self.decide("withdrawal", context)
        if len(effects) == 1 and effects[0].startswith("verify"):  # verified, then paid out
            self.record("withdrawal", {"user": {"id": user}, "passthrough": {"device_id": device}})
        return effects

    def refund(self, user: str, amount: str) -> None:
        self.record("refund", {"user": {"id": user}, "order": {"amount": amount}})

    def claim(self, user: str, device: str, *, registered_days: int = 1, level: int = 0) -> list[str]:
        context = {"user": {"id": user, "registered_days": registered_days, "level": level},
                   "passthrough": {"device_id": device}}
        effects = self.decide("coupon_claim", context)
        if effects[0].startswith("grant_coupon"):
            self.record("coupon_claim", context)
        return effects

    def noise(self, start: datetime, hours: int, count: int) -> None:
        """Ordinary traffic of other users: logins, small payments and claims, none alarming."""
        moments = sorted(start + timedelta(seconds=self.random.randrange(hours * 3600)) for _ in range(count))
        for i, moment in enumerate(moments):
            self.at(moment)
            user = f"n{self.random.randrange(50)}"
            step = self.random.choice(("login", "pay", "claim"))
            if step == "login":
                effects = self.login(user, f"dev-{user}", "上海", password_ok=self.random.random() < 0.9)
                assert effects in (PASS, SMS, LOCKED)
            elif step == "pay":
                amount = str(self.random.randrange(10, 300))
                assert self.pay(user, amount, level=2, device=f"dev-{user}", shop=f"shop-{i % 7}") == PASS
            else:
                assert self.claim(user, f"dev-{user}", registered_days=400, level=3)[0].startswith("grant")
