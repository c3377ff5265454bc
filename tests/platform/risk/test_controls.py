"""The demo risk controls in `rules/`, each driven by a generated event stream: seeded random
traffic around a scripted attack, recorded through `record_event` on a controlled clock, with
the exact decisions asserted. Every stream runs against the in-process counters and against
Redis.

What the platform records (the event kinds of `docs/dsl.md`): `login` after a successful
login, `login_failed` after a wrong password, `payment` after a payment goes through (and
`credit_draw` when it was paid with the credit line), `refund` after a refund, and
`coupon_claim` after a coupon is handed out. Refused attempts record nothing.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from arbiter.clock import FixedClock
from arbiter.dsl.checker import check_paths
from arbiter.dsl.compiler import Ruleset, compile_program
from arbiter.engine.engine import Engine
from arbiter.engine.lists import InMemoryLists
from arbiter.engine.velocity import InMemoryVelocity, VelocityStore, record_event

RULES = Path(__file__).resolve().parents[3] / "rules"
T0 = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
PASS = ["pass()"]
SMS = ['verify(method: "sms")']
FACE = ['verify(method: "face")']
LOCKED = ['reject(reason: "temporarily_locked")']
NEWBIE = ['grant_coupon(template: "newbie_30", amount: 30 CNY, valid_for: 7d)']
ABUSE = ['reject(reason: "coupon_abuse")']


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    result = check_paths([RULES])
    assert result.ok, [d.message for d in result.errors]
    return compile_program(result)


@pytest.fixture(params=["memory", "redis"])
def velocity(request: pytest.FixtureRequest) -> Iterator[VelocityStore]:
    if request.param == "memory":
        yield InMemoryVelocity()
        return
    import redis

    from arbiter.platform.risk.velocity import RedisVelocity

    client = redis.Redis.from_url(request.getfixturevalue("redis_url"), socket_timeout=10)
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield RedisVelocity(client, prefix)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


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

    def login(self, user: str, device: str, region: str, *, password_ok: bool = True) -> list[str]:
        context = {"user": {"id": user}, "passthrough": {"device_id": device, "ip_region": region}}
        effects = self.decide("login", context)
        if not effects[0].startswith("reject"):
            self.record("login" if password_ok else "login_failed", context)
        return effects

    def pay(self, user: str, amount: str, *, method: str = "alipay", level: int = 0, device: str = "",
            shop: str = "", address: str = "", owner_of: str = "", credit: str = "50000") -> list[str]:
        context = {
            "user": {"id": user, "level": level, "shop_id": owner_of, "credit_available": credit},
            "order": {"amount": amount, "subtotal": amount, "item_count": 1, "shop": shop,
                      "address": address},
            "payment": {"method": method, "amount": amount},
            "passthrough": {"device_id": device},
        }
        effects = self.decide("payment", context)
        if effects == PASS or effects[-1].startswith("verify"):  # verified, then paid
            self.record("payment", context)
            if method == "credit":
                self.record("credit_draw", {"user": {"id": user}})
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


def test_account_takeover_many_failures_lock_for_ten_minutes(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=1)
    world.noise(T0 - timedelta(days=2), 48, 200)
    world.at(T0 - timedelta(days=1)).login("victim", "dev-home", "上海")  # known device and region
    outcomes = []
    for minutes in (0, 2, 4):  # three wrong passwords
        outcomes.append(world.at(T0 + timedelta(minutes=minutes)).login("victim", "dev-home", "上海",
                                                                        password_ok=False))
    assert outcomes == [PASS, PASS, PASS]
    # The next attempts, even with the right password, are refused until the first failure
    # is ten minutes old; refused attempts record nothing and do not extend the lock.
    assert world.at(T0 + timedelta(minutes=5)).login("victim", "dev-home", "上海") == LOCKED
    assert world.at(T0 + timedelta(minutes=9, seconds=59)).login("victim", "dev-home", "上海") == LOCKED
    assert world.at(T0 + timedelta(minutes=10)).login("victim", "dev-home", "上海") == PASS
    # Other accounts were never locked by the victim's failures.
    assert world.login("n1", "dev-n1", "上海") == PASS


def test_account_takeover_new_device_and_new_region_asks_for_sms(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=2)
    world.noise(T0 - timedelta(days=20), 24 * 20, 300)
    history = sorted(T0 - timedelta(days=20) + timedelta(hours=world.random.randrange(24 * 19)) for _ in range(12))
    for moment in history:
        assert world.at(moment).login("victim", "dev-phone", "上海") == PASS
    world.at(T0)
    assert world.login("victim", "dev-tablet", "上海") == PASS  # new device, known region
    assert world.login("victim", "dev-phone", "北京") == PASS  # known device, new region
    assert world.login("victim", "dev-unknown", "广东") == SMS  # both new: a stolen password?
    assert world.login("victim", "dev-unknown", "广东") == PASS  # verified, so now known
    assert world.login("newcomer", "dev-x", "广东") == PASS  # a first login is not a takeover


def test_anti_money_laundering_structuring(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=3)
    world.noise(T0 - timedelta(hours=12), 36, 200)
    day = sorted(T0 + timedelta(minutes=m) for m in world.random.sample(range(20 * 60), 5))
    outcomes = [world.at(moment).pay("mule", "9900") for moment in day]
    # 9,900 yuan: 20 points for a large payment; from the 4th in a day, held for review and an SMS code.
    structuring = ['review(reason: "structuring")', *SMS]
    assert outcomes == [PASS, PASS, PASS, structuring, structuring]
    # The 4th and 5th went through after the SMS code, so a day after the 2nd three remain.
    world.at(day[1] + timedelta(days=1))
    assert world.pay("mule", "9900") == structuring
    world.at(day[4] + timedelta(days=1))  # only the one just paid remains
    assert world.pay("mule", "9900") == PASS
    # Below the band, or mixed with small payments, is not structuring.
    for i in range(4):
        assert world.at(T0 + timedelta(hours=i)).pay("shopper", "8999") == PASS
    for amount in ("9900", "100", "100"):
        world.pay("mixed", amount)
    assert world.pay("mixed", "9900") == PASS  # three earlier, averaging 3,366.67


def test_anti_money_laundering_credit_in_and_out(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=4)
    world.noise(T0 - timedelta(hours=6), 8, 100)
    cash_out = ['review(reason: "credit_cash_out")', *SMS]
    for i in range(2):
        world.at(T0 + timedelta(minutes=40 * i))
        assert world.pay("hustler", "3000", method="credit") == PASS
        world.at(T0 + timedelta(minutes=40 * i + 15)).refund("hustler", "3000")
    assert world.at(T0 + timedelta(hours=2)).pay("hustler", "3000", method="credit") == cash_out
    # Paying by other means is not a credit cash-out.
    assert world.pay("hustler", "3000", method="alipay") == PASS
    # Six hours after the first draw it has left the window; two draws and two refunds remain.
    assert world.at(T0 + timedelta(hours=6)).pay("hustler", "3000", method="credit") == cash_out
    # Once the first refund has left too, one refund remains.
    assert world.at(T0 + timedelta(hours=6, minutes=16)).pay("hustler", "100", method="credit") == PASS


def test_order_brushing_many_accounts_on_one_device_or_address(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=5)
    world.noise(T0 - timedelta(days=3), 72, 200)
    brushing = ['review(reason: "order_brushing")', *SMS]
    moments = sorted(T0 + timedelta(minutes=m) for m in world.random.sample(range(24 * 60), 5))
    outcomes = [world.at(m).pay(f"acct{i}", "59", level=1, device="dev-farm", shop="shop-9")
                for i, m in enumerate(moments)]
    assert outcomes == [PASS, PASS, PASS, brushing, brushing]
    assert world.pay("acct9", "59", level=1, device="dev-farm", shop="shop-2") == PASS  # another shop
    world.lists.add("device_allowlist", "dev-farm", reason="family tablet", by="ops")
    assert world.pay("acct8", "59", level=1, device="dev-farm", shop="shop-9") == PASS
    # Six accounts, six devices, one delivery address: from the 6th.
    outcomes = [world.pay(f"flat{i}", "35", level=1, device=f"dev-f{i}", shop="shop-3", address="addr-42")
                for i in range(7)]
    assert outcomes == [PASS] * 5 + [brushing, brushing]
    # A week after the ring's last order (every order above was at that moment or before),
    # the device has cooled down.
    world.lists.remove("device_allowlist", "dev-farm")
    world.at(moments[-1] + timedelta(days=7))
    assert world.pay("acct7", "59", level=1, device="dev-farm", shop="shop-9") == PASS


def test_order_brushing_a_merchant_buying_its_own_goods(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=6)
    world.noise(T0 - timedelta(hours=6), 6, 50)
    world.at(T0)
    assert world.pay("boss", "199", level=3, shop="shop-77", owner_of="shop-77") == [
        'tag_user(tag: "self_dealing")', 'reject(reason: "payment_risk_too_high")',
    ]
    assert world.pay("boss", "199", level=3, shop="shop-78", owner_of="shop-77") == PASS


def test_coupon_abuse_new_accounts_on_one_device(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=7)
    world.noise(T0 - timedelta(hours=12), 12, 150)
    moments = sorted(T0 + timedelta(minutes=m) for m in world.random.sample(range(8 * 60), 5))
    outcomes = [world.at(m).claim(f"new{i}", "dev-farm") for i, m in enumerate(moments)]
    assert outcomes == [NEWBIE, NEWBIE, NEWBIE, ABUSE, ABUSE]
    # An established member on the same device is not a new user: not refused.
    assert world.claim("old", "dev-farm", registered_days=900, level=3) == [
        'grant_coupon(template: "member_20", amount: 20.00 CNY, valid_for: 14d)'
    ]
    assert world.claim("new9", "dev-other") == NEWBIE
    # A day after the third claim only the member's claim remains in the device's window.
    world.at(moments[2] + timedelta(days=1))
    assert world.claim("new5", "dev-farm") == NEWBIE


def test_large_and_unusual_payments_need_the_face(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=8)
    world.noise(T0 - timedelta(days=10), 240, 200)
    world.at(T0)
    assert world.pay("ordinary", "12000", level=0) == FACE  # ordinary tier: from 10,000
    assert world.pay("member", "12000", level=3) == PASS  # members: 20 points only
    assert world.pay("member", "20000", level=3) == FACE  # everyone from 20,000
    for day in range(3):  # a month of small payments, then a jump
        world.at(T0 - timedelta(days=20 - day))
        assert world.pay("steady", "200", level=2) == PASS
        assert world.pay("regular", "1000", level=2) == PASS
    world.at(T0)
    assert world.pay("regular", "2000", level=2) == PASS  # twice the average of 1,000
    assert world.pay("steady", "1999", level=3) == PASS  # ten times the average, but below 2,000
    # Four payments now average 549.75: 2,000 is not five times that; 9,000 is.
    assert world.pay("steady", "2000", level=2) == PASS
    assert world.pay("fresh", "200", level=2) == PASS
    for _ in range(2):
        world.pay("fresh", "200", level=2)
    assert world.pay("fresh", "2000", level=2) == SMS  # 2,000 >= 5 x 200: unusual, 40 points
    assert world.pay("steady", "9000", level=2) == FACE  # unusual and large: 40 + 20


def test_managed_lists_block_until_they_expire(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=9)
    world.at(T0)
    world.lists.add("user_blocklist", "crook", reason="chargeback ring", by="ops",
                    expires_at=T0 + timedelta(days=1))
    world.lists.add("card_blocklist", "card-stolen", reason="reported stolen", by="ops")
    assert world.login("crook", "dev-c", "上海") == ['reject(reason: "blocked")']
    context = {
        "user": {"id": "buyer"},
        "order": {"amount": "10", "subtotal": "10"},
        "payment": {"method": "card", "card_bin": "622202", "card": "card-stolen", "amount": "10"},
    }
    assert world.decide("payment", context) == ['reject(reason: "payment_risk_too_high")']
    world.at(T0 + timedelta(days=1))
    assert world.login("crook", "dev-c", "上海") == PASS
