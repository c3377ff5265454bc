"""The demo risk controls in `rules/`, each driven by a generated event stream: seeded random
traffic around a scripted attack, recorded through `record_event` on a controlled clock, with
the exact decisions asserted. Every stream runs against the in-process counters and against
Redis (the `velocity` fixture); the platform around the engine is `World` (world.py).
"""

from __future__ import annotations

from datetime import timedelta

from arbiter.dsl.compiler import Ruleset
from arbiter.engine.velocity import VelocityStore

from .world import ABUSE, FACE, LOCKED, NEWBIE, PASS, SMS, T0, World


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
    outcomes = [world.at(m).pay(f"acct{i}", "59", level=1, device="dev-shared", shop="shop-9")
                for i, m in enumerate(moments)]
    assert outcomes == [PASS, PASS, PASS, brushing, brushing]
    assert world.pay("acct9", "59", level=1, device="dev-shared", shop="shop-2") == PASS  # another shop
    world.lists.add("device_allowlist", "dev-shared", reason="family tablet", by="ops")
    assert world.pay("acct8", "59", level=1, device="dev-shared", shop="shop-9") == PASS
    # Six accounts, six devices, one delivery address: from the 6th.
    outcomes = [world.pay(f"flat{i}", "35", level=1, device=f"dev-f{i}", shop="shop-3", address="addr-42")
                for i in range(7)]
    assert outcomes == [PASS] * 5 + [brushing, brushing]
    # A week after the ring's last order (every order above was at that moment or before),
    # the device has cooled down.
    world.lists.remove("device_allowlist", "dev-shared")
    world.at(moments[-1] + timedelta(days=7))
    assert world.pay("acct7", "59", level=1, device="dev-shared", shop="shop-9") == PASS


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
    outcomes = [world.at(m).claim(f"new{i}", "dev-shared") for i, m in enumerate(moments)]
    assert outcomes == [NEWBIE, NEWBIE, NEWBIE, ABUSE, ABUSE]
    # An established member on the same device is not a new user: not refused.
    assert world.claim("old", "dev-shared", registered_days=900, level=3) == [
        'grant_coupon(template: "member_20", amount: 20.00 CNY, valid_for: 14d)'
    ]
    assert world.claim("new9", "dev-other") == NEWBIE
    # A day after the third claim only the member's claim remains in the device's window.
    world.at(moments[2] + timedelta(days=1))
    assert world.claim("new5", "dev-shared") == NEWBIE


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
